"""RFC 3339 timestamps, as the Task Manager API writes them, to Unix seconds and back.

Every listed item carries three or four of them, so parsing them was the largest single
cost of a poll: the API's own shape (UTC, ``Z``) takes a fast path through
``datetime.fromisoformat``; any other string goes through the general parser, which
decides what is accepted. Both give the same value for the same string.
"""

from __future__ import annotations

import calendar
import math
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Final

_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})"
)
# The API's own shape, ASCII digits only; matched first, then fromisoformat reads the calendar.
_UTC: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.([0-9]{1,9}))?Z")
_EPOCH: Final = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose: _UTC admits only Z (UTC) stamps
_SECOND: Final = timedelta(seconds=1)
# The whole seconds of recent stamps: an item's three or four stamps, and the items completed
# in one second, share them. Bounded; a thread that misses one mid-clear just computes it.
_SECONDS_KEPT: Final = 4096
_seconds: dict[str, int] = {}


def canonical(text: str) -> bool:
    """Tell whether ``text`` has the API's own shape (``_utc_time``'s), valid or not."""
    return _UTC.fullmatch(text) is not None


def not_before(text: str, than: str) -> bool:
    """Tell, without parsing, that ``text`` is no earlier than ``than`` (or is no time at all).

    ``than`` must be canonical and valid. Two canonical strings of one length have the same
    fields at the same places, fixed-width digits, so their order as strings is their order
    in time. Any other ``text`` (another length or shape: an offset, ``t``, other digits)
    gives False: only parsing can tell. The cheap tests run first: most strings of a walk
    have the API's shape and lose to the oldest seen so far.
    """
    return len(text) == len(than) and text >= than and _UTC.fullmatch(text) is not None


def parse_time(text: str) -> float | None:
    """Parse RFC3339 (fraction up to nanoseconds, any offset) into Unix seconds; None if malformed."""
    fast = _utc_time(text)
    return fast if fast is not None else _any_time(text)


def _utc_time(text: str) -> float | None:
    """Parse the API's own shape, ``2026-12-01T22:30:27[.fraction]Z``, several times faster.

    None: not that shape. Returns exactly what ``_any_time`` returns for the strings it
    accepts (the same integer seconds plus the same fraction), and leaves every other
    string, good or bad, to it.
    """
    match = _UTC.fullmatch(text)
    if match is None:
        return None
    whole = text[:19]
    seconds = _seconds.get(whole)
    if seconds is None:
        try:
            moment = datetime.fromisoformat(whole)
        except ValueError:  # 31 February, hour 24: the general parser says None
            return None
        seconds = (moment - _EPOCH) // _SECOND  # an int, as calendar.timegm gives below
        if len(_seconds) >= _SECONDS_KEPT:
            _seconds.clear()
        _seconds[whole] = seconds
    if seconds < 0:
        return None
    fraction = match.group(1)
    return seconds + int((fraction or "0").ljust(9, "0")) / 1e9


def _any_time(text: str) -> float | None:
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:  # datetime validates the calendar (no 31 February); the fraction is added exactly below
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    seconds = calendar.timegm(moment.utctimetuple())
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    if seconds < 0:  # before 1970: no task ran then; a year-1 date would be the "oldest" task
        return None
    return seconds + int((fraction or "0").ljust(9, "0")) / 1e9


def format_time(seconds: float) -> str:
    """Render Unix seconds as RFC3339 with nine fraction digits, the API's own format."""
    whole = math.floor(seconds)
    # Split first: seconds * 1e9 would need 19 significant digits, more than a float holds.
    carry, fraction = divmod(round((seconds - whole) * 1e9), 1_000_000_000)
    whole += carry
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{fraction:09d}Z"
