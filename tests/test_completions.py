from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from exporter.completion_walk import Listing
from exporter.completions import FUTURE, HOLD_POLLS, TASK_FIELDS, CompletionTracker, WalkResult
from exporter.errors import PaginationError
from exporter.models import TaskItem, format_time, parse_task

if TYPE_CHECKING:
    from collections.abc import Iterator

W0 = 1_790_000_000.0
OVERLAP = 600.0


def done(item_id: int, completed: float, **fields: object) -> TaskItem:
    """Return a completed task that finished `completed` seconds after W0."""
    at = format_time(W0 + completed)
    raw: dict[str, object] = {
        "idString": str(item_id),
        "state": "completed",
        "result": {"code": "ok"},
        "tenant": {"id": "42", "name": "Acme", "locator": "/1/42/"},
        "queue": "backup",
        "type": "MachineBackup",
        "enqueuedAt": format_time(W0 + completed - 100),
        "startedAt": format_time(W0 + completed - 60),
        "completedAt": at,
        "updatedAt": at,
    }
    raw.update(fields)
    return parse_task(raw)


def tracker_after_baseline(*items: TaskItem) -> CompletionTracker:
    """Return a tracker whose baseline walk listed `items` with W0 as the newest completion."""
    tracker = CompletionTracker(overlap=OVERLAP, fields=TASK_FIELDS)
    tracker.commit(tracker.fold(items, start=W0))
    return tracker


def poll(tracker: CompletionTracker, *items: TaskItem) -> WalkResult:
    """Fold and commit one walk listing `items`."""
    result = tracker.fold(items)
    tracker.commit(result)
    return result


def counted_ids(result: WalkResult) -> list[str | None]:
    """Return the ids a walk counted, in listing order."""
    return [item.id for item in result.counted]


class TestBaseline:
    """The first walk remembers what already completed without counting it."""

    def test_baseline_counts_nothing_and_starts_at_the_newest_completion(self) -> None:
        """Completions before the exporter started are remembered, not counted."""
        tracker = CompletionTracker(overlap=OVERLAP, fields=TASK_FIELDS)
        assert tracker.window(start=W0) == [
            ("state", "completed"),
            ("completedAt", "gt(2026-09-21T14:03:20.000000000Z)"),
        ]
        result = tracker.fold([done(1, -30), done(2, 0)], start=W0)
        assert result.counted == ()
        tracker.commit(result)
        assert tracker.watermark == W0
        assert poll(tracker, done(1, -30), done(2, 0)).counted == ()

    def test_broken_item_in_the_baseline_is_never_counted_after_it_recovers(self) -> None:
        """An item that was already complete but unreadable at start stays uncounted once readable."""
        tracker = tracker_after_baseline(done(1, -5, queue=None))
        assert poll(tracker, done(1, -5)).counted == ()

    def test_api_without_completions_counts_everything_that_follows(self) -> None:
        """With no completion at start there is no window; later completions all count."""
        tracker = CompletionTracker(overlap=OVERLAP, fields=TASK_FIELDS)
        tracker.commit(tracker.fold([]))
        assert tracker.window() == [("state", "completed")]
        assert counted_ids(poll(tracker, done(1, 5))) == ["1"]
        assert tracker.watermark == W0 + 5


