"""End to end: a real Prometheus answers the backup operator's three questions as the simulator's truth does.

"Which resources have not had a good backup for 24 hours", "which protection policy keeps
failing" and "how many failed in the last day", with the PromQL of the README's cookbook
("Backup questions"). The seeded history spans 36 hours, longer than the 24-hour look-back,
so the look-back's edge matters; the exporter logs where it started (``lookback_walked``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from prometheus_client.parser import text_string_to_metric_families

from simulator import RunningSimulator, SimulatorConfig, start_simulator
from tests.support.processes import ExporterProcess, start_exporter, wait_until
from tests.support.prometheus import PrometheusServer, start_prometheus
from tests.support.prometheus_e2e import prometheus_e2e_marks

if TYPE_CHECKING:
    from collections.abc import Iterator

    from simulator.truth import Truth

pytestmark = prometheus_e2e_marks()
DAY = 86400.0
FAILED = ("error", "timedout", "abandoned")
# 750 completions spread over 36 hours, a few a day per resource: the look-back (24 h) sees
# two thirds of them, and some resources only fail in it.
WORKLOAD = SimulatorConfig(tasks=800, open_tasks=50, tenants=60, seed=23, completion_rate=750 / (1.5 * DAY))
NO_GOOD_BACKUP_FOR_A_DAY = (
    "group by (tenant_id, resource_id) (acronis_resource_last_completion_timestamp_seconds)"
    " unless on (tenant_id, resource_id)"
    ' (time() - acronis_resource_last_completion_timestamp_seconds{result_code="ok"} < 86400)'
)
POLICIES_FAILING = (  # the newest of each policy's ok and failure series, when that is a failure
    "topk by (tenant_id, policy_id) (1,"
    ' acronis_policy_last_completion_timestamp_seconds{result_code=~"ok|error|timedout|abandoned"})'
    ' unless acronis_policy_last_completion_timestamp_seconds{result_code="ok"}'
)
FAILED_IN_THE_LAST_DAY = (
    'sum(acronis_tasks_completed_window{window="24h", result_code=~"error|timedout|abandoned"})'
)
COOKBOOK = (NO_GOOD_BACKUP_FOR_A_DAY, POLICIES_FAILING, FAILED_IN_THE_LAST_DAY)
README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass
class Stack:
    """Simulator, exporter subprocess and Prometheus, and where the exporter's look-back began."""

    simulator: RunningSimulator
    exporter: ExporterProcess
    prometheus: PrometheusServer
    started: float  # wall time just before the exporter started


def exporter_args(simulator: RunningSimulator) -> list[str]:
    """Poll every second, tasks only, with the outcome and window families on."""
    return [
        *("--api.url", simulator.url, "--api.client-id", simulator.config.client_id),
        *(
            "--poll.interval",
            "1",
            "--no-poll.activities",
            "--metrics.resources",
            "--metrics.completion-windows",
        ),
    ]


