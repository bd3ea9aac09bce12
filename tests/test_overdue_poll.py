"""A poll that overruns three intervals: the sources read as down meanwhile, never ``up 1`` on stale data.

The exporter runs as a real process against the simulator over real HTTP; the simulator's
latency fault makes every request slow enough that a poll outlasts three poll intervals
while each request still succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import SimulatorConfig, start_simulator
from tests.support.processes import start_exporter, wait_until
from tests.support.scrape import Samples, scraped

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.processes import ExporterProcess

WORKLOAD = SimulatorConfig(tasks=300, open_tasks=40, tenants=3, seed=21)
UP: tuple[str, frozenset[tuple[str, str]]] = ("acronis_up", frozenset())
SLOW_REQUEST = 2.0  # seconds per request: a poll of dependent requests outlasts 3 x 1 s


def _sources_up(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["source"]: value
        for (name, labels), value in samples.items()
        if name == "acronis_exporter_source_up"
    }


def _failures(samples: Samples) -> float:
    failures = "acronis_exporter_refresh_failures_total"
    return sum(value for (name, _), value in samples.items() if name == failures)


def _data(samples: Samples) -> Samples:
    return {key: value for key, value in samples.items() if key[0] in ("acronis_tasks", "acronis_open_tasks")}


def _scraped_with(exporter: ExporterProcess, up: float) -> Samples | None:
    samples = scraped(exporter)
    return samples if samples[UP] == up else None


def test_a_poll_past_three_intervals_turns_every_source_down_until_it_ends(tmp_path: Path) -> None:
    """Every up and source_up read 0, the values stay the last good ones, no failure is counted; then 1."""
    with start_simulator(WORKLOAD) as sim:
        args = ["--api.url", sim.url, "--api.client-id", WORKLOAD.client_id, "--poll.interval", "1"]
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": WORKLOAD.client_secret}
        with start_exporter(args, workdir=tmp_path, env=env) as exporter:
            good = wait_until(lambda: _scraped_with(exporter, 1.0), timeout=60, what="a good poll")
            sim.faults.latency(SLOW_REQUEST)
            overdue = wait_until(lambda: _scraped_with(exporter, 0.0), timeout=60, what="up 0, poll overdue")
            assert set(_sources_up(overdue).values()) == {0.0}
            assert _failures(overdue) == _failures(good)
            assert _data(overdue) == _data(good)
            assert exporter.events("poll_overdue")
            sim.faults.latency(0.0)
            wait_until(lambda: _scraped_with(exporter, 1.0), timeout=60, what="up 1 once a poll ends")
