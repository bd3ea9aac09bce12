"""The fast listing path (msgspec records) reads every page exactly as the tolerant path does.

For generated pages, good and hostile (nulls, missing fields, wrong types, unknown enums,
bad timestamps, huge numbers, bytes that are not UTF-8, extra fields, seed 002's shape),
a page the typed decoder answers for gives the same items, defects, cursor and skip counts
as ``payloads.decode_json`` plus ``models.parse_*``; any other page is left to that path.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.errors import PaginationError
from exporter.models import parse_activity, parse_task
from exporter.payloads import BodyError, cursor_after, decode_json
from exporter.sources import OpenActivityScan, OpenTaskScan
from exporter.typed_decode import decode_listing
from exporter.typed_items import links_of, read_activity, read_task
from exporter.vocabulary import PRIORITIES, RESULT_CODES, TASK_STATES
from tests.support.properties import reproducible

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Callable

PROPERTY = reproducible(300)
TIME = "2026-12-01T16:11:27.711707904Z"
CAMEL: dict[str, Any] = {
    "id": 1540368852603781120,
    "idString": "1540368852603781120",
    "state": "started",
    "type": "BackupPlan",
    "tenant": {"id": "1496276", "uuid": "064cbd77", "name": "Chen Wei", "locator": "/1/1496262/1496276/"},
    "result": {"code": ""},
    "startedAt": TIME,
    "completedAt": "",
    "updatedAt": TIME,
    "enqueuedAt": "2026-12-01T14:56:54.405220864Z",
    "createdAt": TIME,
    "queue": "backup",
    "priority": "normal",
    "cancelRequested": False,
    "assignCount": 1,
    "blockers": [],
    "policy": {"id": "0459cdde", "name": "Backup plan 1", "type": "backup"},
    "resource": {"id": "0a8b92ab", "name": "DESKTOP-4D2A6A", "type": "resource.machine"},
    "progress": {"current": 80, "bytesProcessed": 26628797235},
}
SNAKE: dict[str, Any] = {
    "id": "task-uuid-001",
    "state": "completed",
    "type": "backup",
    "tenant_id": "tenant-1",
    "policy_id": "policy-1",
    "resource_id": "resource-1",
    "result_code": "ok",
    "startedAt": TIME,
    "completedAt": TIME,
}

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["", TIME, "2026-02-31T00:00:00Z", "2026-12-01t16:11:27Z", "1969-12-31T23:59:59Z"]),
    st.sampled_from([*TASK_STATES, *RESULT_CODES, *PRIORITIES, "bogus"]),
    st.just({}),
    st.just([1]),
    st.fixed_dictionaries({"id": st.one_of(st.none(), st.integers(), st.text(max_size=4))}),
    st.fixed_dictionaries({"code": st.one_of(st.none(), st.integers(), st.sampled_from(RESULT_CODES))}),
)
FIELDS = sorted({*CAMEL, *SNAKE, "executor_id", "paging"})
# Raw text put into an item after serialising: what json.dumps cannot write.
RAW_SNIPPETS = [b"1e999", b"-2.5E+400", b"7" * 400, b'"\xff\xfe"', b'"\\udc80"', b"1E5", b'"a:1e999"']


@st.composite
def items(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a good item of either shape, then bend it: fields dropped, replaced or added."""
    item = dict(draw(st.sampled_from([CAMEL, SNAKE])))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        if draw(st.booleans()) and name in item:
            del item[name]
        else:
            item[name] = draw(odd_values)
    return item


@st.composite
def pages(draw: st.DrawFn) -> bytes:
    """Draw a listing body: a few items, a cursor somewhere, maybe a raw hostile snippet."""
    body: dict[str, Any] = {"items": draw(st.lists(items(), max_size=4))}
    cursor = draw(st.one_of(st.none(), st.sampled_from(["", "next", 5, ["x"], {}])))
    if cursor is not None:
        body[draw(st.sampled_from(["cursors", "paging"]))] = (
            {"after": cursor} if draw(st.booleans()) else {"cursors": {"after": cursor}}
        )
    text = json.dumps(body, ensure_ascii=draw(st.booleans())).encode()
    if body["items"] and draw(st.booleans()):
        snippet = draw(st.sampled_from(RAW_SNIPPETS))
        text = text.replace(b'{"', b'{"extra":' + snippet + b',"', 1)
    return text


def tolerant(resource: str, content: bytes) -> tuple[list[Any], str | None] | None:
    """Read a page as the tolerant path does; None where it refuses the body."""
    parse: Callable[[object], Any] = parse_task if resource == "tasks" else parse_activity
    try:
        body = decode_json(content)
    except BodyError:
        return None
    raw = body.get("items") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        return None
    try:
        after = cursor_after(body, f"/{resource}")
    except PaginationError:
        return None
    return [parse(item) for item in raw], after


def skips(resource: str, parsed: list[Any]) -> tuple[Counter[str], object]:
    """Fold the items as an open walk does: the skip counts and what was kept."""
    scan: OpenTaskScan | OpenActivityScan = OpenTaskScan() if resource == "tasks" else OpenActivityScan()
    for item in parsed:
        scan.add(item)
    return scan.skipped, scan.groups


@pytest.mark.parametrize("resource", ["tasks", "activities"])
@PROPERTY
@given(content=pages())
def test_typed_path_reads_a_page_as_the_tolerant_path(resource: str, content: bytes) -> None:
    """Same items (defects too), cursor and skip counts; what it cannot vouch for, it leaves."""
    typed = decode_listing(resource, content)
    expected = tolerant(resource, content)
    if typed is None:
        return  # the client reads this page the tolerant way: nothing to compare
    assert expected is not None, "the typed path accepted a body the tolerant path refuses"
    read = read_task if resource == "tasks" else read_activity
    got = [read(record) for record in typed.items]
    assert got == expected[0]
    assert typed.after == expected[1]
    assert skips(resource, got) == skips(resource, expected[0])
    if resource == "tasks":
        raw = json.loads(content)["items"]
        assert [links_of(r) for r in typed.items] == [
            {role: links_of(one).get(role) for role in ("resource", "policy")} for one in raw
        ]


@pytest.mark.parametrize(("item", "resource"), [(CAMEL, "tasks"), (SNAKE, "tasks"), (CAMEL, "activities")])
def test_clean_pages_take_the_typed_path(item: dict[str, Any], resource: str) -> None:
    """The API's own pages (and seed 002's) are read by the fast path, not left to the slow one."""
    content = json.dumps({"items": [item, item], "paging": {"cursors": {"after": "x"}}}).encode()
    typed = decode_listing(resource, content)
    assert typed is not None
    assert typed.after == "x"


@pytest.mark.parametrize("snippet", RAW_SNIPPETS)
def test_bodies_the_tolerant_path_refuses_are_left_to_it(snippet: bytes) -> None:
    """An overflowing number, too many digits, bytes that are not UTF-8, a lone surrogate."""
    content = b'{"items":[{"extra":' + snippet + b',"state":"started"}]}'
    if decode_listing("tasks", content) is not None:
        expected = tolerant("tasks", content)
        assert expected is not None
        assert [read_task(r) for r in decode_listing("tasks", content).items] == expected[0]  # type: ignore[union-attr]
