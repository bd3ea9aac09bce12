"""A narrower completion window while writes come on time, without giving up exactly-once.

Each walk re-lists the configured overlap below W only to find completions written late
(backdated ``completedAt``). At 50 completions/s a 600 s overlap is 30,000 re-listed
items a poll, almost all counted already. So a walk after a complete one lists only a
*quick* window, ``completedAt > W - observed lateness x margin`` (at least ``FLOOR``, at
most the configured overlap), and then asks the API one count for the band it skipped,
``H < completedAt < began`` (H = W - overlap, began = the API's time of the quick walk's
first page). If the API counts exactly the completions the tracker already knows there,
nothing was written into the band since; otherwise the caller walks the whole overlap as
before, so the configured overlap stays what is guaranteed, whatever the lateness so far.

Why the count closes the gap: a completion written before the count into the band is
counted, so it triggers the full walk. One written after the count has
``completedAt > written - overlap > began - overlap >= next H`` (W never passes began),
so the next poll's quick walk or count sees it. A completion the tracker cannot place (a
broken item without a readable completedAt) makes the known count unsure, so the whole
overlap is walked while one is remembered.

The API may change a known completion's completedAt. A walk that lists it at a later time
re-files its id there (completion_walk.py), so it is not forgotten while it can still be
listed above H; an earlier time keeps the later one. A quick walk does not list the band,
so a second count covers the part of it above the H this poll moves to: a completion moved
out of what the commit forgets, up into what stays, changes that count and costs the full
walk, which re-files it before its old time is forgotten. What the counts cannot see: a
deletion and a late write (or two opposite moves) in the same part within one poll cancel
out; and a completion moved above H after H passed its old time is a new one to the
tracker, the price of remembering ids for one overlap only.

Lateness is measured against the watermark the completion was missing from: a completion
dated after W costs nothing however late, so only ``W - completedAt`` of newly counted
items counts. It grows back at once when a full walk finds a later write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from exporter.rfc3339 import format_time, parse_time

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from exporter.completion_walk import Held
    from exporter.timed_ids import TimedIds

FLOOR: Final = 2.0  # seconds: twice the API's whole-second Date; a later writer widens the window
MARGIN: Final = 2.0  # the quick window reaches back twice the largest lateness seen


@dataclass(frozen=True)
class Band:
    """The part of the overlap a quick walk does not list: ``low < completedAt < high``.

    ``high`` is None after an empty quick walk, which learnt no API time: the band then
    reaches up to everything, and a completion written since the walk costs a full walk.
    """

    low: str  # exactly as sent to the API, so both sides compare the same instants
    high: str | None

    def params(self) -> list[tuple[str, str]]:
        """Return the count query's filters (repeated time keys form a range)."""
        params = [("state", "completed"), ("completedAt", f"gt({self.low})")]
        if self.high is not None:
            params.append(("completedAt", f"lt({self.high})"))
        return params

    def known(
        self, seen: TimedIds, new: Mapping[str, float], held: Iterable[Mapping[str, Held]]
    ) -> int | None:
        """Count the distinct completions already known in the band; None if one cannot be placed.

        ``seen``: the ids remembered before this walk; ``new``: the walk's new ones and the known
        ones it re-files at a later time; ``held``: broken items.
        """
        low, high = parse_time(self.low), math.inf if self.high is None else parse_time(self.high)
        if low is None or high is None:  # pragma: no cover - both are format_time's output
            return None
        known = seen.count_between(low, high)
        added: set[str] = set()
        for key, at in new.items():
            inside, before = low < at < high, seen.within(key, low, high)
            if inside and not before:
                added.add(key)
            elif before and not inside:
                known -= 1  # a known completion the walk found moved out of the band
        for items in held:
            for key, broken in items.items():
                if broken.completed_at is None:
                    return None  # a broken item with no time may be anywhere: only a full walk can tell
                if low < broken.completed_at < high and not seen.within(key, low, high):
                    added.add(key)
        return known + len(added)


def skipped_bands(horizon: float, next_horizon: float | None, began: float | None) -> tuple[Band, ...]:
    """Return what a quick walk that began at the API's ``began`` skipped, to be counted by the API.

    The whole band catches late writes; its part above the H the poll moves to catches a
    known completion moved up out of what the commit forgets.
    """
    high = None if began is None else format_time(began)
    whole = Band(format_time(horizon), high)
    if next_horizon is None or next_horizon <= horizon:
        return (whole,)
    return whole, Band(format_time(next_horizon), high)


class Lateness:
    """The largest lateness seen so far, and the quick window it allows."""

    def __init__(self, overlap: float) -> None:
        self._overlap = overlap
        self._largest = 0.0

    @property
    def reach(self) -> float:
        """How far below W a quick walk lists."""
        return min(self._overlap, max(FLOOR, self._largest * MARGIN))

    def observe(self, watermark: float | None, completed: Iterable[float | None]) -> None:
        """Note how far below the watermark in force newly counted completions landed."""
        if watermark is None:
            return
        for at in completed:
            if at is not None and watermark - at > self._largest:
                self._largest = watermark - at
