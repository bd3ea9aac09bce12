"""The chart's alerting follows its values: the job name the rules select, the runbook they link."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from scripts.assets.rules import RUNBOOK_URL, runbook_anchor
from tests.deploy.chart import MINIMAL, one, render
from tests.deploy.paths import JOB, alert_rules

CUSTOM = {
    **MINIMAL,
    "jobName": "kubernetes-pods",
    "runbookUrl": "https://wiki.example.com/acronis/runbook",
    "serviceMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True},
    "grafanaAlerts": {"enabled": True},
}
_RUNBOOK_URL = re.compile(r"runbook_url: (\S+)")


def grafana_alerts_text(objects: list[dict[str, Any]]) -> str:
    """Return the Grafana-managed provisioning document of the alerts ConfigMap."""
    item = next(item for item in objects if "grafana_alert" in item["metadata"].get("labels", {}))
    return str(next(iter(item["data"].values())))


class TestJobName:
    """jobName is both what the ServiceMonitor scrapes as and what the rules select."""

    def test_service_monitor_sets_the_job_the_rules_select(self) -> None:
        """The first relabeling writes jobName into job, and no rule selects the default any more."""
        objects = render(CUSTOM)
        endpoint = one(objects, "ServiceMonitor")["spec"]["endpoints"][0]
        assert endpoint["relabelings"][0] == {"targetLabel": "job", "replacement": CUSTOM["jobName"]}
        rules = json.dumps(one(objects, "PrometheusRule")["spec"])
        assert f'up{{job=\\"{CUSTOM["jobName"]}\\"}}' in rules
        assert f'job=\\"{JOB}\\"' not in rules
        assert f'job="{CUSTOM["jobName"]}"' in grafana_alerts_text(objects)

    def test_users_relabelings_come_after_the_job(self) -> None:
        """serviceMonitor.relabelings still apply, after the chart's own job relabeling."""
        extra = {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}
        objects = render({**CUSTOM, "serviceMonitor": {"enabled": True, "relabelings": [extra]}})
        relabelings = one(objects, "ServiceMonitor")["spec"]["endpoints"][0]["relabelings"]
        assert relabelings[0]["targetLabel"] == "job"
        assert relabelings[1:] == [extra]

    def test_default_job_is_the_one_the_rule_files_use(self) -> None:
        """Without jobName or nameOverride the relabeling writes acronis-task-exporter."""
        objects = render({**MINIMAL, "serviceMonitor": {"enabled": True}})
        relabelings = one(objects, "ServiceMonitor")["spec"]["endpoints"][0]["relabelings"]
        assert relabelings[0] == {"targetLabel": "job", "replacement": JOB}


class TestRunbookUrl:
    """runbookUrl moves every link to another document and keeps each alert's anchor."""

    def test_prometheus_rule_links_point_at_the_configured_runbook(self) -> None:
        """Each alert links to runbookUrl#<its anchor>."""
        rules = one(render(CUSTOM), "PrometheusRule")["spec"]["groups"]
        links = {
            rule["alert"]: rule["annotations"]["runbook_url"] for group in rules for rule in group["rules"]
        }
        assert links == {
            rule["alert"]: f"{CUSTOM['runbookUrl']}#{runbook_anchor(rule['alert'])}" for rule in alert_rules()
        }

    def test_grafana_alert_links_point_at_the_configured_runbook(self) -> None:
        """The Grafana-managed copies carry the same links."""
        document = yaml.safe_load(grafana_alerts_text(render(CUSTOM)))
        links = {
            rule["annotations"]["runbook_url"] for group in document["groups"] for rule in group["rules"]
        }
        assert {link.partition("#")[0] for link in links} == {CUSTOM["runbookUrl"]}
        assert len(links) == len(alert_rules())

    def test_default_links_are_the_shipped_ones(self) -> None:
        """Without runbookUrl nothing is rewritten: the links are the project's runbook."""
        rules = one(render({**MINIMAL, "prometheusRule": {"enabled": True}}), "PrometheusRule")["spec"][
            "groups"
        ]
        links = {rule["annotations"]["runbook_url"] for group in rules for rule in group["rules"]}
        assert {link.partition("#")[0] for link in links} == {RUNBOOK_URL}
