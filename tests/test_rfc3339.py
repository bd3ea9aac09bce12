"""The fast path for the API's own timestamps agrees with the general parser on every string.

``parse_time`` decides what is accepted (bad_time skips depend on it); the fast path may
only answer sooner. Strings are built near the RFC 3339 shape and then bent: bad digits,
out-of-range fields, other separators and zones, whitespace, non-ASCII digits.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from exporter.rfc3339 import _any_time, _utc_time, format_time, parse_time

_DIGITS = st.sampled_from("0123456789")
_BENT_DIGITS = st.sampled_from("0123456789" * 4 + "x\u0663\u00b2 -+")  # Arabic-Indic 3, superscript 2


def _field(width: int, digits: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(digits, min_size=width, max_size=width).map("".join)


@st.composite
def near_rfc3339(draw: st.DrawFn) -> str:
    """Draw a timestamp of the API's shape, with each part possibly bent."""
    digits = draw(st.sampled_from([_DIGITS, _BENT_DIGITS]))
    year, month, day = draw(_field(4, digits)), draw(_field(2, digits)), draw(_field(2, digits))
    hour, minute, second = draw(_field(2, digits)), draw(_field(2, digits)), draw(_field(2, digits))
    date_sep = draw(st.sampled_from(["-", "-", "-", "/", "W"]))
    time_sep = draw(st.sampled_from(["T", "T", "t", " ", "_"]))
    fraction = draw(st.sampled_from(["", "."]) | st.just("")) + draw(_field(draw(st.integers(0, 11)), digits))
    zone = draw(st.sampled_from(["Z", "Z", "z", "+00:00", "-05:30", "+14:00", "", "Z "]))
    pad = draw(st.sampled_from(["", "", " ", "\t"]))
    return (
        f"{pad}{year}{date_sep}{month}{date_sep}{day}{time_sep}{hour}:{minute}:{second}{fraction}{zone}{pad}"
    )


@given(near_rfc3339())
@example("2026-02-29T00:00:00Z")  # not a leap year
@example("2024-02-29T24:00:00Z")
@example("2026-W48-2T22:30:27Z")  # an ISO week date: fromisoformat would take it
@example("1969-12-31T23:59:59.999999999Z")
@example("2026-12-01T22:30:27.Z")
@example("2026-12-01T22:30:27.1234567890Z")
def test_fast_path_and_general_parser_agree(text: str) -> None:
    """Whatever the string, parse_time gives exactly what the general parser gives."""
    assert parse_time(text) == _any_time(text)


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_the_apis_own_timestamps_take_the_fast_path_to_the_same_value(seconds: float) -> None:
    """Every timestamp the API writes (nine fraction digits, Z) is read on the fast path, identically."""
    text = format_time(seconds)
    fast = _utc_time(text)
    assert fast is not None
    assert fast == _any_time(text)
