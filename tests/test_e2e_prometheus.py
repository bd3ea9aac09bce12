"""End to end: a real Prometheus scrapes the exporter, which polls the simulator; PromQL sees the truth."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from exporter.vocabulary import TASK_STATES
from simulator import RunningSimulator, SimulatorConfig, start_simulator
from tests.support.processes import ExporterProcess, start_exporter
from tests.support.prometheus import PrometheusServer, Sample, start_prometheus
from tests.support.prometheus_e2e import prometheus_e2e_marks

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = prometheus_e2e_marks()
JOB = "acronis"


@dataclass
class Stack:
    """Simulator, exporter subprocess and Prometheus, wired together."""

    simulator: RunningSimulator
    exporter: ExporterProcess
    prometheus: PrometheusServer


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start a static seeded workload, an exporter polling it and Prometheus scraping, each every 1 s."""
    config = SimulatorConfig(tasks=600, open_tasks=80, tenants=9, seed=11)
    with start_simulator(config) as simulator:  # wall clock, not live: the truth holds still
        args = ["--api.url", simulator.url, "--api.client-id", config.client_id, "--poll.interval", "1"]
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": config.client_secret}
        with start_exporter(args, env=env, workdir=tmp_path_factory.mktemp("exporter")) as exporter:
            targets = {JOB: [f"127.0.0.1:{exporter.port}"]}
            workdir = tmp_path_factory.mktemp("prometheus")
            with start_prometheus(targets, scrape_interval=1.0, workdir=workdir) as prometheus:
                prometheus.wait_for_targets_up()
                yield Stack(simulator, exporter, prometheus)


def by_label(samples: list[Sample], label: str) -> dict[str, float]:
    """Index one-label-per-series results by that label's value."""
    return {sample.labels[label]: sample.value for sample in samples}


class TestPrometheusSeesTheTruth:
    """PromQL over the scraped series agrees with the simulator's ground truth."""

    def test_target_is_up(self, stack: Stack) -> None:
        """Prometheus scrapes the exporter successfully: up{job} is 1."""
        assert stack.prometheus.wait_for(f'up{{job="{JOB}"}} == 1')[0].value == 1

    def test_acronis_up_is_one(self, stack: Stack) -> None:
        """Every source refreshed: acronis_up is 1."""
        assert stack.prometheus.wait_for("acronis_up == 1")[0].labels["job"] == JOB

    def test_task_states_equal_the_simulator_counts(self, stack: Stack) -> None:
        """acronis_tasks has the five states, each equal to the simulator's count."""
        samples = stack.prometheus.wait_for(
            "acronis_tasks", until=lambda result: len(result) == len(TASK_STATES)
        )
        truth = stack.simulator.truth.counts_by_state("tasks")
        assert by_label(samples, "state") == {state: float(truth.get(state, 0)) for state in TASK_STATES}

    def test_open_tasks_join_tenant_names_and_match_per_tenant_truth(self, stack: Stack) -> None:
        """Open tasks joined with acronis_tenant_info on tenant_id give each tenant's name and true count."""
        query = (
            "sum by (tenant_id, tenant_name) "
            "(acronis_open_tasks * on (tenant_id) group_left (tenant_name) acronis_tenant_info)"
        )
        samples = stack.prometheus.wait_for(query)
        tenants = {tenant.id: tenant.name for tenant in stack.simulator.truth.tenants()}
        open_per_tenant = Counter(item.tenant_id for item in stack.simulator.truth.open_items("tasks"))
        assert {s.labels["tenant_id"]: s.labels["tenant_name"] for s in samples} == {
            tenant_id: tenants[tenant_id] for tenant_id in open_per_tenant
        }
        assert by_label(samples, "tenant_id") == {tenant: float(n) for tenant, n in open_per_tenant.items()}

    def test_types_survive_the_openmetrics_scrape(self, stack: Stack) -> None:
        """Prometheus negotiates OpenMetrics and records counters, gauges and histograms as such."""
        stack.prometheus.wait_for("acronis_tasks")
        assert stack.prometheus.metadata("acronis_tasks")[0]["type"] == "gauge"
        assert stack.prometheus.metadata("acronis_exporter_api_requests")[0]["type"] == "counter"
        assert (
            stack.prometheus.metadata("acronis_exporter_api_request_duration_seconds")[0]["type"]
            == "histogram"
        )
