"""The API's time where a walk's replies carried none: the last Date seen, carried forward by elapsed time.

W must never pass the API's time at the start of a walk (completions.py): that is what keeps a
writer whose clock runs ahead from dragging W, and H with it, past completions still to come,
which would then never be listed. A walk whose first reply had no usable ``Date`` (stripped by
a proxy, unreadable) knows no such time, and a completion dated a day ahead used to carry W a
day ahead: every real completion of that day was lost, silently. So each Date a committed walk
saw is kept with the monotonic instant it was noted, and a walk without one is bounded by that
Date plus the time elapsed since, plus the Date's resolution. Only elapsed time enters, never
the exporter's wall clock, so a skew between the two clocks changes nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

DATE_RESOLUTION: Final = 1.0  # an HTTP Date is whole seconds, rounded down


class ApiClock:
    """The latest API time a committed walk saw, and an estimate of the API's time now."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._seen: tuple[float, float] | None = None  # (API time, monotonic instant it was noted)

    def saw(self, api_time: float | None) -> None:
        """Note an API time a walk saw (None: it saw none)."""
        if api_time is not None:
            self._seen = (api_time, self._monotonic())

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
