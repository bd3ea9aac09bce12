"""Acronis and Astra Control in one exporter, as a real process against both simulators.

Each source fails alone: a fault in Astra Control makes astra_control_up and its
source_up 0 while acronis_up stays 1 and the Acronis sources keep refreshing; a fault in
Acronis does the reverse. ``--demo`` runs both simulators and shows both APIs' families
within its first polls. Waits are on conditions, never on time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simulator import SimulatorConfig, start_simulator
from simulator.astra import AstraConfig, start_astra_simulator
from tests.support.processes import start_exporter, wait_until
from tests.support.scrape import Samples, scraped

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from simulator import RunningSimulator
    from simulator.astra import RunningAstra
    from tests.support.processes import ExporterProcess

ASTRA_SOURCE = "astra_tasks"
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def sims() -> Iterator[tuple[RunningSimulator, RunningAstra]]:
    """Serve a small Acronis workload and a small Astra Control account side by side."""
    with (
        start_simulator(SimulatorConfig(tasks=200, open_tasks=40, tenants=3, seed=4)) as acronis,
        start_astra_simulator(AstraConfig(tasks=60, open_tasks=10)) as astra,
    ):
        yield acronis, astra


@pytest.fixture(scope="module")
def exporter(
    sims: tuple[RunningSimulator, RunningAstra], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ExporterProcess]:
    """Run one exporter configured for both APIs, polling every second, retrying nothing."""
    acronis, astra = sims
    workdir = tmp_path_factory.mktemp("combined")
    (workdir / "secret").write_text(acronis.config.client_secret)
    (workdir / "token").write_text(astra.config.token)
    args = ["--api.url", acronis.url, "--api.client-id", acronis.config.client_id,
            "--api.client-secret-file", str(workdir / "secret"),
            "--astra.url", astra.url, "--astra.account-id", astra.config.account_id,
            "--astra.token-file", str(workdir / "token"),
            "--poll.interval", "1", "--poll.jitter", "0", "--api.max-retries", "0"]  # fmt: skip
    with start_exporter(args, workdir=workdir) as process:
        wait_until(lambda: _up(scraped(process)) == (1.0, 1.0), timeout=TIMEOUT, what="both sources up")
        yield process


def _named(values: Samples, name: str) -> dict[str, float]:
    """Map each ``source`` label value (or "" when unlabelled) of ``name`` to its value."""
    return {
        dict(labels).get("source", ""): value for (sample, labels), value in values.items() if sample == name
    }


def _up(values: Samples) -> tuple[float | None, float | None]:
    """(acronis_up, astra_control_up)."""
    return _named(values, "acronis_up").get(""), _named(values, "astra_control_up").get("")


def _successes(values: Samples) -> dict[str, float]:
    return _named(values, "acronis_exporter_last_success_timestamp_seconds")


def _acronis_sources(values: Samples) -> set[str]:
    return set(_named(values, "acronis_exporter_source_up")) - {ASTRA_SOURCE}


def _refreshed_since(exporter: ExporterProcess, before: dict[str, float], sources: set[str]) -> bool:
    now = _successes(scraped(exporter))
    return all(now.get(source, 0.0) > before.get(source, 0.0) for source in sources)


def test_an_astra_fault_fails_astra_alone(
    exporter: ExporterProcess, sims: tuple[RunningSimulator, RunningAstra]
) -> None:
    """Astra answers 503: astra_control_up and its source_up 0; acronis_up 1, Acronis still refreshing."""
    _, astra = sims
    astra.faults.fail(503, times=None)
    try:
        wait_until(lambda: _up(scraped(exporter)) == (1.0, 0.0), timeout=TIMEOUT, what="Astra down alone")
        values = scraped(exporter)
        assert _named(values, "acronis_exporter_source_up")[ASTRA_SOURCE] == 0.0
        sources = _acronis_sources(values)
        assert sources
        assert all(_named(values, "acronis_exporter_source_up")[source] == 1.0 for source in sources)
        before = _successes(values)
        wait_until(
            lambda: _refreshed_since(exporter, before, sources), timeout=TIMEOUT, what="Acronis refreshing"
        )
        assert _up(scraped(exporter))[0] == 1.0
    finally:
        astra.faults.clear()
    wait_until(lambda: _up(scraped(exporter)) == (1.0, 1.0), timeout=TIMEOUT, what="Astra back")


def test_an_acronis_fault_fails_acronis_alone(
    exporter: ExporterProcess, sims: tuple[RunningSimulator, RunningAstra]
) -> None:
    """Acronis answers 503: acronis_up 0; astra_control_up 1 and the Astra source keeps refreshing."""
    acronis, _ = sims
    acronis.faults.fail(503, times=None)
    try:
        wait_until(lambda: _up(scraped(exporter)) == (0.0, 1.0), timeout=TIMEOUT, what="Acronis down alone")
        values = scraped(exporter)
        assert _named(values, "acronis_exporter_source_up")[ASTRA_SOURCE] == 1.0
        before = _successes(values)
        wait_until(
            lambda: _refreshed_since(exporter, before, {ASTRA_SOURCE}),
            timeout=TIMEOUT,
            what="Astra refreshing",
        )
    finally:
        acronis.faults.clear()
    wait_until(lambda: _up(scraped(exporter)) == (1.0, 1.0), timeout=TIMEOUT, what="Acronis back")


def test_demo_shows_acronis_and_astra_families(tmp_path: Path) -> None:
    """`acronis-task-exporter --demo` runs both simulators: both APIs' families after its first polls."""
    with start_exporter(["--demo"], workdir=tmp_path) as demo:

        def both_shown() -> bool:
            names = {name for name, _ in scraped(demo)}
            return {"acronis_open_tasks", "astra_control_tasks", "astra_control_open_tasks"} <= names and _up(
                scraped(demo)
            ) == (1.0, 1.0)

        wait_until(both_shown, timeout=TIMEOUT, what="Acronis and Astra families from --demo")
