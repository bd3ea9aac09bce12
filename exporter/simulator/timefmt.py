"""Time in the wire formats Task Manager speaks, kept as integer nanoseconds inside.

The API prints RFC3339 with nanoseconds (`2020-04-22T11:34:03.290396913Z`) and `""`
for unset times; its filters accept RFC3339, RFC1123, RFC850, Unix seconds and
Unix nanoseconds with an `ns` suffix (API-NOTES.md, "Listing, filters, order").
"""

from __future__ import annotations

import calendar
import re
import time
from email.utils import formatdate

NS = 1_000_000_000

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+\- ]\d{2}:\d{2})$"
)
_MONTHS = {name: index for index, name in enumerate(calendar.month_abbr) if name}
# RFC1123 ("Mon, 02 Jan 2006 15:04:05 MST" or "-0700") and RFC850 ("Monday, 02-Jan-06 15:04:05 MST").
_RFC1123 = re.compile(
    r"[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([A-Za-z]+|[+\-]\d{4})$"
)
_RFC850 = re.compile(
    r"[A-Za-z]+, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([A-Za-z]+|[+\-]\d{4})$"
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
    """Parse any accepted time format into Unix nanoseconds; raise ValueError otherwise."""
    text = text.strip()
    if text.endswith("ns") and text[:-2].isdigit():
        return int(text[:-2])
    if text.isdigit():
        return int(text) * NS
    for parser in (_parse_rfc3339, _parse_rfc1123, _parse_rfc850):
        value = parser(text)
        if value is not None:
            return value
    raise ValueError(f"unrecognised time {text!r}")


def _parse_rfc3339(text: str) -> int | None:
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    seconds = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second)))
    if zone not in ("Z", "z"):
        # A "+" that arrived unescaped in a query string decodes to a space.
        sign = -1 if zone[0] == "-" else 1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
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
    offset = _zone_offset(zone)
    hour, minute, second = (int(part) for part in hms)
    seconds = calendar.timegm((year, _MONTHS[month.title()], int(day), hour, minute, second))
    return (seconds - offset) * NS


def _zone_offset(zone: str) -> int:
    if zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        return sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    if zone.upper() not in _ZONES:
        raise ValueError(f"unknown time zone {zone!r}")
    return _ZONES[zone.upper()]
