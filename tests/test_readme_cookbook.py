"""The README's PromQL cookbook answers its questions against a real Prometheus, exporter and simulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simulator import SimulatorConfig, start_simulator
from tests.support.cookbook import readme_recipes
from tests.support.processes import start_exporter
from tests.support.prometheus import start_prometheus
from tests.support.prometheus_e2e import prometheus_e2e_marks

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.support.prometheus import PrometheusServer

pytestmark = prometheus_e2e_marks()
JOB = "acronis-task-exporter"  # the job name the README's scrape snippet and the alert rules use


def cookbook() -> list[tuple[str, str]]:
    """Return (question, query) for each recipe between the README's cookbook markers."""
    return readme_recipes("cookbook")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Start a live simulator (errors included), the exporter polling it each second, Prometheus."""
    config = SimulatorConfig(tasks=400, open_tasks=80, tenants=6, seed=5, live=True, completion_rate=30.0)
    with start_simulator(config) as simulator:
        args = ["--api.url", simulator.url, "--api.client-id", config.client_id, "--poll.interval", "1"]
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": config.client_secret}
        with start_exporter(args, env=env, workdir=tmp_path_factory.mktemp("exporter")) as exporter:
            targets = {JOB: [f"127.0.0.1:{exporter.port}"]}
            with start_prometheus(targets, workdir=tmp_path_factory.mktemp("prometheus")) as server:
                server.wait_for_targets_up()
                yield server


def test_the_cookbook_has_the_operators_questions() -> None:
    """Running tasks per tenant, failures, the oldest waiting task, the exporter's health."""
    questions = " ".join(question for question, _ in cookbook()).lower()
    for topic in ("running", "failed", "oldest waiting", "healthy"):
        assert topic in questions, topic


@pytest.mark.parametrize(("question", "query"), cookbook(), ids=[q for q, _ in cookbook()])
def test_each_recipe_returns_data(prometheus: PrometheusServer, question: str, query: str) -> None:
    """Each query parses and, against a live workload, returns at least one series."""
    del question  # the test id
    samples = prometheus.wait_for(query, timeout=90)
    assert samples
