"""Bad input: truncated or malformed JSON, JSON of the wrong shape, broken items, bad cursors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.faults.checks import fail_and_recover, scenario
from tests.faults.rig import ACTIVITY_SOURCES, TASK_SOURCES
from tests.faults.truth import assert_counts_exact

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator.faults import Faults
    from tests.faults.rig import Rig

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

TASKS = "/api/task_manager/v2/tasks"
ACTIVITIES = "/api/task_manager/v2/activities"
LISTINGS = ("open_tasks", "open_activities", "completed_tasks", "completed_activities")
SKIPPED = "acronis_exporter_items_skipped_total"


class TestUnreadableBodies:
    """Bodies the exporter cannot use fail the source that asked, and only that one."""

    @pytest.mark.parametrize(
        ("fault", "failed", "reason"),
        [
            pytest.param(
                lambda f: f.truncate_json(times=None, path_prefix=ACTIVITIES),
                ACTIVITY_SOURCES,
                "decode",
                id="truncated-json",
            ),
            pytest.param(
                lambda f: f.malformed_json(times=None, path_prefix=TASKS),
                TASK_SOURCES,
                "decode",
                id="not-json",
            ),
            pytest.param(
                lambda f: f.wrong_shape(times=None, path_prefix=TASKS),
                TASK_SOURCES,
                "shape",
                id="wrong-shape",
            ),
        ],
    )
    def test_an_unreadable_body_fails_its_sources_and_nothing_is_lost(
        self, rig: Rig, fault: Callable[[Faults], None], failed: tuple[str, ...], reason: str
    ) -> None:
        """The sources of the broken endpoint fail with the reason; the rest refresh; truth holds after."""
        with scenario(rig) as current:
            fail_and_recover(current, lambda: fault(rig.sim.faults), failed=failed, reason=reason)


class TestBrokenItems:
    """Items with null, missing or unknown-enum fields."""

    @pytest.mark.parametrize(
        ("mode", "reason"),
        [("null", "null_field"), ("missing", "missing_field"), ("unknown_enum", "unknown_enum")],
    )
    def test_broken_items_are_skipped_and_counted_once_they_mend(
        self, rig: Rig, mode: str, reason: str
    ) -> None:
        """Broken items are skipped with a reason, never counted wrongly, and counted when they mend."""
        with scenario(rig):
            before = rig.scrape()
            rig.advance(20)  # completions for the broken listings to hide
            rig.sim.faults.corrupt_items(mode, count=5, times=12)  # type: ignore[arg-type]
            after = rig.wait_metrics(
                lambda now: now.total(SKIPPED, reason=reason) > before.total(SKIPPED, reason=reason),
                what=f"items skipped with reason {reason}",
            )
            assert after.value("acronis_up") == 1, "broken items must not fail a source"
            rig.wait_metrics(lambda _: not rig.sim.faults.active(), what="the corruption to run out")
            assert_counts_exact(rig)


class TestBadCursors:
    """Cursor chains that repeat or never end."""

    def test_a_repeated_cursor_fails_every_listing_with_reason_pagination(self, rig: Rig) -> None:
        """A cursor that comes back fails the walks (never a partial picture); counts keep refreshing."""
        with scenario(rig) as current:
            fail_and_recover(
                current,
                lambda: rig.sim.faults.repeat_cursor(times=None),
                failed=LISTINGS,
                reason="pagination",
            )

    def test_cursors_past_the_last_item_end_each_walk_at_its_first_empty_page(self, rig: Rig) -> None:
        """Cursors handed out past the last item end each walk at its first empty page, nothing doubled."""
        # The simulator's endless chain serves empty pages after the last item, and "no
        # items" ends a walk (API notes). A chain of non-empty pages would instead hit
        # --api.max-pages and fail with reason pagination.
        with scenario(rig):
            before = rig.scrape()
            rig.sim.faults.endless_pages(on=True)
            rig.advance(20)
            rig.wait_polled()
            after = rig.wait_polled()
            assert after.value("acronis_up") == 1, "an empty page must end a walk, not fail it"
            grew = after.total("acronis_exporter_refresh_failures_total") - before.total(
                "acronis_exporter_refresh_failures_total"
            )
            assert grew == 0, f"{grew} refreshes failed"
            rig.sim.faults.clear()
            assert_counts_exact(rig)
