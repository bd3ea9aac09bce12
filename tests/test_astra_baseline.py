"""The Astra baseline's time against a ``Date`` set ahead: no finish lost, what is not counted shows.

The exporter's first listing is its baseline: the finishes it shows are history, not counted,
and a task first seen finished later counts when it ended after the baseline. Here a proxy's
clock an hour ahead stamps that first reply's ``Date``. The Astra simulator runs on a manual
clock; the exporter is a real process polling it over real HTTP.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import httpx

from simulator import ManualClock
from simulator.astra import AstraConfig, start_astra_simulator
from tests.support.astra_exporter import start_astra_exporter
from tests.support.processes import wait_until
from tests.support.scrape import scraped

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from simulator.astra import RunningAstra
    from tests.support.processes import ExporterProcess

AHEAD = 3600.0  # the baseline reply's Date, seconds ahead of the API's own clock
UP: tuple[str, frozenset[tuple[str, str]]] = ("astra_control_up", frozenset())
BEFORE_BASELINE = ("acronis_exporter_items_skipped_total",
                   frozenset({("source", "astra_tasks"), ("reason", "before_baseline")}))  # fmt: skip


def _finished_truth(sim: RunningAstra, after: float) -> dict[tuple[str, str], float]:
    truth = httpx.get(sim.url + "/_sim/truth", params={"finished_after": str(after)}).json()
    return {(g["name"], g["state"]): float(g["count"]) for g in truth["finished"]}


def _finished_shown(exporter: ExporterProcess) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["name"], dict(labels)["state"]): value
        for (name, labels), value in scraped(exporter).items()
        if name == "astra_control_tasks_finished_total" and value
    }


def _wait_for_baseline(sim: RunningAstra, exporter: ExporterProcess) -> None:
    wait_until(lambda: scraped(exporter).get(UP) == 1.0, timeout=60, what="the baseline listing")
    assert sim.faults.active() == []  # the skewed reply went out, to the baseline listing


@contextlib.contextmanager
def _ten_minutes_after_a_baseline_dated_ahead(
    config: AstraConfig, tmp_path: Path
) -> Iterator[tuple[RunningAstra, ExporterProcess, float]]:
    """Answer the exporter's first listing with a Date an hour ahead, then let ten minutes pass.

    Yield the simulator, the exporter and the simulated time of the baseline.
    """
    with start_astra_simulator(config, ManualClock()) as sim:
        baseline = sim.clock.now()
        sim.faults.date_skew(AHEAD)
        with start_astra_exporter(sim, tmp_path) as exporter:
            _wait_for_baseline(sim, exporter)
            sim.world.advance(600)
            yield sim, exporter, baseline


def test_finishes_after_a_baseline_dated_ahead_are_all_counted(tmp_path: Path) -> None:
    """Tasks that start and finish between two polls, never seen open, count: exactly the truth."""
    config = AstraConfig(tasks=150, open_tasks=20, seed=7)
    with _ten_minutes_after_a_baseline_dated_ahead(config, tmp_path) as (sim, exporter, baseline):
        expected = _finished_truth(sim, baseline)
        wait_until(lambda: _finished_shown(exporter) == expected, timeout=60, what="every finish counted")
        assert sum(expected.values()) > 0
        assert scraped(exporter).get(BEFORE_BASELINE, 0.0) == 0.0
        (event,) = exporter.events("astra_baseline")
        assert float(str(event.fields["since"])) <= baseline  # the listing's own times, not the Date


def test_an_empty_baseline_dated_ahead_shows_what_it_cannot_count(tmp_path: Path) -> None:
    """An empty first listing has no time to check its Date by: what it keeps out is skipped, not lost.

    Every finish is either counted or reported as skipped with reason ``before_baseline``.
    """
    config = AstraConfig(tasks=0, open_tasks=0, seed=7)
    with _ten_minutes_after_a_baseline_dated_ahead(config, tmp_path) as (sim, exporter, baseline):
        total = sum(_finished_truth(sim, baseline).values())

        def accounted() -> float:
            return sum(_finished_shown(exporter).values()) + scraped(exporter).get(BEFORE_BASELINE, 0.0)

        wait_until(lambda: accounted() == total, timeout=60, what="every finish counted or skipped")
        assert scraped(exporter)[BEFORE_BASELINE] > 0
        assert exporter.events("astra_finished_before_baseline")
