"""End to end: what Prometheus computes over the scraped counters is what happened.

A live simulator completes tasks across tenants and queues that appear over time; the
exporter polls it every 2 s with a tenant cap small enough to fold; a real Prometheus
scrapes every second. Prometheus must see every counter and histogram series start at 0,
``increase()`` over the whole run must equal the counters' own totals, and joins with
``acronis_tenant_info`` must keep the folded bucket.

Why the equality is exact: ``increase()`` extrapolates a series to the edges of its range
window, but (Prometheus' extrapolatedRate) never past the point where a counter would
reach 0, which for a first sample of 0 is the first sample itself, and not at all past the
last sample when the window ends on it. Every query here is evaluated at the timestamp of
the last scrape, which all series of the target share, so the extrapolation factor is 1
and only float summation separates the two sides.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from exporter.families import FOLDED_TENANT_NAME
from exporter.vocabulary import OPEN_STATES, OTHER
from simulator import SimulatorConfig, start_simulator
from tests.support.processes import start_exporter, wait_until
from tests.support.prometheus import PrometheusServer, Series, start_prometheus
from tests.support.prometheus_e2e import prometheus_e2e_marks, stored_series

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.support.processes import ExporterProcess, LogEvent

pytestmark = prometheus_e2e_marks()
JOB = "acronis"
WORKLOAD = SimulatorConfig(tasks=600, open_tasks=80, tenants=9, seed=13, completion_rate=6.0, live=True)
MAX_TENANTS = 3  # fewer than the workload's tenants: some fold into __other__
WHOLE_RUN = "1h"  # longer than the test, so each window starts before the first sample
COMPLETED = f'acronis_tasks_completed_total{{job="{JOB}"}}'
BORN_APART = 2.0  # seconds between the first series and a later one: one poll interval at least
COUNTER_SERIES = f'{{job="{JOB}",__name__=~"acronis_.+(_total|_bucket|_count|_sum)"}}'
FAMILIES = (
    "acronis_tasks_completed_total",
    "acronis_activities_completed_total",
    "acronis_task_duration_seconds_count",
    "acronis_task_queue_wait_seconds_bucket",
    "acronis_exporter_api_requests_total",
    "acronis_exporter_refreshes_total",
)


@dataclass(frozen=True)
class Run:
    """Prometheus after a run, and the timestamp of its last scrape of the exporter."""

    prometheus: PrometheusServer
    last_scrape: float

    def scalar(self, promql: str) -> float:
        """Evaluate ``promql`` at the last scrape; a single value (0 when empty)."""
        samples = self.prometheus.query(promql, at=self.last_scrape)
        assert len(samples) <= 1, samples
        return samples[0].value if samples else 0.0

    def raw(self, selector: str) -> list[Series]:
        """Every stored sample of the series ``selector`` matches, over the whole run."""
        return stored_series(self.prometheus, selector, window=WHOLE_RUN, at=self.last_scrape)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Let completions land until some fold into __other__, pause the workload, pin a later scrape."""
    with start_simulator(WORKLOAD) as simulator:
        args = [
            *("--api.url", simulator.url, "--api.client-id", WORKLOAD.client_id),
            *("--poll.interval", "2", "--metrics.max-tenants", str(MAX_TENANTS)),
        ]
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": WORKLOAD.client_secret}
        with start_exporter(args, env=env, workdir=tmp_path_factory.mktemp("exporter")) as exporter:
            targets = {JOB: [f"127.0.0.1:{exporter.port}"]}
            workdir = tmp_path_factory.mktemp("prometheus")
            with start_prometheus(targets, scrape_interval=1.0, workdir=workdir) as prometheus:
                prometheus.wait_for_targets_up()
                folded = f'acronis_tasks_completed_total{{tenant_id="{OTHER}"}} > 0'
                prometheus.wait_for(f"count({folded}) >= 2", timeout=120.0)
                prometheus.wait_for("count(acronis_tasks_completed_total > 0) >= 12", timeout=120.0)
                # On a slow start Prometheus' first scrape may already hold every series: wait
                # for one born later, or the run would not show the hold covering a new one.
                wait_until(lambda: _born_apart(prometheus), timeout=120.0, what="a series born later")
                simulator.workload.pause()
                yield Run(prometheus, scrape_of_still_data(exporter, prometheus))


def _first_samples(prometheus: PrometheusServer, at: float) -> list[float]:
    """Return when Prometheus first stored each task completion series, up to ``at``."""
    return [s.points[0][0] for s in stored_series(prometheus, COMPLETED, window=WHOLE_RUN, at=at)]


