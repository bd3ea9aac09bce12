"""Arbitrary query strings and path ids: the simulator always answers with a status and a JSON body.

Hypothesis builds queries from the real parameter names and hostile values (numbers far past
int64, operators around anything, invalid UTF-8, NUL) and from raw bytes; each goes over a real
socket. The reply must be a 200 page (or count) or a 4xx with the documented error body:
a 500 or a dropped connection is a bug the example pins down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.filters import FILTERS
from simulator.listing import CONTROL

from .rawhttp import API, RawReply, get

pytestmark = pytest.mark.slow  # hypothesis: hundreds of raw requests

if TYPE_CHECKING:
    from simulator import RunningSimulator

KINDS = ("tasks", "activities")
NAMES = sorted({*FILTERS["tasks"], *FILTERS["activities"], *CONTROL})
FUZZ = settings(max_examples=250, deadline=None, database=None)  # no example files left in the checkout

_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=-5, max_value=5)
).map(str)
_times = st.one_of(
    _numbers,
    _numbers.map(lambda n: n + "ns"),
    st.datetimes().map(lambda t: t.isoformat() + "Z"),
    st.datetimes().map(lambda t: t.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    st.sampled_from(["2999-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999+23:59", "2026-02-31T00:00:00Z"]),
)
_text = st.text(max_size=30)  # any code point, lone surrogates included: they become invalid UTF-8
_operators = st.sampled_from(["gt", "lt", "like", "asc", "desc", "eq", ""])
_words = st.sampled_from(["tiny", "count", "debug", "started", "completed", "ok", "high", "true", "asc(id)"])
_values = st.one_of(
    _text, _numbers, _times, _words, st.builds("{}({})".format, _operators, st.one_of(_times, _text))
)
_params = st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), _text), _values), max_size=8)


def _escape(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _encoded(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{_escape(name)}={_escape(value)}" for name, value in params)


def _raw(data: bytes) -> str:
    """Percent-encode every byte except the query's own separators, so the split is arbitrary too."""
    return "".join(chr(byte) if chr(byte) in "&=()" else f"%{byte:02X}" for byte in data)


_queries = st.one_of(_params.map(_encoded), st.binary(max_size=120).map(_raw))


def _assert_answered(reply: RawReply, *, refusals: tuple[int, ...], success_keys: set[str]) -> None:
    """Assert a 200 carrying one of `success_keys`, or one of `refusals` with the documented body."""
    assert reply.status in (200, *refusals), (reply.status, reply.body[:300])
    body = reply.json()
    if reply.status == 200:
        assert success_keys & body.keys(), body
    else:
        reply.error()


@FUZZ
@given(kind=st.sampled_from(KINDS), query=_queries)
def test_listing_always_answers(
    shared_simulator: RunningSimulator, shared_token: str, kind: str, query: str
) -> None:
    """Any query string on a listing gets a 200 page or a documented 400."""
    reply = get(shared_simulator.url, f"{API}/{kind}?{query}", shared_token)
    _assert_answered(reply, refusals=(400,), success_keys={"items", "count"})


@FUZZ
@given(
    kind=st.sampled_from(KINDS),
    segment=st.one_of(_numbers, _text).map(_escape) | st.binary(max_size=30).map(_raw),
)
def test_item_path_always_answers(
    shared_simulator: RunningSimulator, shared_token: str, kind: str, segment: str
) -> None:
    """Any path id gets an item, a 404 for an id that does not exist, or a 400 for one that is no integer."""
    reply = get(shared_simulator.url, f"{API}/{kind}/{segment}", shared_token)
    _assert_answered(reply, refusals=(400, 404), success_keys={"id"})
