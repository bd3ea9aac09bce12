"""Open walks fold fast-path records straight, exactly as they fold the tolerant path's items.

``OpenTaskScan.add_record`` and ``OpenActivityScan.add_record`` build no item and parse a
start time only where it may be the oldest yet (same-shape RFC 3339 strings compared as
strings). Fed the same generated walks, good and hostile (broken fields, other time shapes,
invalid dates of the API's shape, pages the typed decoder leaves to the tolerant one), both
ways give the same groups, oldest starts, flags, tenants and skip counts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.models import parse_activity, parse_task
from exporter.payloads import BodyError, decode_json
from exporter.rfc3339 import canonical, not_before, parse_time
from exporter.sources import OpenActivityScan, OpenTaskScan
from exporter.typed_decode import ActivityRecord, TaskRecord, decode_listing
from exporter.vocabulary import PRIORITIES, TASK_STATES
from tests.support.properties import reproducible

PROPERTY = reproducible(400)

# Times near each other in many shapes: the API's own (nine fraction digits), other
# lengths, an offset, lower-case separators, padding, other scripts' digits, and strings
# of the API's shape and length that are no time at all (31 February, hour 24, 1969).
canonical_times = st.builds(
    "2026-12-01T16:{:02d}:{:02d}.{:09d}Z".format,
    st.integers(10, 12),
    st.integers(0, 59),
    st.sampled_from([0, 1, 500_000_000, 999_999_999]),
)
odd_times = st.sampled_from(
    [
        "",
        "2026-12-01T16:11:27Z",
        "2026-12-01T16:11:27.5Z",
        "2026-12-01t16:10:27.000000000Z",
        "2026-12-01T16:11:27.000000000z",
        "2026-12-01T17:11:27.00000000+01:00",
        "2026-12-01T15:11:27.0000000-01:00",
        "2026-12-01T16:09:27.00000000Z ",
        " 2026-12-01T16:09:27.00000000Z",
        "\uff12026-12-01T16:09:27.000000000Z",  # a fullwidth 2: a digit to int(), not to [0-9]
        "2026-02-31T16:11:27.000000000Z",
        "2026-12-01T24:11:27.000000000Z",
        "1969-12-31T23:59:59.000000000Z",
        "2026-12-01T16:09:27.00000000ZZ",
        "not a time at all, 30 chars..",
    ]
)
times = st.one_of(canonical_times, odd_times)
odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.text(max_size=4),
    st.sampled_from([*TASK_STATES, *PRIORITIES, "bogus", ""]),
    st.just({}),
    st.just([1]),
    st.fixed_dictionaries({"id": st.one_of(st.none(), st.integers(), st.text(max_size=3))}),
)
BENDABLE = [
    "id", "idString", "state", "type", "tenant", "queue", "priority", "startedAt", "enqueuedAt",
    "createdAt", "cancelRequested", "assignCount", "blockers", "tenant_id", "result_code", "resultCode",
]  # fmt: skip


@st.composite
def items(draw: st.DrawFn) -> dict[str, Any]:
    """Draw an open task or activity of a few groups, then maybe bend some of its fields."""
    tenant = draw(st.sampled_from(["1", "2"]))
    item: dict[str, Any] = {
        "id": draw(st.integers(1, 40)),
        "idString": draw(st.sampled_from(["", "x"])) + str(draw(st.integers(1, 40))),
        "state": draw(st.sampled_from(["enqueued", "started", *TASK_STATES, "queued"])),
        "type": draw(st.sampled_from(["backup", ""])),
        "tenant": {"id": tenant, "name": f"T{tenant}", "locator": f"/1/{tenant}/", "uuid": "u"},
        "result": {"code": ""},
        "queue": draw(st.sampled_from(["a", "a", "b", ""])),
        "priority": draw(st.sampled_from([*PRIORITIES, ""])),
        "startedAt": draw(times),
        "enqueuedAt": draw(times),
        "createdAt": draw(times),
        "completedAt": "",
        "updatedAt": draw(canonical_times),
        "cancelRequested": draw(st.booleans()),
        "assignCount": draw(st.integers(0, 3)),
        "blockers": draw(st.sampled_from([[], [{"id": "b"}]])),
    }
    if draw(st.integers(0, 3)):
        return item  # most items of most pages are left whole, so that most pages take the typed path
    for name in draw(st.lists(st.sampled_from(BENDABLE), max_size=3)):
        if draw(st.booleans()) and name in item:
            del item[name]
        else:
            item[name] = draw(st.one_of(odd_values, times))
    return item


@st.composite
def pages(draw: st.DrawFn) -> list[dict[str, Any] | None]:
    """Draw a page of items; now and then one is null, which leaves the page to the tolerant path."""
    page: list[dict[str, Any] | None] = list(draw(st.lists(items(), max_size=8)))
    if not draw(st.integers(0, 4)):
        page.insert(draw(st.integers(0, len(page))), None)
    return page


walks = st.lists(pages(), max_size=6)


def fold(resource: str, pages: list[bytes], *, typed: bool) -> OpenTaskScan | OpenActivityScan:
    """Fold a walk's pages: every item parsed, or as the client reads them (records where it can)."""
    scan: OpenTaskScan | OpenActivityScan = OpenTaskScan() if resource == "tasks" else OpenActivityScan()
    parse = parse_task if resource == "tasks" else parse_activity
    for content in pages:
        listing = decode_listing(resource, content) if typed else None
        if listing is None:
            body = decode_json(content)
            assert isinstance(body, dict)
            for raw in body["items"]:
                scan.add(parse(raw))  # type: ignore[arg-type]  # a task scan gets tasks
            continue
        for record in listing.items:
            assert isinstance(record, TaskRecord | ActivityRecord)
            scan.add_record(record)  # type: ignore[arg-type]  # a task scan gets task records
    return scan


