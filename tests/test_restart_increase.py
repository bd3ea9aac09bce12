"""A restart mid-run: increase() over the restart counts exactly what the exporter saw, once.

A real Prometheus scrapes the exporter, which polls the simulator on a manual clock. The
clock moves in steps; after each step the test waits for a poll that began after it, and for
a scrape of that poll. Then the exporter is stopped, the clock moves while nobody polls, and
a new exporter process takes the same address. Its counters start again at 0 (zero-first:
the first sample of every series it exposes is 0), so Prometheus sees a counter reset.

Ground truth, from the simulator: the completions written while an exporter was running,
i.e. after the first exporter's baseline up to the stop, and after the second one's baseline
(the completions of the downtime are history to it: they are listed in its baseline and
never counted). ``increase()`` over a window spanning both runs, evaluated at the last
scrape, must equal it per (queue, result_code), exactly: a first sample of 0 stops the
extrapolation at the window's start, and the window ends on the last sample.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import pytest

from simulator import ManualClock, SimulatorConfig, start_simulator
from tests.support.processes import free_port, start_exporter, wait_until
from tests.support.prometheus import PrometheusServer, Series, start_prometheus
from tests.support.prometheus_e2e import prometheus_e2e_marks, stored_series

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from simulator.running import RunningSimulator
    from tests.support.processes import ExporterProcess, LogEvent

pytestmark = prometheus_e2e_marks()
JOB = "acronis"
WORKLOAD = SimulatorConfig(tasks=400, open_tasks=120, tenants=5, seed=29, completion_rate=0.5)
STEP = 120.0  # simulated seconds per clock step: each step completes a few dozen tasks
STEPS = 2
WHOLE_RUN = "1h"  # wall time, longer than the test: the window starts before the first sample
COMPLETED = f'acronis_tasks_completed_total{{job="{JOB}"}}'


@dataclass(frozen=True)
class Run:
    """Prometheus after both runs, the last scrape's time, and the simulator's truth."""

    prometheus: PrometheusServer
    last_scrape: float
    counted: Counter[tuple[str, str]]  # (queue, result_code) -> completions written while polled
    unpolled: int  # completions written while no exporter ran


def scraped_after_a_poll_of_the_current_clock(
    exporter: ExporterProcess, prometheus: PrometheusServer
) -> float:
    """Wait until Prometheus has seen the current clock's data in full; return that scrape's time.

    Polls run one after another, so the second poll to finish after the clock step began
    after it. Its new series are exposed at 0 for one poll interval (zero-first); two polls
    later they show their value, so a scrape after the fourth poll to finish sees it. The
    log line follows the snapshot's publication.
    """
    finished_before = len(exporter.events("poll_finished"))

    def fourth_poll() -> LogEvent | None:
        finished = exporter.events("poll_finished")[finished_before:]
        return finished[3] if len(finished) > 3 else None

    poll = wait_until(fourth_poll, timeout=60.0, what="the polls after the clock step")

    def scrape_after_it() -> float | None:
        samples = prometheus.query(f'timestamp(up{{job="{JOB}"}} == 1)')
        return samples[0].value if samples and samples[0].value > poll.wall else None

    return wait_until(scrape_after_it, timeout=30.0, what="a scrape after those polls")


def truth(simulator: RunningSimulator, after: float, until: float) -> Counter[tuple[str, str]]:
    """Completions written in (after, until], as the counter keys them (summed over tenants)."""
    by_key = simulator.truth.count_completions(
        "tasks", by=("queue", "result_code"), written_after=after, written_until=until
    )
    return Counter({(queue, code): count for (queue, code), count in by_key.items()})


def poll_for_a_while(
    simulator: RunningSimulator, exporter: ExporterProcess, prometheus: PrometheusServer
) -> float:
    """Step the clock STEPS times, each step polled and scraped; return the last scrape's time."""
    scraped = scraped_after_a_poll_of_the_current_clock(exporter, prometheus)
    for _ in range(STEPS):
        simulator.workload.advance(STEP)
        scraped = scraped_after_a_poll_of_the_current_clock(exporter, prometheus)
    return scraped


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Two exporter processes on one address, one after the other, under one Prometheus."""
    with start_simulator(WORKLOAD, clock=ManualClock()) as simulator:
        port = free_port()
        args = [
            *("--api.url", simulator.url, "--api.client-id", WORKLOAD.client_id),
            *("--poll.interval", "2", "--web.listen-address", f"127.0.0.1:{port}"),
        ]
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": WORKLOAD.client_secret}
        workdir: Path = tmp_path_factory.mktemp("restart")
        targets = {JOB: [f"127.0.0.1:{port}"]}
        with start_prometheus(targets, scrape_interval=1.0, workdir=workdir / "prometheus") as prometheus:
            with start_exporter(args, env=env, port=port, workdir=workdir / "first") as first:
                first_baseline = simulator.clock.now()  # the clock holds still until the first step
                prometheus.wait_for_targets_up()
                poll_for_a_while(simulator, first, prometheus)
                first_stop = simulator.clock.now()
            simulator.workload.advance(STEP)  # completions nobody polls
            with start_exporter(args, env=env, port=port, workdir=workdir / "second") as second:
                second_baseline = simulator.clock.now()
                last_scrape = poll_for_a_while(simulator, second, prometheus)
            counted = truth(simulator, first_baseline, first_stop) + truth(
                simulator, second_baseline, simulator.clock.now()
            )
            unpolled = sum(truth(simulator, first_stop, second_baseline).values())
            yield Run(prometheus, last_scrape, counted, unpolled)


def stored(run: Run, selector: str) -> list[Series]:
    """Every stored sample of each series ``selector`` matches over the whole run, in time order."""
    return stored_series(run.prometheus, selector, window=WHOLE_RUN, at=run.last_scrape)


def selector(labels: dict[str, str]) -> str:
    """Return the PromQL selector of exactly one series."""
    matchers = ", ".join(f'{name}="{value}"' for name, value in sorted(labels.items()) if name != "__name__")
    return f"{labels['__name__']}{{{matchers}}}"


class TestIncreaseAcrossARestart:
    """Counters restart at zero; increase() over the restart still counts every completion seen."""

    def test_the_run_means_something(self, run: Run) -> None:
        """Both runs counted completions, and some were written while no exporter ran."""
        assert sum(run.counted.values()) >= 20
        assert run.unpolled > 0

    def test_the_counters_reset_to_zero_at_the_restart(self, run: Run) -> None:
        """Some series drop from a count to exactly 0 (the new process), and none starts above 0."""
        series = stored(run, COMPLETED)
        assert series
        assert [s.labels for s in series if s.points[0][1] != 0] == []
        resets = [
            (before, after)
            for s in series
            for (_, before), (_, after) in pairwise(s.points)
            if after < before
        ]
        assert resets
        assert {after for _, after in resets} == {0.0}

    def test_increase_over_the_restart_equals_the_truth_per_queue_and_result(self, run: Run) -> None:
        """increase() over both runs, per series at its last sample, adds up to the truth exactly.

        A series the second process never exposed ends at the stop; evaluated at the last
        scrape, increase() would extrapolate it half a scrape interval past its end, so each
        series is evaluated at its own last sample, where the window ends on it.
        """
        shown: dict[tuple[str, str], float] = {}
        for series in stored(run, COMPLETED):
            at = series.points[-1][0]
            value = run.prometheus.query(f"increase({selector(series.labels)}[{WHOLE_RUN}])", at=at)
            assert len(value) == 1, series.labels
            key = (series.labels["queue"], series.labels["result_code"])
            shown[key] = shown.get(key, 0.0) + value[0].value
        assert {key: count for key, count in shown.items() if count} == pytest.approx(
            {key: float(count) for key, count in run.counted.items()}, rel=1e-9
        )

    def test_increase_at_the_last_scrape_misses_nothing(self, run: Run) -> None:
        """The dashboards' form, evaluated now, counts at least every completion seen."""
        total = run.prometheus.query(f"sum(increase({COMPLETED}[{WHOLE_RUN}]))", at=run.last_scrape)
        assert total[0].value >= sum(run.counted.values())
