"""Completion counting at the edges: a future-dated completion, the API clock jumping mid-walk, a backlog.

The rig is this module's own: few open tasks, so every continuation page of a listing
belongs to a completion walk (the open-work listings fit on one page) and the simulator's
clock jump lands in the middle of one. Ground truth comes from the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simulator.api import listing_path
from simulator.timefmt import to_ns
from tests.faults.checks import scenario
from tests.faults.rig import COMPLETION_OVERLAP, MAX_PAGES, PAGE_SIZE, running_rig, source_up, with_simulator
from tests.faults.truth import assert_counts_exact
from tests.support.processes import wait_until
from tests.support.prometheus import require_prometheus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from simulator.truth import Kind
    from tests.faults.exposition import Exposition
    from tests.faults.rig import Rig

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

WATERMARK = "acronis_exporter_watermark_timestamp_seconds"
SKIPPED = "acronis_exporter_items_skipped_total"
KINDS: tuple[Kind, ...] = ("tasks", "activities")
CENTURY = 100 * 365 * 86400.0
# Twenty times the overlap: as far past W as an hour would be, at a third of the catch-up polls.
JUMP = 1200.0
BACKLOG = 2400.0  # four page budgets at the rig's rate of about one completion a second
CATCH_UP = 240.0  # seconds to work off a jump or backlog, page budget by page budget


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """Start a rig whose open work fits on one page and whose completions are written up to 20 s late."""
    require_prometheus()
    simulator = with_simulator(open_tasks=4, completion_rate=1.0, late_write_max=20.0)
    with running_rig(tmp_path_factory.mktemp("edges"), simulator=simulator) as started:
        yield started


def date_in_the_future(rig: Rig, kind: Kind) -> None:
    """Rewrite the oldest completion of ``kind`` as completed (and updated) a century ahead, written now."""
    store = rig.sim._simulator.store  # the API's own data, so the truth counts it too
    ((row_id,),) = store.read(
        f"SELECT id FROM {kind} WHERE state = 'completed' AND deleted = 0 ORDER BY completed_at, id LIMIT 1"  # noqa: S608
    )
    future, now = to_ns(rig.clock.now() + CENTURY), to_ns(rig.clock.now())
    with store.write() as conn:
        conn.execute(
            f"UPDATE {kind} SET completed_at = ?, updated_at = ?, written_at = ? WHERE id = ?",  # noqa: S608
            (future, future, now, row_id),
        )


def watermark(exposition: Exposition, kind: Kind) -> float:
    """Return the exporter's watermark for ``kind``."""
    value = exposition.value(WATERMARK, kind=kind)
    assert value is not None, f"no {kind} watermark"
    return value


class TestFutureDated:
    """A completion dated in the future is counted once, reported, and cannot stop counting."""

    def test_counted_once_reported_and_counting_goes_on(self, rig: Rig) -> None:
        """The counters equal the truth, future_time is reported once per item, W stays on the API's clock."""
        with scenario(rig):
            rig.advance(10)
            rig.wait_polled()
            for kind in KINDS:
                date_in_the_future(rig, kind)
            rig.advance(10)
            assert_counts_exact(rig)
            for kind in KINDS:
                rig.advance(10)
                exposition = rig.wait_polled()
                skipped = exposition.value(SKIPPED, source=f"completed_{kind}", reason="future_time")
                assert skipped == 1, f"{kind}: future_time reported {skipped} times"
                assert watermark(exposition, kind) <= rig.clock.now(), (
                    f"the {kind} watermark left the API clock"
                )
            before = rig.wait_polled()
            rig.advance(20)
            assert_counts_exact(rig)  # new completions are still counted
            after = rig.wait_polled()
            for kind in KINDS:
                assert watermark(after, kind) > watermark(before, kind), f"the {kind} watermark stopped"