def outcome(scan: OpenTaskScan | OpenActivityScan) -> dict[str, object]:
    """Everything a scan hands on (its id memory aside)."""
    return {name: value for name, value in vars(scan).items() if name not in {"seen", "_oldest_text"}}


@pytest.mark.parametrize("resource", ["tasks", "activities"])
@PROPERTY
@given(walk=walks)
def test_records_fold_as_items_do(resource: str, walk: list[list[dict[str, Any] | None]]) -> None:
    """Same groups, oldest starts, flags, tenants, listed and skipped counts on every walk."""
    pages = []
    for page in walk:
        content = json.dumps({"items": page}, ensure_ascii=False).encode()
        try:
            decode_json(content)
        except BodyError:  # the client fails the whole source on such a page: no fold to compare
            continue
        pages.append(content)
    assert outcome(fold(resource, pages, typed=True)) == outcome(fold(resource, pages, typed=False))


@PROPERTY
@given(text=st.one_of(times, st.text(max_size=31)), than=canonical_times)
def test_a_string_that_sorts_after_the_oldest_is_no_earlier(text: str, than: str) -> None:
    """Where ``not_before`` answers without parsing, parsing would not have found an earlier time."""
    assert canonical(than)
    if not_before(text, than):
        parsed = parse_time(text)
        assert parsed is None or parsed >= parse_time(than)  # type: ignore[operator]


def test_the_oldest_start_wins_whatever_its_shape() -> None:
    """An earlier start in another shape (lower case ``t``) beats canonical ones that sort before it."""
    content = json.dumps(
        {
            "items": [
                {
                    "id": n,
                    "state": "enqueued",
                    "queue": "q",
                    "type": "t",
                    "tenant": {"id": "1"},
                    "enqueuedAt": at,
                }
                for n, at in enumerate(
                    [
                        "2026-12-01T16:11:27.000000000Z",
                        "2026-12-01t16:10:26.000000000Z",  # the earliest, one letter off the API's shape
                        "2026-12-01T16:10:28.000000000Z",
                        "2026-12-01T17:10:29.00000000+01:00",  # 16:10:29, another length
                        "2026-12-01T16:10:26.500000000Z",
                    ]
                )
            ]
        }
    ).encode()
    scan = fold("tasks", [content], typed=True)
    assert isinstance(scan, OpenTaskScan)
    assert scan.oldest == {("enqueued", "q"): parse_time("2026-12-01T16:10:26Z")}
