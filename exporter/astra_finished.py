"""Counting Astra Control tasks that finished, each exactly once, from whole listings.

Astra's listing has no order parameter, so completions cannot be walked from a watermark
as Acronis ones are. Each poll lists every task instead (the open ones are needed anyway),
and a finished task (completed, failed, cancelled) is counted the first time a whole
listing shows it finished, by id:

* the first listing is the baseline: what has finished by then is remembered, not counted;
* a listing cannot vouch for what it left out: a first listing that was empty or all
  skipped (an API glitch) would otherwise make the whole history count as new once it is
  listed. So a task first seen finished is counted only when it was seen open before, or it
  finished (its endTime) no earlier than the baseline's time, less a Date's resolution. The
  baseline's time is the API's own, and never later than anything says: the earlier of the
  baseline reply's ``Date`` and the latest time the baseline listing holds (any task's
  start, end or creation cannot be after the listing that shows it). A ``Date`` set ahead (a
  proxy's clock, or hostile) so cannot make later finishes look like history; only a
  baseline with no time in it at all trusts its ``Date`` alone, and one with neither judges
  by the id alone (counting rather than losing). The baseline's time is fixed by the
  baseline listing and never by a later one. Seen open before, a task is counted whatever its
  endTime, so an API clock set back does not lose it. A task judged history is remembered,
  not counted, and reported once as skipped (``BEFORE_BASELINE``) with a log line, so that
  what a wrong clock keeps out of the counters shows;
* a listing that fails counts nothing and changes nothing (``fold`` then ``commit``);
* a finished id stays remembered however many listings leave it out (an API that lists
  nothing for a while must not recount its whole history when it recovers); memory is
  bounded by size instead: beyond ``RETAIN`` times the most finished tasks one listing ever
  showed (at least ``REMEMBER_AT_LEAST``), the ids shown longest ago are forgotten first,
  and those the API has long purged;
* the exporter's clock never enters: a clock that jumps changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Final

from exporter import logs
from exporter.api_clock import DATE_RESOLUTION
from exporter.astra_models import FINISHED, OPEN
from exporter.catalogue import ASTRA_DURATION, ASTRA_FINISHED, DURATION_BUCKETS
from exporter.grouping import _Histogram  # the same per-bucket accumulator as Acronis durations
from exporter.labels import series

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from exporter.astra_models import AstraTask
    from exporter.labels import Key
    from exporter.snapshot import HistogramData

RETAIN: Final = 2  # remembered ids per finished task of the largest listing: room for turnover
REMEMBER_AT_LEAST: Final = 10_000  # ids; a small account keeps every id it has seen
BEFORE_BASELINE: Final = "before_baseline"  # skip reason: first seen finished, dated before the baseline

_log = logs.get_logger(component="astra")


@dataclass(frozen=True)
class FinishedFold:
    """What one whole listing means for the counters; nothing changes until it is committed."""

    newly: tuple[AstraTask, ...]  # finished tasks to count now
    before_baseline: int  # first seen finished, never open, ended before the baseline: not counted
    remembered: Mapping[str, int]  # finished id -> listing number it was last shown in, oldest first
    largest: int  # the most finished tasks one listing has shown
    seen_open: Mapping[str, int]  # open id -> listing number it was last shown in, oldest first
    since: float | None  # the baseline's API time (this listing's, when it is the baseline)


class FinishedTracker:
    """Finished ids, and the cumulative counters and duration histograms of one account."""

    def __init__(self, account_id: str) -> None:
        self._account = account_id
        self._listing = 0
        self._baselined = False
        self._since: float | None = None  # the API's time of the baseline listing
        self._remembered: dict[str, int] = {}
        self._seen_open: dict[str, int] = {}
        self._largest = 0
        self._counts: Counter[Key] = Counter()
        self._durations: dict[Key, _Histogram] = {}

    def fold(self, tasks: Iterable[AstraTask], api_time: float | None = None) -> FinishedFold:
        """Work out what a whole listing adds, without changing the tracker.

        ``api_time`` is the listing's earliest reply Date (None when no reply had one).
        """
        number = self._listing + 1
        remembered, seen_open = dict(self._remembered), dict(self._seen_open)
        newly, shown, before, latest = [], 0, 0, None
        for task in tasks:
            latest = _latest(latest, task)
            if task.state in OPEN:
                seen_open.pop(task.id, None)
                seen_open[task.id] = number  # re-inserted: ordered by last shown
            if task.state not in FINISHED:
                continue
            shown += 1
            was_open = seen_open.pop(task.id, None) is not None
            if remembered.pop(task.id, None) is None and self._baselined:
                if was_open or self._after(task):
                    newly.append(task)
                else:
                    before += 1
            remembered[task.id] = number  # re-inserted: the dict stays ordered by last shown
        largest = max(self._largest, shown)
        for ids in (remembered, seen_open):
            excess = len(ids) - max(REMEMBER_AT_LEAST, RETAIN * largest)
            for stale in list(islice(ids, max(excess, 0))):
                del ids[stale]
        since = self._since if self._baselined else _earliest(api_time, latest)
        return FinishedFold(tuple(newly), before, remembered, largest, seen_open, since)

    def _after(self, task: AstraTask) -> bool:
        """Tell whether a task first seen finished may have finished after the baseline listing."""
        if self._since is None or task.end is None:
            return True  # nothing to judge by: the id alone decides
        return task.end >= self._since - DATE_RESOLUTION

    def commit(self, folded: FinishedFold, label: Callable[[str], str]) -> None:
        """Adopt a listing: count its new finishes under their labelled names (``label``)."""
        self._listing += 1
        if not self._baselined:
            self._since = folded.since
            _log.info("astra_baseline", account_id=self._account, since=folded.since)
        elif folded.before_baseline:
            _log.warning(
                "astra_finished_before_baseline",
                account_id=self._account,
                tasks=folded.before_baseline,
                since=self._since,
            )
        self._baselined = True
        self._remembered = dict(folded.remembered)
        self._seen_open = dict(folded.seen_open)
        self._largest = folded.largest
        for task in folded.newly:
            name = label(task.name)
            self._counts[series(ASTRA_FINISHED, account_id=self._account, name=name, state=task.state)] += 1
            if task.start is not None and task.end is not None and task.end >= task.start:
                key = series(ASTRA_DURATION, account_id=self._account, name=name, state=task.state)
                self._durations.setdefault(key, _Histogram(DURATION_BUCKETS)).observe(task.end - task.start)

    def counts(self) -> dict[Key, int]:
        """Return the counters so far (a copy)."""
        return dict(self._counts)

    def durations(self) -> dict[Key, HistogramData]:
        """Return the histograms so far (frozen copies)."""
        return {key: histogram.freeze() for key, histogram in self._durations.items()}

    @property
    def remembered(self) -> int:
        """Finished ids held in memory."""
        return len(self._remembered)


def _latest(latest: float | None, task: AstraTask) -> float | None:
    """Return the later of ``latest`` and every time ``task`` holds."""
    return max((t for t in (latest, task.start, task.end, task.created) if t is not None), default=None)


def _earliest(*times: float | None) -> float | None:
    """Return the earliest of the times that are known, None when none is."""
    return min((t for t in times if t is not None), default=None)
