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
so the next poll's quick walk or count sees it. The one assumption: a completion is not
deleted from the API, nor its completedAt changed, within one overlap of being written (a
deletion and a late write in the same poll would cancel out in the count). A completion the
tracker cannot place (a broken item without a readable completedAt) makes the known count
unsure, so the whole overlap is walked while one is remembered.

Where a walk stops and how far W goes. Without a count after it, W never passes the
API's time of a walk's first page (``began``). Two walks have one, and go further:

* a quick walk (listed in completedAt order) stops after the first page that lists a
  completion at or after ``began``, and W may reach that stop page's Date (``last``), but
  not ``began + overlap / 2``. A completion it did not list below ``began`` is the band's
  (above). One in ``[began, W - reach]`` was written after the walk passed it, and lies
  inside the next band: ``next H = W - overlap < began <= completedAt < W <= last <= next
  began``, so the next count finds it (a full walk, as for any write later than the
  reach). Anything above ``W - reach`` the next quick walk lists. So a completion written
  during a walk is listed once, by the next poll, not by this walk and again by the next.
  If the listing turns out unordered, W stays at or below ``began`` and the band finds
  what the stop skipped;
* a complete full walk is followed by one count of ``H < completedAt < last`` (its last
  page's Date). If the API counts just the completions known there, W may reach
  ``last``: one written before the count into that range would have been counted, one
  written after it has ``completedAt > written - overlap > last - overlap >= next H``.
  Otherwise W stays at or below ``began``, as before. One request per full walk (the
  baseline, a fallback), none in a steady poll; it spares the next poll re-listing what
  completed during a long walk.

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

    from exporter.completion_walk import Held, Listing

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

    def known(self, seen: Iterable[Mapping[str, float]], held: Iterable[Mapping[str, Held]]) -> int | None:
        """Count the distinct completions already known in the band; None if one cannot be placed."""
        low, high = parse_time(self.low), math.inf if self.high is None else parse_time(self.high)
        if low is None or high is None:  # pragma: no cover - both are format_time's output
            return None
        keys: set[str] = set()
        for ids in seen:
            keys.update(key for key, at in ids.items() if low < at < high)
        for items in held:
            for key, broken in items.items():
                if broken.completed_at is None:
                    return None  # a broken item with no time may be anywhere: only a full walk can tell
                if low < broken.completed_at < high:
                    keys.add(key)
        return len(keys)


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


def tail_band(horizon: float | None, listing: Listing, *, quick: bool) -> Band | None:
    """Return what a complete full walk listed up to its last page, for a count that lets W follow it."""
    if quick or not listing.complete or horizon is None or listing.began is None or listing.last is None:
        return None
    if listing.last <= listing.began:
        return None  # W may reach began anyway: a count would gain nothing
    return Band(format_time(horizon), format_time(listing.last))