def _born_apart(prometheus: PrometheusServer) -> bool:
    firsts = _first_samples(prometheus, time.time())
    return bool(firsts) and max(firsts) - min(firsts) >= BORN_APART


def scrape_of_still_data(exporter: ExporterProcess, prometheus: PrometheusServer) -> float:
    """Return the time of a scrape whose whole poll ran after the workload was paused.

    One poll counts tasks by state and by queue in separate requests; while the workload
    moves, the two see different instants and may disagree. Polls run one after another, so
    the second poll to finish after the pause started after it. The log line is written after
    the snapshot is published, so a scrape that started after the line serves that poll.
    """
    finished_before = len(exporter.events("poll_finished"))

    def second_poll_after_pause() -> LogEvent | None:
        finished = exporter.events("poll_finished")[finished_before:]
        return finished[1] if len(finished) > 1 else None

    still = wait_until(second_poll_after_pause, timeout=60.0, what="a poll that started after the pause")

    def scrape_after_it() -> float | None:
        scraped_at = prometheus.query(f'timestamp(up{{job="{JOB}"}})')[0].value
        return scraped_at if scraped_at > still.wall else None

    return wait_until(scrape_after_it, timeout=30.0, what="a scrape of the still poll")


class TestIncreaseCountsEveryEvent:
    """increase() over the run equals what the counters counted."""

    def test_no_counter_or_histogram_series_starts_above_zero(self, run: Run) -> None:
        """The first sample Prometheus stored of every acronis_* counter and histogram series is 0."""
        series = run.raw(COUNTER_SERIES)
        assert len(series) > 100
        started_high = [(s.labels, s.points[0]) for s in series if s.points[0][1] != 0]
        assert started_high == []

    def test_series_were_born_during_the_run(self, run: Run) -> None:
        """Some completion series first appeared well after the first ones: the hold covered them."""
        firsts = _first_samples(run.prometheus, run.last_scrape)
        assert max(firsts) - min(firsts) >= BORN_APART

    @pytest.mark.parametrize("family", FAMILIES)
    def test_increase_over_the_run_equals_the_counter_sum(self, run: Run, family: str) -> None:
        """sum(increase(x[run])) equals sum(x) and the sum of last-minus-first samples."""
        stored = sum(s.points[-1][1] - s.points[0][1] for s in run.raw(f'{family}{{job="{JOB}"}}'))
        total = run.scalar(f'sum({family}{{job="{JOB}"}})')
        increase = run.scalar(f'sum(increase({family}{{job="{JOB}"}}[{WHOLE_RUN}]))')
        assert total > 0
        assert increase == pytest.approx(total, rel=1e-9)
        assert stored == pytest.approx(total, rel=1e-9)


class TestFoldedBucketsStayVisible:
    """Folding moves series into __other__; it never makes them vanish from a sum or a join.

    The run's last scrape serves a poll of paused data, so counts that separate requests
    took agree exactly.
    """

    @pytest.mark.parametrize("family", ["acronis_tasks_completed_total", "acronis_open_tasks"])
    def test_join_with_tenant_info_keeps_every_tenant(self, run: Run, family: str) -> None:
        """Summed through a join on tenant_id, the family keeps its whole total, __other__ included."""
        join = " * on (tenant_id) group_left (tenant_name) acronis_tenant_info"
        assert run.scalar(f"sum({family}{join})") == pytest.approx(run.scalar(f"sum({family})"))
        folded = run.prometheus.query(f'{family}{{tenant_id="{OTHER}"}}{join}', at=run.last_scrape)
        assert folded, "the folded bucket has no tenant_name to join"
        assert {sample.labels["tenant_name"] for sample in folded} == {FOLDED_TENANT_NAME}

    def test_queue_open_tasks_add_up_to_every_open_task(self, run: Run) -> None:
        """acronis_queue_open_tasks, __other__ included, sums to the open states of acronis_tasks."""
        open_states = "|".join(OPEN_STATES)
        assert run.scalar("sum(acronis_queue_open_tasks)") == run.scalar(
            f'sum(acronis_tasks{{state=~"{open_states}"}})'
        )

    def test_poll_interval_is_exported(self, run: Run) -> None:
        """acronis_exporter_poll_interval_seconds tells alert rules the configured interval."""
        assert run.scalar("acronis_exporter_poll_interval_seconds") == 2.0
