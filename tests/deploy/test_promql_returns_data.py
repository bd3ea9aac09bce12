"""Every dashboard query and alert expression returns data from a real Prometheus.

The live stack (tests/deploy/live.py) runs the simulator, the exporter and a Prometheus
with the alert rules, after faults made every error counter exist. Dashboards are
evaluated with Grafana's variables filled in (the tenant is one that has tasks waiting for
a person). Alert expressions are evaluated with every filtering comparison turned into a
``bool`` one (``x > 5`` becomes ``x > bool 5``) and ``absent(x)`` turned into ``x``: that
keeps every series whether or not the alert fires, so "no data" can only mean a wrong
metric name, a wrong label or a join that never matches. Evaluating them with their
thresholds instead would make an empty result the normal, healthy answer, and prove nothing.

A query that reads a family still pending on another branch (promql.PENDING) is asked for
no data until the exporter under test exposes it; promtool's unit tests cover it meanwhile.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.deploy.live import DATA_TIMEOUT
from tests.deploy.paths import JOB
from tests.deploy.promql import (
    Query,
    alert_queries,
    dashboard_queries,
    dashboard_variables,
    substitute,
    variable_query,
    without_thresholds,
)
from tests.support.processes import wait_until
from tests.support.prometheus import now

if TYPE_CHECKING:
    from tests.deploy.live import Stack

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+), (?P<label>\w+)\)$")


@pytest.fixture(scope="module")
def dashboard_values(stack: Stack) -> dict[str, str]:
    """Values for the dashboards' variables: our job and instance, and a tenant with blocked tasks."""
    # Blocked tasks come and go: take the tenant that had the most in the last minutes.
    busiest_blocked = (
        "topk(1, sum by (tenant_id) (max_over_time(acronis_tasks_blocked[5m]))"
        " * on (tenant_id) group_left (tenant_name) max by (tenant_id, tenant_name) (acronis_tenant_info))"
    )
    tenant = stack.prometheus.wait_for(busiest_blocked, timeout=DATA_TIMEOUT)[0].labels
    return {
        "job": JOB,
        "account": ".*",  # "All": the live target has no account label, as a single exporter
        "instance": stack.instance,
        "tenant": tenant["tenant_name"],
        "tenant_id": tenant["tenant_id"],
    }


def has_data(stack: Stack, promql: str, *, instant: bool) -> bool:
    """Ask Prometheus as Grafana would: instant targets at now, others over the time range."""
    if instant:
        return bool(stack.prometheus.query(promql))
    return bool(stack.prometheus.query_range(promql, start=stack.started, end=now(), step=1.0))


def wait_for_data(stack: Stack, queries: list[tuple[Query, str, bool]]) -> None:
    """Poll until every query has returned data once; on timeout, fail listing the empty ones."""
    empty = [item for item in queries if not stack.asks_for_missing_pending(item[1])]

    def all_have_data() -> bool:
        empty[:] = [item for item in empty if not has_data(stack, item[1], instant=item[2])]
        return not empty

    try:
        wait_until(
            all_have_data,
            timeout=DATA_TIMEOUT,
            what="every query to return data",
            pause=stack.prometheus._pause,
        )
    except AssertionError:
        pytest.fail(
            "queries without data:\n" + "\n".join(f"{query.where}: {promql}" for query, promql, _ in empty)
        )


class TestEveryQueryReturnsData:
    """No panel is silently empty and no alert watches a series that does not exist."""

    def test_every_dashboard_panel_query_returns_data(
        self, stack: Stack, dashboard_values: dict[str, str]
    ) -> None:
        """Each target of each panel, variables filled in, returns a series over the dashboard's range."""
        queries = [
            (query, substitute(query.expr, dashboard_values), query.instant) for query in dashboard_queries()
        ]
        wait_for_data(stack, queries)

    def test_every_alert_expression_returns_data_without_its_threshold(self, stack: Stack) -> None:
        """Each alert's expression with bool comparisons returns a series at some point."""
        queries = [(query, without_thresholds(query.expr), False) for query in alert_queries()]
        wait_for_data(stack, queries)

    def test_every_dashboard_variable_lists_values(
        self, stack: Stack, dashboard_values: dict[str, str]
    ) -> None:
        """The job, instance, tenant and tenant-id pickers each offer at least one value."""
        for dashboard, variable in dashboard_variables():
            match = _LABEL_VALUES.match(variable_query(variable))
            if match is None or variable["name"] == "account":
                continue  # the data-source picker; account: the live target is unlabelled ("All")
            selector = substitute(match["selector"], dashboard_values)
            values = {sample.labels.get(match["label"]) for sample in stack.prometheus.query(selector)} - {
                None
            }
            assert values, f"{dashboard} / ${variable['name']}: {selector} has no {match['label']}"

    def test_alert_rules_evaluate_without_errors_against_real_data(self, stack: Stack) -> None:
        """Prometheus loaded every rule and each evaluation succeeded (no many-to-many joins, no errors)."""
        expected = {query.where.removeprefix("alert ") for query in alert_queries()}

        def evaluated_rules() -> list[dict[str, object]] | None:
            body = httpx.get(stack.prometheus.url + "/api/v1/rules", timeout=10.0).json()
            rules = [rule for group in body["data"]["groups"] for rule in group["rules"]]
            return rules if all(rule.get("lastEvaluation", "").startswith("20") for rule in rules) else None

        rules = wait_until(evaluated_rules, timeout=DATA_TIMEOUT, what="every rule evaluated once")
        assert {rule["name"] for rule in rules} == expected
        assert [(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"] == []


class TestThresholdRewrite:
    """The rewrite the alert test relies on keeps series instead of filtering them."""

    def test_absent_becomes_its_selector(self) -> None:
        """`absent(up{job="x"})` returns data when the selector matches, as the test needs."""
        assert without_thresholds('absent(up{job="x"})') == 'up{job="x"}'

    def test_filtering_comparisons_become_bool_comparisons(self) -> None:
        """`x > 5` becomes `x > bool 5`, which is 0 or 1 for every series of x."""
        assert without_thresholds("x > 5 and y == 0") == "x > bool 5 and y == bool 0"

    def test_label_matchers_and_existing_bool_comparisons_are_left_alone(self) -> None:
        """Matchers have no spaces around their operators; `bool` is not doubled."""
        assert without_thresholds('x{code!="200"} > bool 1') == 'x{code!="200"} > bool 1'
