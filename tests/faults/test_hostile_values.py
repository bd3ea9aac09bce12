"""Hostile values the simulator's faults cannot send, rewritten into real replies on their way.

A lone surrogate in a tenant name, numbers no parser should trust, nesting a parser
cannot follow, a raw byte that is not UTF-8 inside one item, one task listed on two
pages: each fails at most the source that read it (with a reason), or is absorbed,
while /metrics keeps answering and the figures equal the ground truth once it heals.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pytest

from exporter.selfmetrics import SOURCES
from tests.faults.checks import fail_and_recover, scenario
from tests.faults.truth import assert_counts_exact

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.faults.rewriter import Rewrite
    from tests.faults.rig import Rig

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

TASKS = "/api/task_manager/v2/tasks"
ACTIVITIES = "/api/task_manager/v2/activities"
TOKEN = "/api/2/idp/token"  # noqa: S105 - a URL path, not a password
TASK_LISTINGS = ("open_tasks", "completed_tasks")
SKIPPED = "acronis_exporter_items_skipped_total"
FIRST_ITEM = b'"items":[{'


def is_open_listing(path: str) -> bool:
    """Tell an open-work listing's first page (filtered by open states) from any other request."""
    return "lod=count" not in path and "state=enqueued" in path


def is_count(path: str) -> bool:
    """Tell a lod=count request."""
    return "lod=count" in path


def into_first_item(fragment: bytes, *, where: Callable[[str], bool] = lambda _: True) -> Rewrite:
    """Insert raw JSON text as the first member of each listing's first item."""

    def rewrite(path: str, body: bytes) -> bytes:
        return body.replace(FIRST_ITEM, FIRST_ITEM + fragment + b",", 1) if where(path) else body

    return rewrite


def listing_cursors(raw: bytes, *, whole_paging: bool = False) -> Rewrite:
    """Replace every listing page's cursors object (or its whole `paging`) with raw JSON text."""
    found, key = (
        (rb'"paging":\{"cursors":\{[^{}]*\}\}', b"paging")
        if whole_paging
        else (rb'"cursors":\{[^{}]*\}', b"cursors")
    )

    def rewrite(path: str, body: bytes) -> bytes:
        return body if is_count(path) else re.sub(found, b'"' + key + b'":' + raw, body)

    return rewrite


def count_reply(raw: bytes) -> Rewrite:
    """Replace the number of every lod=count reply with raw JSON text."""

    def rewrite(path: str, body: bytes) -> bytes:
        return re.sub(rb":-?\d+", b":" + raw, body, count=1) if is_count(path) else body

    return rewrite


def token_reply(expires_in: bytes) -> Rewrite:
    """Give every token reply an ``expires_in`` of raw JSON text."""

    def rewrite(_path: str, body: bytes) -> bytes:
        return body.replace(b'{"access_token"', b'{"expires_in":' + expires_in + b',"access_token"', 1)

    return rewrite


def open_items(edit: Callable[[dict[str, Any]], None]) -> Rewrite:
    """Edit every item of open-work first pages, re-encoded as Python's json does (surrogates escaped)."""

    def rewrite(path: str, body: bytes) -> bytes:
        if not is_open_listing(path):
            return body
        document = json.loads(body)
        for item in document["items"]:
            edit(item)
        return json.dumps(document).encode()

    return rewrite


class ListedTwice:
    """Put the last item of each open-task walk's first page on its second page too."""

    def __init__(self) -> None:
        self._carry: dict[str, dict[str, Any]] = {}  # cursor of a first page -> its last item
        self.injected = 0

    def __call__(self, path: str, body: bytes) -> bytes:
        """Remember a first page's last item under its cursor; prepend it to the page that cursor asks for."""
        document = json.loads(body)
        if not isinstance(document, dict) or "items" not in document:
            return body  # a lod=count reply
        after = re.search(r"[?&]after=([^&]+)", path)
        carried = self._carry.pop(unquote(after[1]), None) if after else None
        if carried is not None and document["items"]:
            document["items"].insert(0, carried)
            self.injected += 1
        cursor = document.get("paging", {}).get("cursors", {}).get("after")
        if is_open_listing(path) and cursor and document["items"]:
            self._carry[cursor] = document["items"][-1]
        return json.dumps(document).encode()


class TestStringsThatMustRender:
    """Strings from the API render, whatever the API sent."""

    def test_a_lone_surrogate_in_a_tenant_name_renders(self, rig: Rig) -> None:
        r"""A tenant name holding "\udc80" renders with U+FFFD; no scrape fails, no source fails."""

        def rename(item: dict[str, Any]) -> None:
            item["tenant"] = {**item["tenant"], "id": "990001", "name": "Ten\udc80ant \ud800"}

        with scenario(rig):
            rig.rewriter.rewrite(TASKS, open_items(rename))
            rig.advance(10)
            seen = rig.wait_metrics(
                lambda now: any(
                    labels.get("tenant_id") == "990001" for labels, _ in now.matching("acronis_tenant_info")
                ),
                what="the renamed tenant in acronis_tenant_info",
            )
            names = {labels["tenant_name"] for labels, _ in seen.matching("acronis_tenant_info")}
            assert "Ten\ufffdant \ufffd" in names
            assert seen.value("acronis_up") == 1, "a tenant name must not fail a source"
            rig.rewriter.clear()
            rig.wait_healthy()
            assert_counts_exact(rig)