def lookback_since(exporter: ExporterProcess) -> float:
    """Where the exporter's look-back walk began, as it logged it (once per start)."""
    events = wait_until(
        lambda: exporter.events("lookback_walked"), what="the lookback_walked log line", timeout=30.0
    )
    assert events[-1].fields["complete"] is True
    return float(str(events[-1].fields["since"]))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start a static seeded workload (the truth holds still), the exporter, and Prometheus."""
    with start_simulator(WORKLOAD) as simulator:
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": simulator.config.client_secret}
        started = simulator.clock.now()
        workdir = tmp_path_factory.mktemp("exporter")
        with start_exporter(exporter_args(simulator), env=env, workdir=workdir) as exporter:
            targets = {"acronis": [f"127.0.0.1:{exporter.port}"]}
            with start_prometheus(
                targets, scrape_interval=1.0, workdir=tmp_path_factory.mktemp("prom")
            ) as prom:
                prom.wait_for_targets_up()
                prom.wait_for("acronis_resource_last_completion_timestamp_seconds")
                prom.wait_for("acronis_tasks_completed_window")
                yield Stack(simulator, exporter, prom, started)


def newest(truth: Truth, role: str, since: float) -> dict[tuple[str, str, str], float]:
    """(tenant_id, id, result_code) -> newest completedAt, for what a look-back from ``since`` saw."""
    outcomes = truth.last_outcomes("resource" if role == "resource" else "policy")
    return {key: at for key, at in outcomes.items() if at > since}


def no_good_backup(seen: dict[tuple[str, str, str], float], now: float) -> set[tuple[str, str]]:
    """Resources seen at all, minus those with an ok completion in the day before ``now``."""
    good = {(t, r) for (t, r, code), at in seen.items() if code == "ok" and at > now - DAY}
    return {(t, r) for t, r, _ in seen} - good


def failing(seen: dict[tuple[str, str, str], float]) -> set[tuple[str, str]]:
    """Policies whose newest failure is newer than their newest success (or that never succeeded)."""
    worst: dict[tuple[str, str], float] = {}
    best: dict[tuple[str, str], float] = {}
    for (tenant, policy, code), at in seen.items():
        side = worst if code in FAILED else best if code == "ok" else None
        if side is not None:
            side[tenant, policy] = max(side.get((tenant, policy), 0.0), at)
    return {key for key, at in worst.items() if at > best.get(key, 0.0)}


class TestBackupQuestions:
    """The README's cookbook, evaluated by Prometheus, equals the simulator's ground truth."""

    def test_the_cookbook_shows_these_queries(self) -> None:
        """Each query the tests evaluate is in the README as written."""
        text = README.read_text()
        assert [query for query in COOKBOOK if query not in text] == []

    def test_which_resources_had_no_good_backup_for_a_day(self, stack: Stack) -> None:
        """The resources the query lists are exactly those the truth says lack an ok in the last 24 h."""
        since = lookback_since(stack.exporter)
        now = stack.simulator.clock.now()
        answer = stack.prometheus.query(NO_GOOD_BACKUP_FOR_A_DAY, at=now)
        expected = no_good_backup(newest(stack.simulator.truth, "resource", since), now)
        assert expected, "the workload should leave some resource without a good backup"
        assert {(s.labels["tenant_id"], s.labels["resource_id"]) for s in answer} == expected

    def test_which_policy_keeps_failing(self, stack: Stack) -> None:
        """The policies whose last outcome is a failure, by tenant, are the truth's."""
        since = lookback_since(stack.exporter)
        answer = stack.prometheus.query(POLICIES_FAILING)
        expected = failing(newest(stack.simulator.truth, "policy", since))
        assert expected, "the workload should have a failing policy"
        assert {(s.labels["tenant_id"], s.labels["policy_id"]) for s in answer} == expected

    def test_how_many_failed_in_the_last_day(self, stack: Stack) -> None:
        """The 24-hour window's failures lie between the truth at the exporter's start and now.

        The history holds still, so the true count only shrinks as completions leave the window.
        """
        answer = stack.prometheus.query(FAILED_IN_THE_LAST_DAY)[0].value
        now = stack.simulator.clock.now()
        truth = stack.simulator.truth

        def failed_after(moment: float) -> int:
            counts = truth.count_completions(by=("result_code",), completed_after=moment - DAY)
            return sum(n for (code,), n in counts.items() if code in FAILED)

        assert failed_after(now) <= answer <= failed_after(stack.started - 1.0)
        assert answer > 0


def scrape(exporter: ExporterProcess) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Family name -> sorted label pairs -> value, from one scrape of /metrics."""
    families: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(exporter.get("/metrics").text):
        for sample in family.samples:
            families.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return families


def test_after_a_restart_the_first_scrape_has_the_last_outcomes_and_counters_at_zero(tmp_path: Path) -> None:
    """A restarted exporter seeds the gauges from its look-back before /readyz; counters start again at 0.

    The workload runs on while the exporter stops and starts; a long poll interval makes the
    first scrape after the restart show the first poll, whose walk the exporter logged.
    """
    live = dataclasses.replace(WORKLOAD, live=True, completion_rate=0.5)
    with start_simulator(live) as simulator:
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": simulator.config.client_secret}
        args = [*exporter_args(simulator), "--poll.interval", "60"]
        with start_exporter(args, env=env, workdir=tmp_path / "first"):
            pass  # polled once, then stopped
        with start_exporter(args, env=env, workdir=tmp_path / "second") as exporter:
            first = scrape(exporter)  # ready: the first poll was published
            walk = wait_until(
                lambda: exporter.events("lookback_walked"), what="the walk's log", timeout=30.0
            )[-1]
        since, until = float(str(walk.fields["since"])), float(str(walk.fields["until"]))
        links = simulator.truth.links("resource")
        seen = simulator.truth.last_outcomes("resource", completed_until=until)
        expected = {
            (("resource_id", r), ("resource_type", links[r][1]), ("result_code", c), ("tenant_id", t)): at
            for (t, r, c), at in seen.items()
            if at > since
        }
    assert first["acronis_resource_last_completion_timestamp_seconds"] == pytest.approx(expected)
    assert set(first.get("acronis_tasks_completed_total", {}).values()) <= {
        0.0
    }  # never seeded by the look-back