class TestExactlyOnce:
    """Every completion is counted exactly once, however often it is listed."""

    def test_new_completion_counts_once_across_overlapping_windows(self) -> None:
        """A completion listed by three overlapping windows is counted by the first only."""
        tracker = tracker_after_baseline(done(1, 0))
        assert counted_ids(poll(tracker, done(1, 0), done(2, 10))) == ["2"]
        assert poll(tracker, done(2, 10)).counted == ()
        assert counted_ids(poll(tracker, done(2, 10), done(3, 20))) == ["3"]
        assert tracker.watermark == W0 + 20

    def test_late_write_within_the_overlap_counts_once(self) -> None:
        """A completion that appears with a completedAt behind W is still counted, once."""
        tracker = tracker_after_baseline(done(1, 0))
        poll(tracker, done(2, 300))
        assert counted_ids(poll(tracker, done(2, 300), done(3, 100))) == ["3"]
        assert tracker.watermark == W0 + 300
        assert poll(tracker, done(2, 300), done(3, 100)).counted == ()

    def test_failed_walk_changes_nothing(self) -> None:
        """A walk that breaks half-way counts nothing; the next walk counts everything."""
        tracker = tracker_after_baseline(done(1, 0))

        def breaks_after_first_page() -> Iterator[TaskItem]:
            yield done(2, 10)
            raise RuntimeError("page 2 failed")

        with pytest.raises(RuntimeError):
            tracker.fold(breaks_after_first_page())
        assert tracker.watermark == W0
        assert counted_ids(poll(tracker, done(2, 10), done(3, 20))) == ["2", "3"]

    def test_folded_but_uncommitted_walk_changes_nothing(self) -> None:
        """Folding alone neither remembers ids nor moves W."""
        tracker = tracker_after_baseline(done(1, 0))
        tracker.fold([done(2, 10)])
        assert tracker.watermark == W0
        assert counted_ids(poll(tracker, done(2, 10))) == ["2"]

    def test_items_behind_the_horizon_are_ignored_even_if_listed(self) -> None:
        """An API that ignores the time filter cannot make forgotten completions count again."""
        tracker = tracker_after_baseline(done(1, 0))
        poll(tracker, done(2, 1000))
        assert tracker.remembered == 1
        assert poll(tracker, done(1, 0), done(2, 1000)).counted == ()

    def test_memory_is_bounded_by_one_overlap_window(self) -> None:
        """After many polls only the ids within the last overlap window are remembered."""
        tracker = tracker_after_baseline()
        for n in range(1, 200):
            poll(tracker, *(done(m, 60 * m) for m in range(max(1, n - 12), n + 1)))
        assert tracker.remembered <= OVERLAP / 60 + 1


class TestMovedCompletedAt:
    """A completion whose completedAt the API changes is counted once, remembered by its latest time."""

    def test_a_completion_moved_later_is_not_counted_again_once_h_passes_its_old_time(self) -> None:
        """Re-listed 40 s later, it stays remembered while H is between its old and new times."""
        tracker = tracker_after_baseline(done(1, 0))
        assert counted_ids(poll(tracker, done(2, 10))) == ["2"]
        assert poll(tracker, done(2, 50)).counted == ()
        poll(tracker, done(3, OVERLAP + 20))  # H = W0 + 20: past the old time, not the new one
        assert poll(tracker, done(2, 50), done(3, OVERLAP + 20)).counted == ()

    def test_one_walk_listing_an_id_at_two_times_counts_it_once_and_keeps_the_later(self) -> None:
        """It moved while the walk went on: counted once, remembered at the later time."""
        tracker = tracker_after_baseline(done(1, 0))
        assert counted_ids(poll(tracker, done(2, 10), done(2, 50))) == ["2"]
        poll(tracker, done(3, OVERLAP + 20))
        assert poll(tracker, done(2, 50)).counted == ()

    def test_a_completion_moved_earlier_keeps_its_later_time(self) -> None:
        """Moved below where H is going, it is neither counted again nor forgotten before its old time."""
        tracker = tracker_after_baseline(done(1, 0))
        assert counted_ids(poll(tracker, done(2, 50))) == ["2"]
        assert poll(tracker, done(2, 10)).counted == ()
        poll(tracker, done(3, OVERLAP + 20))  # H = W0 + 20: past the new time, not the old one
        assert tracker.remembered == 2
        assert poll(tracker, done(2, 30)).counted == ()  # and should it be moved back up meanwhile

    def test_ids_are_forgotten_once_h_passes_their_latest_time(self) -> None:
        """Memory stays bounded: a moved id goes when H passes the time it was moved to."""
        tracker = tracker_after_baseline(done(1, 0))
        poll(tracker, done(2, 10))
        poll(tracker, done(2, 50))
        poll(tracker, done(3, OVERLAP + 60))  # H = W0 + 60
        assert tracker.remembered == 1


