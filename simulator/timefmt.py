"""Time in the wire formats Task Manager speaks, kept as integer nanoseconds inside.

The API prints RFC3339 with nanoseconds (`2020-04-22T11:34:03.290396913Z`) and `""`
for unset times; its filters accept RFC3339, RFC1123, RFC850, Unix seconds and
Unix nanoseconds with an `ns` suffix (API-NOTES.md, "Listing, filters, order").
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from email.utils import formatdate

NS = 1_000_000_000
# Times are stored as int64 nanoseconds (SQLite's INTEGER). A valid time beyond that range is
# clamped to its edge: no stored time equals the edge, so gt/lt/eq keep their meaning exactly.
INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)
_INT64_DIGITS = len(str(INT64_MAX))
_ASCII_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() also says yes to Arabic-Indic digits and "²"

# re.ASCII: \d must not match other scripts' digits, which int() would then quietly accept.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+\- ]\d{2}:\d{2})$",
    re.ASCII,
)
_MONTHS = {name: index for index, name in enumerate(calendar.month_abbr) if name}
# RFC1123 ("Mon, 02 Jan 2006 15:04:05 MST" or "-0700") and RFC850 ("Monday, 02-Jan-06 15:04:05 MST").
_RFC1123 = re.compile(
    r"[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([A-Za-z]+|[+\-]\d{4})$", re.ASCII
)
_RFC850 = re.compile(
    r"[A-Za-z]+, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([A-Za-z]+|[+\-]\d{4})$", re.ASCII
)
_ZONES = {"GMT": 0, "UTC": 0, "UT": 0, "Z": 0}


def to_ns(seconds: float) -> int:
    """Convert float Unix seconds to integer nanoseconds."""
    return round(seconds * NS)


def to_seconds(ns: int) -> float:
    """Convert integer nanoseconds to float Unix seconds."""
    return ns / NS


def format_ns(ns: int) -> str:
    """Render RFC3339 with nine fraction digits; 0 (unset) renders as `""` like the real API."""
    if not ns:
        return ""
    seconds, fraction = divmod(ns, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def http_date(unix_seconds: float) -> str:
    """Render an HTTP date (RFC 7231 IMF-fixdate), e.g. for a `Retry-After` header."""
    return formatdate(unix_seconds, usegmt=True)


def parse_time(text: str) -> int:
    """Parse any accepted time format into Unix nanoseconds, clamped to int64; raise ValueError otherwise."""
    text = text.strip()
    if text.endswith("ns") and _ASCII_DIGITS.fullmatch(text[:-2]):
        return clamp_int64(ascii_int(text[:-2]))
    if _ASCII_DIGITS.fullmatch(text):
        return clamp_int64(ascii_int(text) * NS)
    for parser in (_parse_rfc3339, _parse_rfc1123, _parse_rfc850):
        seconds = parser(text)
        if seconds is not None:
            return clamp_int64(seconds)
    raise ValueError(f"unrecognised time {text!r}")


def ascii_int(digits: str) -> int:
    """Convert ASCII digits (optionally signed) to an int; past int64 it saturates, however long."""
    sign = -1 if digits.startswith("-") else 1
    magnitude = digits.lstrip("+-").lstrip("0")
    if len(magnitude) > _INT64_DIGITS:  # int() refuses over 4300 digits; the value is off-scale anyway
        return sign * (INT64_MAX + 1)
    return sign * int(magnitude or "0")


def clamp_int64(value: int) -> int:
    """Clamp to the int64 range SQLite stores."""
    return max(INT64_MIN, min(INT64_MAX, value))


def _parse_rfc3339(text: str) -> int | None:
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = 0
    if zone not in ("Z", "z"):
        # A "+" that arrived unescaped in a query string decodes to a space.
        offset = _offset_seconds(-1 if zone[0] == "-" else 1, zone[1:3], zone[4:6])
    seconds = _utc_seconds(int(year), int(month), int(day), (hour, minute, second)) - offset
    return seconds * NS + int((fraction or "0").ljust(9, "0"))


def _parse_rfc1123(text: str) -> int | None:
    match = _RFC1123.match(text)
    if match is None:
        return None
    day, month, year, hour, minute, second, zone = match.groups()
    return _assemble(int(year), month, day, (hour, minute, second), zone)


def _parse_rfc850(text: str) -> int | None:
    match = _RFC850.match(text)
    if match is None:
        return None
    day, month, year2, hour, minute, second, zone = match.groups()
    year = 2000 + int(year2) if int(year2) < 70 else 1900 + int(year2)  # noqa: PLR2004  two-digit years pivot at 70
    return _assemble(year, month, day, (hour, minute, second), zone)


def _assemble(year: int, month: str, day: str, hms: tuple[str, str, str], zone: str) -> int:
    if month.title() not in _MONTHS:
        raise ValueError(f"unknown month {month!r}")
    seconds = _utc_seconds(year, _MONTHS[month.title()], int(day), hms)
    return (seconds - _zone_offset(zone)) * NS


def _utc_seconds(year: int, month: int, day: int, hms: tuple[str, str, str]) -> int:
    """Return Unix seconds of a wall time; raise ValueError for 31 February, 25:00 and the like."""
    hour, minute, second = (int(part) for part in hms)
    dt.datetime(year, month, day, hour, minute, second)  # noqa: DTZ001  only validates the fields
    return calendar.timegm((year, month, day, hour, minute, second))


def _zone_offset(zone: str) -> int:
    if zone[0] in "+-":
        return _offset_seconds(-1 if zone[0] == "-" else 1, zone[1:3], zone[3:5])
    if zone.upper() not in _ZONES:
        raise ValueError(f"unknown time zone {zone!r}")
    return _ZONES[zone.upper()]


def _offset_seconds(sign: int, hours: str, minutes: str) -> int:
    if int(hours) > 23 or int(minutes) > 59:  # noqa: PLR2004  a clock's own limits
        raise ValueError(f"time zone offset out of range: {hours}:{minutes}")
    return sign * (int(hours) * 3600 + int(minutes) * 60)
