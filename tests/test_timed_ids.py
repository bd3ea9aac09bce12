"""The tracker's remembered ids answer exactly as a plain id -> completedAt mapping would.

``TimedIds`` keeps ids in one-second buckets so that counting a band and forgetting what
fell behind H need not scan every id. Any sequence of remembering, forgetting, counting
and looking up must give what the mapping it replaced gives, at bucket edges, for whole
seconds, for ids remembered again at another time, and for times no parser makes
(infinities, NaN).
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from exporter.timed_ids import TimedIds
from tests.support.properties import reproducible

IDS = st.sampled_from([f"id-{n}" for n in range(12)])
# Near a few whole seconds, on them, and the values no RFC 3339 parse returns.
TIMES = st.one_of(
    st.integers(min_value=0, max_value=6).map(float),
    st.floats(min_value=-1.0, max_value=7.0, allow_nan=False),
    st.sampled_from([math.inf, -math.inf, math.nan, 1_790_000_000.5, 2.999999999]),
)
ADD = st.tuples(st.just("add"), st.dictionaries(IDS, TIMES, max_size=6))
FORGET = st.tuples(st.just("forget"), TIMES)
COUNT = st.tuples(st.just("count"), st.tuples(TIMES, TIMES))
WITHIN = st.tuples(st.just("within"), st.tuples(IDS, TIMES, TIMES))
OPERATIONS = st.lists(st.one_of(ADD, FORGET, COUNT, WITHIN), max_size=30)


def _check(ids: TimedIds, reference: dict[str, float]) -> None:
    assert len(ids) == len(reference)
    assert set(ids) == set(reference)


@reproducible(800)
@given(OPERATIONS)
def test_every_answer_is_the_plain_mappings(operations: list[tuple[str, Any]]) -> None:
    """Remember, forget through H, count a band and look an id up: as a dict does, step by step."""
    ids, reference = TimedIds(), dict[str, float]()
    for name, argument in operations:
        if name == "add":
            ids.add(argument)
            reference |= argument
        elif name == "forget":
            ids.forget_through(argument)
            reference = {key: at for key, at in reference.items() if at > argument}
        elif name == "count":
            low, high = argument
            assert ids.count_between(low, high) == sum(1 for at in reference.values() if low < at < high)
        else:
            key, low, high = argument
            assert ids.within(key, low, high) == (key in reference and low < reference[key] < high)
        _check(ids, reference)


def test_a_band_of_whole_buckets_and_cut_ones() -> None:
    """A band that cuts two buckets counts only the ids strictly inside it."""
    ids = TimedIds()
    ids.add({"a": 10.0, "b": 10.5, "c": 11.0, "d": 11.9, "e": 12.0, "f": 12.5})
    assert ids.count_between(10.0, 12.5) == 4  # b, c, d, e: 10.0 and 12.5 are the open bounds
    assert ids.count_between(10.0, math.inf) == 5
    ids.forget_through(11.0)
    assert sorted(ids) == ["d", "e", "f"]
    assert "a" not in ids
    assert "d" in ids