class TestClockJump:
    """The API's clock jumping far past the overlap in the middle of a walk loses nothing."""

    @pytest.mark.parametrize("kind", ["tasks", "activities"])
    def test_a_jump_far_past_the_overlap_mid_walk_loses_nothing(self, rig: Rig, kind: Kind) -> None:
        """The clock jumps while the walk's second page is served; the counters still equal the truth."""
        rig.wait_healthy(timeout=90.0)
        rig.advance(5)
        rig.wait_polled()
        before = rig.clock.now()
        rig.sim.faults.jump_clock(rig.clock, JUMP, page=1, path_prefix=listing_path(kind))
        # Walks list only near W while writes come on time: give the next one several pages to walk.
        rig.advance(3 * PAGE_SIZE)
        wait_until(lambda: rig.clock.now() >= before + JUMP, timeout=30.0, what="the clock jump mid-walk")
        assert_counts_exact(rig, timeout=CATCH_UP)


class TestBacklog:
    """A backlog several page budgets long is worked off over polls, exactly, with up 1 while it moves."""

    def test_cleared_over_several_polls_exactly_and_honestly(self, rig: Rig) -> None:
        """Each catch-up poll succeeds and moves the watermark; the counters end equal to the truth."""
        rig.wait_healthy(timeout=90.0)
        rig.advance(5)
        rig.wait_polled()
        backlog_start = len(rig.exporter.events("completion_backlog"))
        rig.advance(BACKLOG)
        written = len(rig.sim.truth.completions("tasks", written_after=rig.clock.now() - BACKLOG))
        assert written > 3 * PAGE_SIZE * MAX_PAGES, f"a backlog of {written} is not several page budgets"
        last = 0.0
        api_now = rig.clock.now()
        while last < api_now - COMPLETION_OVERLAP:
            exposition = rig.wait_polled(("completed_tasks",), timeout=60.0)
            assert source_up(exposition, "completed_tasks") == 1, "a backlog that moves is not a failure"
            current = watermark(exposition, "tasks")
            assert current > last, "the watermark did not move during the backlog"
            last = current
        polls = [
            event
            for event in rig.exporter.events("completion_backlog")[backlog_start:]
            if event.fields.get("resource") == "tasks"
        ]
        assert len(polls) >= 3, f"{BACKLOG:g} s of completions cleared in {len(polls)} cut-off walks"
        assert_counts_exact(rig, timeout=CATCH_UP)


def move_completion(rig: Rig, kind: Kind, *, done_before: float, to_before: float) -> None:
    """Move the first visible completion done ``done_before`` s ago or since to ``to_before`` s ago."""
    store = rig.sim._simulator.store  # the API's own data, as a correction of completedAt leaves it
    now = rig.clock.now()
    ((row_id,),) = store.read(
        f"SELECT id FROM {kind} WHERE state = 'completed' AND deleted = 0 AND completed_at >= ?"  # noqa: S608
        " AND written_at <= ? ORDER BY completed_at, id LIMIT 1",
        (to_ns(now - done_before), to_ns(now)),
    )
    with store.write() as conn:
        conn.execute(
            f"UPDATE {kind} SET completed_at = ?, updated_at = ? WHERE id = ?",  # noqa: S608
            (to_ns(now - to_before), to_ns(now), row_id),
        )


class TestMovedCompletion:
    """A completion whose completedAt the API changes after it was counted is not counted again."""

    def test_moved_later_inside_the_overlap_or_into_the_quick_window_counts_once(self, rig: Rig) -> None:
        """The counters equal the truth after the horizon has passed each moved completion's old time."""
        step = 5.0  # H moves less than a move per poll: some poll has H between the old and new times
        with scenario(rig):
            rig.advance(COMPLETION_OVERLAP)
            assert_counts_exact(rig)  # the completions to move are counted and remembered
            near = COMPLETION_OVERLAP - 5
            move_completion(rig, "tasks", done_before=near, to_before=near - 10)  # no quick walk lists it
            move_completion(rig, "activities", done_before=near, to_before=0.0)  # the next quick walk does
            for _ in range(int(COMPLETION_OVERLAP // step) + 2):
                rig.advance(step)
                rig.wait_polled()
            assert_counts_exact(rig)