class TestUnusableItems:
    """Broken items are skipped, counted as skipped once, and hold W for a while."""

    def test_broken_item_is_skipped_once_and_counted_after_it_recovers(self) -> None:
        """A null queue skips the item; once readable it is counted like any new completion."""
        tracker = tracker_after_baseline(done(1, 0))
        first = poll(tracker, done(2, 10, queue=None))
        assert first.counted == ()
        assert first.skipped == {"null_field": 1}
        assert poll(tracker, done(2, 10, queue=None)).skipped == {}
        assert counted_ids(poll(tracker, done(2, 10))) == ["2"]

    def test_broken_item_holds_the_watermark_then_is_given_up(self) -> None:
        """W stays at the broken item's completedAt for HOLD_POLLS polls, then moves on."""
        tracker = tracker_after_baseline(done(1, 0))
        broken, later = done(2, 10, result={"code": "partiallySucceeded"}), done(3, 900)
        for _ in range(HOLD_POLLS):
            poll(tracker, broken, later)
            assert tracker.watermark == W0 + 10
        poll(tracker, broken, later)
        assert tracker.watermark == W0 + 900

    def test_broken_item_without_completed_at_holds_the_watermark_still(self) -> None:
        """When the broken item's completedAt is unknown, W does not move at all."""
        tracker = tracker_after_baseline(done(1, 0))
        poll(tracker, done(2, 10, completedAt=None), done(3, 50))
        assert tracker.watermark == W0

    def test_broken_item_without_an_id_is_recognised_across_polls(self) -> None:
        """An item without id is fingerprinted, so it is skipped once, not once per poll."""
        tracker = tracker_after_baseline(done(1, 0))
        nameless = done(0, 10, idString=None)
        assert poll(tracker, nameless).skipped == {"missing_field": 1}
        assert poll(tracker, nameless).skipped == {}


class TestClockSkew:
    """Only trustworthy API times move W."""

    def test_completion_written_before_it_happened_is_counted_but_does_not_move_w(self) -> None:
        """A completedAt later than the item's own updatedAt counts, yet leaves W alone."""
        tracker = tracker_after_baseline(done(1, 0))
        skewed = done(2, 5000, updatedAt=format_time(W0 + 20))
        assert counted_ids(poll(tracker, skewed, done(3, 30))) == ["2", "3"]
        assert tracker.watermark == W0 + 30
        assert poll(tracker, skewed, done(3, 30)).counted == ()


def walk(tracker: CompletionTracker, *items: TaskItem, began: float, more: bool = False) -> WalkResult:
    """Fold and commit one walk whose first page the API served at W0 + ``began``."""
    listing = Listing()
    listing.saw(W0 + began, more=more)
    result = tracker.fold(items, listing=listing)
    tracker.commit(result)
    return result


def window_start(tracker: CompletionTracker) -> str:
    """Return the next walk's completedAt filter."""
    return dict(tracker.window())["completedAt"]


class TestApiTime:
    """W never passes the API's own time when the walk began (its Date header)."""

    def test_a_walk_without_a_date_stays_on_the_last_api_time_seen(self) -> None:
        """No Date (a proxy stripped it): a day-ahead completion cannot drag W, so nothing after it is lost.

        W is bounded by the last Date seen plus the time elapsed since, and the one that was
        dated ahead is counted once and reported as from the future.
        """
        tracker = tracker_after_baseline(done(1, 0))
        walk(tracker, done(2, 10), began=20)  # the API's time was last seen at W0 + 20
        ahead = done(3, 86_400.0)  # a writer one day ahead: completedAt == updatedAt
        undated = tracker.fold([done(2, 10), ahead], listing=Listing())  # no page had a Date
        tracker.commit(undated)
        assert counted_ids(undated) == ["3"]
        assert undated.skipped == {FUTURE: 1}
        assert tracker.watermark is not None
        assert tracker.watermark < W0 + 20 + 3_600  # the Date plus elapsed time (seconds), never a day
        later = poll(tracker, ahead, done(4, 30), done(5, 60))  # still no Date
        assert counted_ids(later) == ["4", "5"]
        assert counted_ids(walk(tracker, ahead, done(4, 30), done(5, 60), done(6, 90), began=100)) == ["6"]

    def test_future_dated_completion_is_counted_once_reported_and_does_not_stop_counting(self) -> None:
        """A completedAt a century ahead is counted and reported once; W stays on the API clock."""
        tracker = tracker_after_baseline(done(1, 0))
        future = done(2, 2_300_000_000.0)
        first = walk(tracker, done(3, 10), future, began=20)
        assert counted_ids(first) == ["3", "2"]
        assert first.skipped == {FUTURE: 1}
        assert tracker.watermark == W0 + 20
        second = walk(tracker, done(3, 10), future, done(4, 30), began=40)
        assert counted_ids(second) == ["4"]
        assert second.skipped == {}
        assert tracker.watermark == W0 + 40  # the API's time at the start of the walk, not 2099

    def test_a_completion_during_the_walk_lands_in_the_next_window(self) -> None:
        """The clock jumps an hour mid-walk: W stays at the walk's start, so a missed item is counted next."""
        tracker = tracker_after_baseline(done(1, 0))
        walk(tracker, done(2, 10), done(3, 3600 + 50), began=20)
        assert tracker.watermark == W0 + 20
        assert window_start(tracker) == f"gt({format_time(W0 + 20 - OVERLAP)})"
        missed = done(4, 25)  # completed after the walk began, behind the cursor
        assert counted_ids(walk(tracker, done(2, 10), missed, done(3, 3650), began=3700)) == ["4"]
        assert tracker.watermark == W0 + 3650

    def test_completions_just_inside_the_dates_second_are_not_future(self) -> None:
        """A Date is whole seconds, so a completedAt up to a second past it is the present, not the future."""
        tracker = tracker_after_baseline(done(1, 0))
        assert walk(tracker, done(2, 20.9), began=20).skipped == {}


