"""The API host's clock runs fast for a while, then NTP steps it back: nothing is lost or doubled.

While the host's clock is fast, its Dates and the completedAt it writes are ahead, so the
exporter's watermark and horizon move ahead with them. After the step back every real
completion is dated behind that horizon; the exporter must notice the step (a Date earlier
than the last one) and put its window back on the API's time, recognising what it counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simulator.timefmt import to_ns
from tests.faults.checks import scenario
from tests.faults.rig import COMPLETION_OVERLAP, running_rig, with_simulator
from tests.faults.truth import assert_counts_exact
from tests.support.prometheus import require_prometheus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from simulator.truth import Kind
    from tests.faults.rig import Rig

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

KINDS: tuple[Kind, ...] = ("tasks", "activities")
FAST = 30 * COMPLETION_OVERLAP  # half an hour ahead: the horizon ends far past every real completion
STEP = 20.0  # simulated seconds between polls


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """Start a rig whose completions are written on time, so only the host's clock moves them."""
    require_prometheus()
    simulator = with_simulator(open_tasks=4, completion_rate=1.0)
    with running_rig(tmp_path_factory.mktemp("clock-step"), simulator=simulator) as started:
        yield started


def stamp_fast(rig: Rig, since: float) -> None:
    """Date what completed after ``since`` on the fast clock, as the host wrote it (written_at stays)."""
    store = rig.sim._simulator.store  # the API's own data, so what it lists and the truth agree
    with store.write() as conn:
        for kind in KINDS:
            conn.execute(
                f"UPDATE {kind} SET completed_at = completed_at + ?, updated_at = updated_at + ?"  # noqa: S608
                " WHERE state = 'completed' AND completed_at > ?",
                (to_ns(FAST), to_ns(FAST), to_ns(since)),
            )


class TestClockStepBack:
    """Completions after the API's clock was stepped back are counted, each once."""

    def test_counts_stay_exact_across_a_fast_clock_stepped_back(self, rig: Rig) -> None:
        """Three polls on a clock half an hour fast, then three after the step: counters equal the truth."""
        with scenario(rig):
            rig.advance(10)
            rig.wait_polled()
            steps_before = len(rig.exporter.events("api_clock_stepped_back"))
            rig.sim.faults.skew_date(FAST)
            for _ in range(3):
                since = rig.clock.now()
                rig.advance(STEP)
                stamp_fast(rig, since)
                rig.wait_polled()
            rig.sim.faults.skew_date(0.0)  # NTP steps the host's clock back
            for _ in range(3):
                rig.advance(STEP)
                rig.wait_polled()
            assert_counts_exact(rig)
            steps = rig.exporter.events("api_clock_stepped_back")[steps_before:]
            assert {event.fields.get("resource") for event in steps} == set(KINDS), steps
            assert all(float(str(event.fields.get("seconds"))) > FAST / 2 for event in steps), steps
