"""Panels of failures show 0 on a healthy system, not "No data".

A failure counter has no series for a label set in which nothing has failed yet, so a panel
that reads one is empty exactly when all is well. Ratios fill the gap in the query (0 for
every group that has completions); every other failure panel shows 0 through Grafana's
``noValue``. promtool evaluates the ratios over a healthy system's series.
"""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.deploy.paths import DASHBOARDS, load_json, tool
from tests.deploy.promql import dashboard_queries, substitute

if TYPE_CHECKING:
    from pathlib import Path

# Series that exist, or are non-zero, only when something went wrong or waits for a person.
PROBLEM = re.compile(
    r"_failures_total|_crashes_total|_retries_total|_throttled_seconds_total|_skipped_total"
    r"|_folded\b|acronis_tasks_blocked|acronis_tasks_cancel_requested|acronis_tasks_reassigned"
    r'|code!~"2\.\."|result_code=~"error|result_code!="ok"|state="failed"'
)
SHARE = "* 0) / ("  # the zero-filling division panels.share builds
VALUES = {"job": "j", "account": ".*", "instance": ".*", "tenant": "Acme", "tenant_id": "7"}
SCOPE = 'job="j", instance="i"'
# A healthy hour and a half: tasks complete, all ok; the API answers 200; nothing failed.
HEALTHY_SERIES = [
    f'acronis_tasks_completed_total{{{SCOPE}, tenant_id="7", queue="q", task_type="t", result_code="ok"}}',
    f'acronis_exporter_api_requests_total{{{SCOPE}, endpoint="e", method="GET", code="200"}}',
    f'astra_control_tasks_finished_total{{{SCOPE}, account_id="a", name="n", state="completed"}}',
]
TENANT_INFO = f'acronis_tenant_info{{{SCOPE}, tenant_id="7", tenant_name="Acme"}}'


def failure_panels() -> list[tuple[str, dict[str, Any]]]:
    """(dashboard / panel title, panel) for each panel with a query that reads a problem series."""
    return [
        (f"{dashboard['title']} / {panel['title']}", panel)
        for dashboard in map(load_json, DASHBOARDS)
        for panel in dashboard["panels"]
        if any(PROBLEM.search(target["expr"]) for target in panel.get("targets", []))
    ]


def shares() -> list[str]:
    """Every zero-filled ratio of the dashboards, variables filled in."""
    return [substitute(query.expr, VALUES) for query in dashboard_queries() if SHARE in query.expr]


def promtool_test(rules: dict[str, str], tmp_path: Path) -> str:
    """Evaluate each named expression over HEALTHY_SERIES at 80 minutes; return promtool's verdict."""
    groups = [{"name": "panels", "rules": [{"record": name, "expr": expr} for name, expr in rules.items()]}]
    (tmp_path / "panels.rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    series = [{"series": name, "values": "0+60x90"} for name in HEALTHY_SERIES]
    series.append({"series": TENANT_INFO, "values": "1x90"})
    expected = [
        {"expr": name, "eval_time": "80m", "exp_samples": [{"labels": name, "value": value}]}
        for name, value in (
            *((name, 0) for name in rules if name.startswith("sum_")),
            *((name, 1) for name in rules if name.startswith("count_")),
        )
    ]
    test = {
        "rule_files": ["panels.rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": expected}],
    }
    (tmp_path / "panels.test.yaml").write_text(yaml.safe_dump(test))
    result = subprocess.run(
        [tool("promtool"), "test", "rules", str(tmp_path / "panels.test.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.stdout + result.stderr if result.returncode else ""


class TestFailurePanelsShowZero:
    """Nothing failed: the failure panels say 0."""

    def test_the_dashboards_have_failure_panels_and_ratios(self) -> None:
        """The checks below have something to check."""
        assert len(failure_panels()) >= 10
        assert len(shares()) >= 5

    @pytest.mark.parametrize(
        ("where", "panel"), failure_panels(), ids=[where for where, _ in failure_panels()]
    )
    def test_failure_panel_shows_zero_instead_of_no_data(self, where: str, panel: dict[str, Any]) -> None:
        """Each panel reading a failure, retry, skip or blocker series has noValue "0"."""
        assert panel["fieldConfig"]["defaults"].get("noValue") == "0", where

    def test_every_failure_ratio_is_zero_when_nothing_failed(self, tmp_path: Path) -> None:
        """Over healthy series, each ratio returns one series per group, valued 0: not nothing."""
        rules: dict[str, str] = {}
        for index, expr in enumerate(shares()):
            rules[f"sum_{index}"] = f"sum({expr})"
            rules[f"count_{index}"] = f"count({expr})"
        assert promtool_test(rules, tmp_path) == ""

    def test_a_plain_division_would_have_shown_no_data(self, tmp_path: Path) -> None:
        """The same check catches the unfilled ratio: failed / total is empty when nothing failed."""
        plain = (
            'sum(rate(acronis_tasks_completed_total{job="j", result_code=~"error"}[1h]))'
            ' / sum(rate(acronis_tasks_completed_total{job="j"}[1h]))'
        )
        assert "sum_0" in promtool_test({"sum_0": f"sum({plain})"}, tmp_path)
