"""Every dashboard query and alert expression returns data from a real Prometheus.

The whole path runs for real: the simulator (a busy live workload) serves the Task Manager
API, the exporter subprocess polls it every second, and a real Prometheus scrapes the
exporter every second with the alert rules loaded. Faults injected into the simulator
(429, 503, corrupt items, a token endpoint outage, revoked credentials) make the
exporter's error counters exist, as they would after a bad day in production.

Dashboards are evaluated with Grafana's variables filled in (the tenant is one that has
tasks waiting for a person). Alert expressions are evaluated with every filtering
comparison turned into a ``bool`` one (``x > 5`` becomes ``x > bool 5``): that keeps every
series whether or not the alert fires, so "no data" can only mean a wrong metric name, a
wrong label or a join that never matches. Evaluating them with their thresholds instead
would make an empty result the normal, healthy answer, and prove nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.simulator import RunningSimulator, SimulatorConfig, start_simulator
from tests.deploy.paths import JOB, RULE_FILES
from tests.deploy.promql import (
    Query,
    alert_queries,
    dashboard_queries,
    dashboard_variables,
    substitute,
    without_thresholds,
)
from tests.support.processes import ExporterProcess, start_exporter, wait_until
from tests.support.prometheus import PrometheusServer, now, require_prometheus, start_prometheus

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

# Few tenants and a fast completion rate: every tenant soon has completions, failures,
# blocked tasks and activities, so no panel is empty for want of traffic.
WORKLOAD = SimulatorConfig(tasks=1500, open_tasks=300, tenants=6, seed=11, completion_rate=8.0, live=True)
DATA_TIMEOUT = 90.0
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+), (?P<label>\w+)\)$")


@dataclass(frozen=True)
class Stack:
    """The running simulator, exporter and Prometheus."""

    simulator: RunningSimulator
    exporter: ExporterProcess
    prometheus: PrometheusServer
    started: float  # unix seconds when Prometheus began scraping

    @property
    def instance(self) -> str:
        """The exporter's instance label in Prometheus."""
        return f"127.0.0.1:{self.exporter.port}"


def exporter_has(exporter: ExporterProcess, name: str, **labels: str) -> bool:
    """Tell whether the exporter's /metrics has a sample ``name`` with ``labels``, parsed properly."""
    for family in text_string_to_metric_families(exporter.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return True
    return False


def await_series(exporter: ExporterProcess, name: str, **labels: str) -> None:
    """Wait until the exporter exposes ``name`` with ``labels``."""
    wait_until(lambda: exporter_has(exporter, name, **labels), timeout=DATA_TIMEOUT, what=f"{name} {labels}")


def provoke_every_error_counter(simulator: RunningSimulator, exporter: ExporterProcess) -> None:
    """Inject the faults that make each failure series exist, then let the exporter recover."""
    faults = simulator.faults
    faults.fail(429, times=2, retry_after=0)
    await_series(exporter, "acronis_exporter_api_retries_total", reason="throttled")
    faults.fail(503, times=6)
    await_series(exporter, "acronis_exporter_refresh_failures_total", reason="http_5xx")
    await_series(exporter, "acronis_exporter_api_request_failures_total")
    faults.corrupt_items(mode="null", count=3, times=2)
    await_series(exporter, "acronis_exporter_items_skipped_total")
    faults.expire_tokens()
    faults.token_endpoint_down(times=3)
    await_series(exporter, "acronis_exporter_token_request_failures_total")
    faults.revoke_credentials()
    faults.expire_tokens()
    await_series(exporter, "acronis_exporter_refresh_failures_total", reason="auth")
    faults.restore_credentials()
    wait_until(lambda: exporter_has_up(exporter), timeout=DATA_TIMEOUT, what="acronis_up 1 after the faults")


def exporter_has_up(exporter: ExporterProcess) -> bool:
    """Tell whether the last poll refreshed every source again."""
    for family in text_string_to_metric_families(exporter.get("/metrics").text):
        if family.name == "acronis_up":
            return family.samples[0].value == 1.0
    return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start simulator, exporter and Prometheus (with the alert rules); provoke the faults first."""
    require_prometheus()
    workdir = tmp_path_factory.mktemp("promql")
    secret = workdir / "client-secret"
    secret.write_text(WORKLOAD.client_secret + "\n")
    with start_simulator(WORKLOAD) as simulator:
        args = [
            *("--api.url", simulator.url, "--api.client-id", WORKLOAD.client_id),
            *("--api.client-secret-file", str(secret), "--poll.interval", "1", "--poll.jitter", "0"),
            *("--api.max-retries", "1", "--api.backoff-initial", "0.05", "--api.backoff-max", "0.1"),
            *("--log.level", "warning"),
        ]
        with start_exporter(args, workdir=workdir / "exporter") as exporter:
            provoke_every_error_counter(simulator, exporter)
            targets = {JOB: [f"127.0.0.1:{exporter.port}"]}
            with start_prometheus(
                targets, scrape_interval=1.0, rule_files=RULE_FILES, workdir=workdir / "prom"
            ) as prom:
                started = now()
                prom.wait_for_targets_up()
                yield Stack(simulator, exporter, prom, started)


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
    empty = list(queries)

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
            match = _LABEL_VALUES.match(variable.get("definition", ""))
            if match is None:
                continue  # the data-source picker
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

    def test_filtering_comparisons_become_bool_comparisons(self) -> None:
        """`x > 5` becomes `x > bool 5`, which is 0 or 1 for every series of x."""
        assert without_thresholds("x > 5 and y == 0") == "x > bool 5 and y == bool 0"

    def test_label_matchers_and_existing_bool_comparisons_are_left_alone(self) -> None:
        """Matchers have no spaces around their operators; `bool` is not doubled."""
        assert without_thresholds('x{code!="200"} > bool 1') == 'x{code!="200"} > bool 1'
