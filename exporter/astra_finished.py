"""Counting Astra Control tasks that finished, each exactly once, from whole listings.

Astra's listing has no order parameter, so completions cannot be walked from a watermark
as Acronis ones are. Each poll lists every task instead (the open ones are needed anyway),
and a finished task (completed, failed, cancelled) is counted the first time a whole
listing shows it finished, by id:

* the first listing is the baseline: what has finished by then is remembered, not counted;
* a listing cannot vouch for what it left out: a first listing that was empty or all
  skipped (an API glitch) would otherwise make the whole history count as new once it is
  listed. So a task first seen finished is counted only when it was seen open before, or it
  finished (its endTime) no earlier than the baseline listing's reply ``Date``, less that
  Date's resolution: the API's clock against the API's clock. Seen open before, a task is
  counted whatever its endTime, so an API clock set back does not lose it; without an
  endTime or a Date, the id alone decides, as before;
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


@dataclass(frozen=True)
class FinishedFold:
    """What one whole listing means for the counters; nothing changes until it is committed."""

    newly: tuple[AstraTask, ...]  # finished tasks to count now
    remembered: Mapping[str, int]  # finished id -> listing number it was last shown in, oldest first
    largest: int  # the most finished tasks one listing has shown
    seen_open: Mapping[str, int]  # open id -> listing number it was last shown in, oldest first
    api_time: float | None  # the listing's earliest reply Date


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
        newly, shown = [], 0
        for task in tasks:
            if task.state in OPEN:
                seen_open.pop(task.id, None)
                seen_open[task.id] = number  # re-inserted: ordered by last shown
            if task.state not in FINISHED:
                continue
            shown += 1
            was_open = seen_open.pop(task.id, None) is not None
            if remembered.pop(task.id, None) is None and self._baselined and (was_open or self._after(task)):
                newly.append(task)
            remembered[task.id] = number  # re-inserted: the dict stays ordered by last shown
        largest = max(self._largest, shown)
        for ids in (remembered, seen_open):
            excess = len(ids) - max(REMEMBER_AT_LEAST, RETAIN * largest)
            for stale in list(islice(ids, max(excess, 0))):
                del ids[stale]
        return FinishedFold(tuple(newly), remembered, largest, seen_open, api_time)

    def _after(self, task: AstraTask) -> bool:
        """Tell whether a task first seen finished may have finished after the baseline listing."""
        if self._since is None or task.end is None:
            return True  # nothing to judge by: the id alone decides
        return task.end >= self._since - DATE_RESOLUTION

    def commit(self, folded: FinishedFold, label: Callable[[str], str]) -> None:
        """Adopt a listing: count its new finishes under their labelled names (``label``)."""
        self._listing += 1
        if not self._baselined or self._since is None:
            self._since = folded.api_time  # the first listing with a Date fixes the baseline's time
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
