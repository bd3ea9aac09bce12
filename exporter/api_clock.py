"""The API's time where a walk's replies carried none: the last Date seen, carried forward by elapsed time.

W must never pass the API's time at the start of a walk (completions.py): that is what keeps a
writer whose clock runs ahead from dragging W, and H with it, past completions still to come,
which would then never be listed. A walk whose first reply had no usable ``Date`` (stripped by
a proxy, unreadable) knows no such time, and a completion dated a day ahead used to carry W a
day ahead: every real completion of that day was lost, silently. So each Date a committed walk
saw is kept with the monotonic instant it was noted, and a walk without one is bounded by that
Date plus the time elapsed since, plus the Date's resolution. Only elapsed time enters, never
the exporter's wall clock, so a skew between the two clocks changes nothing.

The API's host may also step its clock back (NTP correcting a clock that ran fast). W and H
were carried ahead by the fast Dates, so every real completion after the step would sit at
or below H and be dropped as decided long ago. ``stepped_back`` tells such a Date apart, so
the tracker can re-anchor W and H on the API's corrected time (completions.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from exporter.errors import ApiError
from exporter.rfc3339 import format_time

if TYPE_CHECKING:
    from collections.abc import Callable

DATE_RESOLUTION: Final = 1.0  # an HTTP Date is whole seconds, rounded down
# A Date this much earlier than the last one seen is a step back of the API's clock; less is
# rounding, or hosts behind one balancer a little apart, which the overlap absorbs anyway.
STEP_TOLERANCE: Final = 5.0


class ApiClock:
    """The latest API time a committed walk saw, and an estimate of the API's time now."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._seen: tuple[float, float] | None = None  # (API time, monotonic instant it was noted)

    def saw(self, api_time: float | None) -> None:
        """Note an API time a walk saw (None: it saw none)."""
        if api_time is not None:
            self._seen = (api_time, self._monotonic())

    def stepped_back(self, api_time: float | None) -> float | None:
        """Return how far ``api_time`` lies behind the last API time seen, if it stepped back; else None."""
        if api_time is None or self._seen is None:
            return None
        behind = self._seen[0] - api_time
        return behind if behind > STEP_TOLERANCE else None

    def at_most(self, api_time: float | None) -> float | None:
        """Return ``api_time`` when the API told it, else the latest the API's time can be now.

        None when no Date was ever seen: nothing is known of the API's time.
        """
        if api_time is not None:
            return api_time
        if self._seen is None:
            return None
        seen, noted = self._seen
        return seen + (self._monotonic() - noted) + DATE_RESOLUTION


@dataclass(frozen=True)
class Anchor:
    """W and H put back on the API's time after its clock stepped back.

    The fast Dates carried W ahead and H with it; ids at or below H were forgotten. W goes back
    to the API's time ``now`` and H to one overlap below it, but never below the latest id
    forgotten: above H every id counted is still remembered, so a re-listed completion is
    recognised and counted once. If ids at or after ``now`` were forgotten, a completion from
    now on could not be told from one counted before: that fails with reason ``clock``, poll
    after poll, until the API's time passes them.
    """

    now: float
    stepped: float  # seconds behind the last API time seen
    overlap: float
    forgotten: float | None  # the latest completedAt forgotten, if any

    def watermark(self, watermark: float | None) -> float:
        """Return W re-anchored: never past the API's time."""
        return self.now if watermark is None else min(watermark, self.now)

    def horizon(self) -> float:
        """Return H re-anchored, or raise ``clock`` if no H keeps counting exact."""
        if self.forgotten is not None and self.forgotten >= self.now:
            raise ApiError(
                f"the API's clock stepped back {self.stepped:.0f} s, behind completions counted and"
                f" forgotten (up to {format_time(self.forgotten)}):"
                " counting resumes once its time passes them",
                reason="clock",
            )
        lowest = self.now - self.overlap
        return lowest if self.forgotten is None else max(lowest, self.forgotten)
