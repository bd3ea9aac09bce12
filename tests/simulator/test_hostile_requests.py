"""Hostile query strings and paths get the answer the API would give, never a dropped connection.

Every case goes over a real socket byte for byte (`rawhttp`), so a server that hangs up
fails the test with RemoteDisconnected. Out-of-range numbers are the heart of it: a time
past int64 nanoseconds is a valid time that matches nothing (gt) or every set time (lt),
an id that cannot exist is a 404 or matches nothing, a limit out of range is a 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

import pytest

from .rawhttp import query_string

if TYPE_CHECKING:
    from .rawhttp import Client

KINDS = ("tasks", "activities")
FAR_FUTURE = [
    "2999-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "9999-12-31T23:59:59-23:59",
    "Fri, 01 Jan 2999 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 +0000",
    "Saturday, 31-Dec-69 23:59:59 GMT",  # RFC850's two-digit year: 2069, far enough
    "99999999999",
    "99999999999999999999",
    "9" * 400,
    "99999999999999999999ns",
    "9223372036854775808ns",
]
FAR_PAST = ["0001-01-01T00:00:00Z", "Mon, 01 Jan 0001 00:00:00 GMT", "0", "0ns"]
IMPOSSIBLE_IDS = ["99999999999999999999", "-99999999999999999999", "9223372036854775808", "9" * 4000]


class TestTimesBeyondTheRange:
    """A valid time outside int64 nanoseconds is still a time: it compares, it does not crash."""

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("when", FAR_FUTURE)
    def test_far_future_matches_nothing_after_and_everything_before(
        self, raw_client: Client, kind: str, when: str
    ) -> None:
        """gt(far future) and eq(far future) match nothing; lt(far future) matches every set time."""
        every_completed = raw_client.count(kind, [("completedAt", "gt(0)")])
        assert every_completed > 0
        assert raw_client.count(kind, [("completedAt", f"gt({when})")]) == 0
        assert raw_client.count(kind, [("completedAt", when)]) == 0
        assert raw_client.count(kind, [("completedAt", f"lt({when})")]) == every_completed
        page = raw_client.get(f"/{kind}", query_string([("completedAt", f"gt({when})")]))
        assert (page.status, page.json()["items"]) == (200, [])

    @pytest.mark.parametrize("when", FAR_PAST)
    def test_far_past_matches_everything_after_and_nothing_before(
        self, raw_client: Client, when: str
    ) -> None:
        """gt(far past) matches every set time; lt(far past) matches nothing."""
        every_completed = raw_client.count("tasks", [("completedAt", "gt(0)")])
        assert raw_client.count("tasks", [("completedAt", f"gt({when})")]) == every_completed
        assert raw_client.count("tasks", [("completedAt", f"lt({when})")]) == 0

    @pytest.mark.parametrize(
        "name", sorted({"enqueuedAt", "assignedAt", "startedAt", "updatedAt", "completedAt"})
    )
    def test_every_time_filter_takes_a_far_future_range(self, raw_client: Client, name: str) -> None:
        """A range ending past int64 keeps every set time after its start, on every time filter."""
        everything = raw_client.count("tasks", [(name, "gt(0)")])
        assert raw_client.count("tasks", [(name, "gt(0)"), (name, "lt(99999999999999999999)")]) == everything

    @pytest.mark.parametrize(
        "when",
        [
            "99999-01-01T00:00:00Z",  # RFC3339 years have four digits
            "2026-02-31T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:60Z",
            "2026-01-01T00:00:00+24:00",
            "Mon, 32 Jan 2026 00:00:00 GMT",
            "Mon, 01 Jan 2026 00:00:00 +9999",
            "Mon, 01 Jan 2026 00:00:00 XYZ",
            "\u0661\u0662",  # Arabic-Indic digits are not Unix seconds
            "-1",
            "1e10",
            "12ns3",
            "",
        ],
    )
    def test_impossible_calendar_fields_are_400(self, raw_client: Client, when: str) -> None:
        """A time that is no time at all (31 February, hour 24, another script's digits) is a 400."""
        context = raw_client.refused("/tasks", query_string([("completedAt", f"gt({when})")]))
        assert context["parameter"] == "completedAt"


class TestIdsThatCannotExist:
    """Ids outside int64: a 404 on the item path, nothing matched by id filters."""

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("item_id", [*IMPOSSIBLE_IDS, "9" * 5000, "-1", "0", "+0"])
    def test_item_path_is_404(self, raw_client: Client, kind: str, item_id: str) -> None:
        """GET /{kind}/{impossible id} is 404 NotFound with the documented body."""
        reply = raw_client.get(f"/{kind}/{quote(item_id)}")
        assert reply.status == 404, reply.body[:300]
        assert reply.error().code == "NotFound"

    @pytest.mark.parametrize("item_id", ["abc", "1.5", "0x10", "1_000", " 1", "%FF", "%00", "\u0661"])
    def test_non_integer_item_path_is_400(self, raw_client: Client, item_id: str) -> None:
        """A path id that is no integer is a 400 naming `id`."""
        context = raw_client.refused(f"/tasks/{quote(item_id, safe='%')}", "")
        assert context["parameter"] == "id"

    @pytest.mark.parametrize(
        ("kind", "name"),
        [
            ("tasks", "id"),
            ("tasks", "workflowId"),
            ("activities", "taskId"),
            ("activities", "parentActivityId"),
        ],
    )
    @pytest.mark.parametrize("value", IMPOSSIBLE_IDS)
    def test_id_filters_match_nothing(self, raw_client: Client, kind: str, name: str, value: str) -> None:
        """An impossible id in a filter matches nothing, and does not spoil the other values."""
        assert raw_client.count(kind, [(name, value)]) == 0
        real = raw_client.get(f"/{kind}", query_string([("limit", "1")])).json()["items"][0]["id"]
        items = raw_client.get(f"/{kind}", query_string([("id", value), ("id", str(real))])).json()["items"]
        assert [item["id"] for item in items] == [real]


class TestLimits:
    """limit is an integer from 1 to int64's maximum; anything else is a 400 naming it."""

    BAD: ClassVar[list[str]] = [
        "", "0", "-1", "1.5", "1e3", " 5", "5 ", "0x10", "1_000", "\u0661",
        "99999999999999999999", "9223372036854775808", "9" * 5000,
    ]  # fmt: skip

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("limit", BAD)
    def test_bad_limit_is_400(self, raw_client: Client, kind: str, limit: str) -> None:
        """On a first page."""
        assert raw_client.refused(f"/{kind}", query_string([("limit", limit)]))["parameter"] == "limit"

    @pytest.mark.parametrize("limit", BAD)
    def test_bad_limit_beside_a_cursor_is_400(self, raw_client: Client, limit: str) -> None:
        """On a later page."""
        after = raw_client.get("/tasks", "limit=2").json()["paging"]["cursors"]["after"]
        assert (
            raw_client.refused("/tasks", query_string([("after", after), ("limit", limit)]))["parameter"]
            == "limit"
        )

    def test_the_largest_limit_is_one_page_of_everything(self, raw_client: Client) -> None:
        """limit=2^63-1 is valid: every item on one page, no cursor."""
        page = raw_client.get("/tasks", "limit=9223372036854775807").json()
        assert len(page["items"]) == raw_client.count("tasks", [])
        assert "after" not in page["paging"]["cursors"]