class TestBacklog:
    """A window larger than the page budget is worked off over polls, exactly once."""

    def test_a_cut_off_walk_resumes_where_it_stopped_and_counts_each_once(self) -> None:
        """Each poll lists one budget in completedAt order; together they count every item once."""
        tracker = tracker_after_baseline(done(1, 0))
        backlog = [done(n, 10.0 * n) for n in range(2, 400)]
        counted: list[str | None] = []
        for poll_number in range(20):
            window = window_start(tracker)
            listed = [item for item in backlog if f"gt({format_time(item.completed_at or 0)})" > window][:50]
            result = walk(tracker, *listed, began=4000 + 100 * poll_number, more=len(listed) == 50)
            counted += counted_ids(result)
            if result.complete:
                break
        assert counted == [str(n) for n in range(2, 400)]
        assert tracker.watermark == W0 + 3990

    def test_a_cut_off_walk_moves_h_past_what_it_listed_not_back_to_w_minus_overlap(self) -> None:
        """The next walk starts at the last completedAt listed in full, so a dense backlog still moves."""
        tracker = tracker_after_baseline(done(1, 0))
        result = walk(tracker, *(done(n, n) for n in range(2, 52)), began=4000, more=True)
        assert not result.complete
        assert window_start(tracker) == f"gt({format_time(W0 + 50)})"
        assert counted_ids(walk(tracker, done(51, 51), done(52, 52), began=4001)) == ["52"]

    def test_h_never_passes_where_late_writes_can_still_land(self) -> None:
        """Near the API's present, a cut-off walk moves H no further than began - overlap."""
        tracker = tracker_after_baseline(done(1, 0))
        walk(tracker, *(done(n, 100 + n) for n in range(2, 52)), began=160, more=True)
        assert window_start(tracker) == f"gt({format_time(W0 + 160 - OVERLAP)})"

    def test_items_that_tie_at_the_cut_are_listed_again_and_counted_once(self) -> None:
        """Ties at the last completedAt may go on on the next page, so H stays below them."""
        tracker = tracker_after_baseline(done(1, 0))
        walk(tracker, done(2, 10), done(3, 20), done(4, 20), began=4000, more=True)
        assert window_start(tracker) == f"gt({format_time(W0 + 10)})"
        assert counted_ids(walk(tracker, done(3, 20), done(4, 20), done(5, 20), began=4001)) == ["5"]

    def test_a_walk_that_cannot_move_fails_instead_of_pretending(self) -> None:
        """A budget of identical completedAt listed again with nothing new is stuck: a pagination error."""
        tracker = tracker_after_baseline(done(1, 0))
        same = [done(n, 20) for n in range(2, 12)]
        assert len(walk(tracker, *same, began=4000, more=True).counted) == 10
        listing = Listing()
        listing.saw(W0 + 4001, more=True)
        with pytest.raises(PaginationError):
            tracker.fold(same, listing=listing)

    def test_a_cut_off_walk_out_of_order_fails(self) -> None:
        """An API that ignores order=asc(completedAt) cannot be resumed from a cut: a pagination error."""
        tracker = tracker_after_baseline(done(1, 0))
        listing = Listing()
        listing.saw(W0 + 4000, more=True)
        with pytest.raises(PaginationError):
            tracker.fold([done(2, 30), done(3, 10)], listing=listing)

    def test_a_baseline_over_the_budget_fails(self) -> None:
        """The baseline must see the whole overlap window, or it would count old completions later."""
        tracker = CompletionTracker(overlap=OVERLAP, fields=TASK_FIELDS)
        listing = Listing()
        listing.saw(W0, more=True)
        with pytest.raises(PaginationError):
            tracker.fold([done(1, -30), done(2, -20)], start=W0, listing=listing)
        assert not tracker.baselined

    def test_a_broken_item_in_a_backlog_holds_then_lets_go(self) -> None:
        """A broken item at the start of a backlog holds H for HOLD_POLLS polls, then the backlog moves on."""
        tracker = tracker_after_baseline(done(1, 0))
        page = [done(2, 10, queue=None), *(done(n, 10.0 * n) for n in range(3, 12))]
        for _ in range(HOLD_POLLS + 1):
            walk(tracker, *page, began=4000, more=True)
        assert window_start(tracker) == f"gt({format_time(W0 + 100)})"


