"""Turn the Prometheus alerting rules into Grafana-managed alert rule provisioning.

The Prometheus rule files stay the one source of truth; Grafana users get the same
alerts, with the same expressions, ``for``, labels and annotations. Each rule becomes three
Grafana queries, the shape Grafana's own Prometheus-rule importer uses:

* ``A``: the PromQL expression, evaluated as an instant query;
* ``B``: a math expression true for every series ``A`` returns (whatever its value),
  because in Prometheus any returned series is a firing alert;
* ``C``: the condition, ``B > 0``.

No data means normal (``noDataState: OK``), again as in Prometheus. In annotations,
Prometheus's ``$value`` becomes Grafana's ``$values.A.Value``.
"""

from __future__ import annotations

import re
from typing import Any

EVERY_SERIES_FIRES = "is_number($A) || is_nan($A) || is_inf($A)"
EXPRESSION_DATASOURCE = {"type": "__expr__", "uid": "__expr__"}
DEFAULT_DATASOURCE_UID = "prometheus"  # the uid the compose stack provisions; the chart can swap it
FOLDER = "Acronis"
LOOKBACK_SECONDS = 600  # the query range Grafana hands an instant query; PromQL ranges look further back


def convert(
    rule_files: list[dict[str, Any]], *, datasource_uid: str = DEFAULT_DATASOURCE_UID
) -> dict[str, Any]:
    """Convert parsed Prometheus rule files into one Grafana alerting provisioning document."""
    groups = [group for document in rule_files for group in document["groups"]]
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": group["name"],
                "folder": FOLDER,
                "interval": group.get("interval", "1m"),
                "rules": [_rule(rule, datasource_uid) for rule in group["rules"] if "alert" in rule],
            }
            for group in groups
        ],
    }


def rule_uid(alertname: str) -> str:
    """Derive a stable Grafana uid (at most 40 characters) from the alert's CamelCase name."""
    uid = re.sub(r"(?<!^)(?=[A-Z])", "-", alertname).lower()
    if len(uid) > 40:  # noqa: PLR2004 - Grafana's limit on uids
        raise ValueError(f"alert name {alertname!r} makes a uid longer than 40 characters")
    return uid


def _rule(rule: dict[str, Any], datasource_uid: str) -> dict[str, Any]:
    return {
        "uid": rule_uid(rule["alert"]),
        "title": rule["alert"],
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": LOOKBACK_SECONDS, "to": 0},
                "datasourceUid": datasource_uid,
                "model": {
                    "refId": "A",
                    "datasource": {"type": "prometheus", "uid": datasource_uid},
                    "editorMode": "code",
                    "expr": " ".join(rule["expr"].split()),
                    "instant": True,
                    "range": False,
                    "intervalMs": 1000,
                    "maxDataPoints": 43200,
                },
            },
            _expression("B", {"type": "math", "expression": EVERY_SERIES_FIRES}),
            _expression(
                "C",
                {
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": "gt", "params": [0]}}],
                },
            ),
        ],
        "noDataState": "OK",
        "execErrState": "Error",
        "for": rule.get("for", "0s"),
        "annotations": {key: _grafana_template(text) for key, text in rule.get("annotations", {}).items()},
        "labels": dict(rule.get("labels", {})),
        "isPaused": False,
    }


def _expression(ref_id: str, model: dict[str, Any]) -> dict[str, Any]:
    return {
        "refId": ref_id,
        "relativeTimeRange": {"from": 0, "to": 0},
        "datasourceUid": "__expr__",
        "model": {"refId": ref_id, "datasource": dict(EXPRESSION_DATASOURCE), **model},
    }


def _grafana_template(text: str) -> str:
    """Rewrite a Prometheus annotation template for Grafana (``$value`` lives under ``$values``)."""
    return re.sub(r"\$value\b", "$values.A.Value", text)
