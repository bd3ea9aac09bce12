"""The Astra finished counters' baseline, fed whole listings as the source parses them.

The baseline listing's finishes are history; a task first seen finished later counts when
it ended after the baseline's time, which the baseline fixes from its own times and Date,
never a later listing's. What is judged history is reported, each task once.
"""

from __future__ import annotations

from exporter.astra_finished import FinishedTracker
from exporter.astra_models import AstraTask

T = 1_800_000_000.0  # the API's time of the baseline listing


def _done(task_id: str, end: float | None) -> AstraTask:
    return AstraTask(task_id, "backup.run", "completed", None if end is None else end - 30, end, None)


def _listings(tracker: FinishedTracker, *listings: tuple[list[AstraTask], float | None]) -> list[int]:
    """Commit each (tasks, reply Date) listing; return the tasks judged history in each."""
    before = []
    for tasks, date in listings:
        folded = tracker.fold(tasks, date)
        tracker.commit(folded, str)
        before.append(folded.before_baseline)
    return before


def _counted(tracker: FinishedTracker) -> int:
    return sum(tracker.counts().values())


def test_a_baseline_without_a_date_is_not_dated_by_a_later_listing() -> None:
    """A dateless baseline, then a Date an hour ahead: the finishes after the baseline all count."""
    tracker, old = FinishedTracker("a"), _done("old", T - 3600)
    late = [old, _done("t1", T + 5)]
    before = _listings(tracker, ([old], None), (late, T + 3600), ([*late, _done("t2", T + 70)], T + 75))
    assert _counted(tracker) == 2
    assert before == [0, 0, 0]


def test_history_left_out_of_the_baseline_is_reported_once_not_counted() -> None:
    """A baseline that omitted an older finish: when listed it is history, skipped once, never counted."""
    tracker, recent = FinishedTracker("a"), _done("recent", T - 10)
    missed = _done("missed", T - 600)
    before = _listings(tracker, ([recent], T), ([recent, missed], T + 30), ([recent, missed], T + 60))
    assert _counted(tracker) == 0
    assert before == [0, 1, 0]


def test_finished_tasks_without_times_count_once_after_a_baseline() -> None:
    """No endTime to judge by and no Date: the id alone decides, each new id once."""
    tracker, old = FinishedTracker("a"), _done("old", None)
    new = [old, _done("n1", None), _done("n2", None)]
    before = _listings(tracker, ([old], None), (new, None), (new, None))
    assert _counted(tracker) == 2
    assert before == [0, 0, 0]