class TestUnreadableValues:
    """Values no parser should trust fail the source that read them, with a reason; the rest refresh."""

    @pytest.mark.parametrize(
        ("rewrite", "failed", "reason"),
        [
            pytest.param(
                into_first_item(b'"assignCount":' + b"7" * 5000), TASK_LISTINGS, "decode", id="5000-digits"
            ),
            pytest.param(
                into_first_item(b'"x":' + b"[" * 100_000 + b"]" * 100_000),
                TASK_LISTINGS,
                "decode",
                id="deep-nesting",
            ),
            pytest.param(into_first_item(b'"x":NaN'), TASK_LISTINGS, "decode", id="nan"),
            pytest.param(into_first_item(b'"x":1e999'), TASK_LISTINGS, "decode", id="1e999"),
            pytest.param(
                listing_cursors(b'{"after":12345}'), TASK_LISTINGS, "pagination", id="numeric-cursor"
            ),
            pytest.param(listing_cursors(b'{"after":["x"]}'), TASK_LISTINGS, "pagination", id="array-cursor"),
            pytest.param(
                listing_cursors(b'"x"', whole_paging=True), TASK_LISTINGS, "pagination", id="paging-string"
            ),
            pytest.param(count_reply(b"-5"), ("task_counts",), "shape", id="negative-count"),
            pytest.param(count_reply(b"9" * 400), ("task_counts",), "shape", id="400-digit-count"),
            pytest.param(count_reply(b"1e999"), ("task_counts",), "decode", id="infinite-count"),
        ],
    )
    def test_a_hostile_value_fails_only_its_source(
        self, rig: Rig, rewrite: Rewrite, failed: tuple[str, ...], reason: str
    ) -> None:
        """The source that read the value fails with the reason; the others refresh; truth holds after."""
        with scenario(rig) as current:
            fail_and_recover(
                current, lambda: rig.rewriter.rewrite(TASKS, rewrite), failed=failed, reason=reason
            )

    @pytest.mark.parametrize(
        ("expires_in", "reason"),
        [(b"1e999", "decode"), (b"9" * 400, "shape"), (b"NaN", "decode")],
        ids=["1e999", "400-digits", "nan"],
    )
    def test_a_token_reply_with_an_impossible_lifetime_fails_the_token_request(
        self, rig: Rig, expires_in: bytes, reason: str
    ) -> None:
        """An expires_in no token has fails the mint with a reason; every source fails; truth holds after."""

        def inject() -> None:
            rig.rewriter.rewrite(TOKEN, token_reply(expires_in), method="POST")
            rig.sim.faults.expire_tokens()

        with scenario(rig) as current:
            before = rig.scrape()
            fail_and_recover(current, inject, failed=SOURCES, reason=reason)
            after = rig.scrape()
            assert after.total("acronis_exporter_token_request_failures_total") > before.total(
                "acronis_exporter_token_request_failures_total"
            )


class TestItemsSkippedAlone:
    """A flaw in one item costs that item, counted, never its page or its source."""

    def test_an_invalid_utf8_byte_skips_only_its_item(self, rig: Rig) -> None:
        """A raw 0xFF inside one item's string skips that item as bad_encoding; the source stays up."""
        with scenario(rig):
            before = rig.scrape()
            rig.advance(20)
            rig.rewriter.rewrite(TASKS, into_first_item(b'"note":"\xff\xfe"'))
            after = rig.wait_metrics(
                lambda now: (
                    now.total(SKIPPED, source="open_tasks", reason="bad_encoding")
                    > before.total(SKIPPED, source="open_tasks", reason="bad_encoding")
                ),
                what="an open task skipped as bad_encoding",
            )
            assert after.value("acronis_up") == 1, "one bad byte must not fail a source"
            rig.rewriter.clear()
            rig.wait_healthy()
            assert_counts_exact(rig)

    def test_a_task_listed_on_two_pages_counts_once(self, rig: Rig) -> None:
        """The same open task on two pages of one walk is counted once: open work equals the truth."""
        twice = ListedTwice()
        with scenario(rig):
            rig.rewriter.rewrite(TASKS, twice)
            rig.advance(10)
            rig.wait_metrics(lambda _: twice.injected >= 2, what="a task listed twice in two walks")
            assert_counts_exact(rig)  # while the duplicates are still being served
            assert twice.injected >= 3