class TestQuickWindow:
    """After a complete walk only a window near W is listed; the rest of the overlap is counted."""

    def test_a_complete_walk_allows_a_quick_window_inside_the_overlap(self) -> None:
        """With writes on time the quick window starts a few seconds below W."""
        tracker = tracker_after_baseline(done(1, -30), done(2, 0))
        quick = tracker.quick_window()
        assert quick is not None
        assert W0 - OVERLAP < quick[1] < W0
        assert quick[0][-1] == ("completedAt", f"gt({format_time(quick[1])})")

    def test_a_late_completion_widens_the_quick_window_at_once(self) -> None:
        """A completion counted 100 s below W makes the quick window reach twice as far back."""
        tracker = tracker_after_baseline(done(1, 0))
        assert counted_ids(poll(tracker, done(2, -100), done(3, 5))) == ["2", "3"]
        quick = tracker.quick_window()
        assert quick is not None
        assert tracker.watermark is not None
        assert quick[1] == pytest.approx(tracker.watermark - 200)

    def test_known_counts_each_remembered_and_held_completion_in_the_band_once(self) -> None:
        """The band's known count is every distinct decided completion strictly inside it."""
        tracker = tracker_after_baseline(done(1, -300), done(2, -30), done(3, 0))
        result = tracker.fold([done(3, 0), done(4, 10), done(5, 12, queue=None)])
        band, *_ = tracker.bands(W0 + 11, result)
        assert tracker.known(band, result) == 4  # 1, 2, 3 and 4; 5 is above the band

    def test_a_walk_that_moves_h_is_also_counted_above_the_next_h(self) -> None:
        """The part of the band still remembered after the commit is counted on its own too.

        The API moving completion 1 up past the next H leaves the whole band's count alone
        but not this one's, so the walk is full and 1 is re-filed before it is forgotten.
        """
        tracker = tracker_after_baseline(done(1, -590), done(2, 0))
        result = tracker.fold([done(3, 20)])
        whole, kept = tracker.bands(W0 + 21, result)
        assert (whole.low, kept.low) == (format_time(W0 - OVERLAP), format_time(W0 + 20 - OVERLAP))
        assert (tracker.known(whole, result), tracker.known(kept, result)) == (3, 2)
        assert tracker.bands(W0 + 21, tracker.fold([])) == (whole,)  # H stays: one count does

    def test_a_broken_completion_without_a_time_leaves_the_band_unknown(self) -> None:
        """A held item whose completedAt cannot be read may be anywhere: only a full walk can tell."""
        tracker = tracker_after_baseline(done(1, 0))
        result = tracker.fold([done(2, 10, completedAt=None)])
        band, *_ = tracker.bands(W0 + 20, result)
        assert tracker.known(band, result) is None

    def test_a_baseline_id_without_a_time_keeps_the_whole_overlap_until_it_is_forgotten(self) -> None:
        """An id remembered at W0 for want of its completedAt makes every walk full until H passes W0."""
        tracker = tracker_after_baseline(done(1, -5, completedAt=None), done(2, 0))
        assert tracker.quick_window() is None
        poll(tracker, done(3, 30))
        assert tracker.quick_window() is None
        poll(tracker, done(4, OVERLAP + 60))
        assert tracker.quick_window() is not None

    def test_a_band_without_an_api_time_reaches_up_to_everything(self) -> None:
        """After an empty quick walk (no Date learnt) the count has no upper bound, nor has the known set."""
        tracker = tracker_after_baseline(done(1, -30), done(2, 0))
        result = tracker.fold([done(3, 50)])
        band, *_ = tracker.bands(None, result)
        assert band.params() == [("state", "completed"), ("completedAt", f"gt({format_time(W0 - OVERLAP)})")]
        assert tracker.known(band, result) == 3
