"""Fixtures shared by every test: the simulator on a manual clock, and the golden switch."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pytest

from simulator import ManualClock, RunningSimulator, SimulatorConfig, start_simulator
from simulator.astra import AstraConfig, RunningAstra, start_astra_simulator
from tests.support.ordering import longest_modules_first

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z: every manual clock starts here
SMALL = SimulatorConfig(tasks=300, open_tasks=40, tenants=12, seed=7)  # fast to build, rich enough


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --update-golden, which rewrites golden files from current output."""
    parser.addoption("--update-golden", action="store_true", default=False, help="rewrite golden files")


def pytest_configure(config: pytest.Config) -> None:
    """Keep xdist's --dist loadfile to the collection order that longest_modules_first sets.

    By default xdist hands out modules by their number of tests, largest first, which puts
    a slow module with few tests (a Prometheus end-to-end run) at the suite's tail.
    """
    if hasattr(config.option, "loadscopereorder"):  # absent under -p no:xdist
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slowest modules first (tests/support/ordering.py): the suite's tail gets shorter."""
    longest_modules_first(items)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Tell whether --update-golden was given."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def clock() -> ManualClock:
    """Return a manual clock at T0."""
    return ManualClock(start=T0)


@pytest.fixture
def simulator_factory(clock: ManualClock) -> Iterator[Callable[..., RunningSimulator]]:
    """Start simulators with SMALL's settings overridden by keyword; all are stopped at teardown.

    They share the `clock` fixture unless `wall_clock=True`.
    """
    started: list[RunningSimulator] = []

    def start(*, wall_clock: bool = False, **overrides: Any) -> RunningSimulator:  # noqa: ANN401  any config field
        config = dataclasses.replace(SMALL, **overrides)
        sim = start_simulator(config, clock=None if wall_clock else clock)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def simulator(simulator_factory: Callable[..., RunningSimulator]) -> RunningSimulator:
    """Start a small seeded simulator on the manual `clock`, listening on a free port."""
    return simulator_factory()


@pytest.fixture(scope="module")
def astra() -> Iterator[RunningAstra]:
    """Serve a 150-task Astra account on a manual clock: nothing moves unless a test says so."""
    with start_astra_simulator(AstraConfig(tasks=150, open_tasks=20), ManualClock()) as sim:
        yield sim
