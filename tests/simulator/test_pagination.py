"""Cursor pagination: complete walks, stability under change, cursor-only pages, placement, caps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .helpers import Api, after_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import RunningSimulator


class TestWalk:
    """Walking every page."""

    def test_last_page_has_no_after(self, api: Api) -> None:
        """The final page carries no after cursor."""
        pages = list(api.pages("/tasks", [], limit=50))
        assert len(pages) > 1
        assert all(after_of(page) for page in pages[:-1])
        assert after_of(pages[-1]) is None

    def test_walk_equals_one_big_page(self, api: Api) -> None:
        """Small pages concatenate to exactly what one large page returns."""
        params = [("state", "completed"), ("order", "desc(completedAt)")]
        assert (
            api.walk("/activities", params, limit=9)
            == api.json("/activities", [*params, ("limit", "100000")])["items"]
        )

    def test_stable_while_the_workload_advances(self, api: Api, simulator: RunningSimulator) -> None:
        """Tasks completed throughout appear exactly once though the workload moves between pages."""
        before = {item["id"] for item in api.walk("/tasks", [("state", "completed")], limit=500)}
        seen: list[int] = []
        page = api.json("/tasks", [("state", "completed"), ("order", "asc(completedAt)"), ("limit", "25")])
        while True:
            seen.extend(item["id"] for item in page["items"])
            after = after_of(page)
            if not after:
                break
            simulator.workload.advance(20)  # completions and new tasks land between pages
            page = api.json("/tasks", [("after", after), ("limit", "25")])
        assert len(seen) == len(set(seen))
        assert before <= set(seen)
        assert len(seen) > len(before)  # completions that landed during the walk were picked up too


class TestCursorRules:
    """What may accompany a cursor."""

    def test_filters_beside_after_are_400(self, api: Api) -> None:
        """A later page with a filter next to after is a 400."""
        after = after_of(api.json("/tasks", [("limit", "5")]))
        reply = api.get("/tasks", [("after", str(after)), ("state", "started")])
        assert reply.status_code == 400

    def test_lod_and_limit_may_accompany_after(self, api: Api) -> None:
        """A cursor with limit and a different lod serves the next items at that lod."""
        first = api.json("/tasks", [("limit", "5"), ("lod", "tiny")])
        second = api.json("/tasks", [("after", str(after_of(first))), ("limit", "3"), ("lod", "long")])
        assert len(second["items"]) == 3
        assert "blockers" in second["items"][0]
        assert second["items"][0]["id"] > first["items"][-1]["id"]

    def test_forged_cursor_is_400(self, api: Api) -> None:
        """An edited or invented cursor is a 400 with the documented body."""
        after = str(after_of(api.json("/tasks", [("limit", "5")])))
        # One character of the signature changed, well before its end: the last base64
        # character may carry unused bits, and "AA" may already be the cursor's ending.
        at = len(after) - 5
        edited = after[:at] + ("B" if after[at] != "B" else "C") + after[at + 1 :]
        for forged in (edited, "not-a-cursor", "e30.AAAA"):
            reply = api.get("/tasks", [("after", forged)])
            assert reply.status_code == 400
            assert reply.json()["code"] == "BadRequest"

    def test_cursor_of_another_endpoint_is_400(self, api: Api) -> None:
        """A tasks cursor sent to /activities is refused."""
        after = str(after_of(api.json("/tasks", [("limit", "5")])))
        assert api.get("/activities", [("after", after)]).status_code == 400


class TestSettings:
    """Cursor placement and the page-size cap."""

    def test_top_level_cursors(self, simulator_factory: Callable[..., RunningSimulator]) -> None:
        """cursor_placement=top puts the cursor at cursors.after, as in the reference example."""
        client = Api(simulator_factory(cursor_placement="top"))
        page = client.json("/tasks", [("limit", "5")])
        assert "paging" not in page
        assert page["cursors"]["after"]
        assert len(client.walk("/tasks", [], limit=40)) == client.json("/tasks", [("lod", "count")])["count"]
        client.close()

    def test_page_size_is_silently_capped(self, simulator_factory: Callable[..., RunningSimulator]) -> None:
        """max_page_size shortens pages without an error, and the cursor still leads on."""
        client = Api(simulator_factory(max_page_size=10))
        page = client.json("/tasks", [("limit", "500")])
        assert len(page["items"]) == 10
        assert after_of(page)
        client.close()

    def test_missing_limit_uses_the_default_page(
        self, simulator_factory: Callable[..., RunningSimulator]
    ) -> None:
        """Without limit a first page holds default_page_size items and a cursor."""
        client = Api(simulator_factory(default_page_size=20))
        page = client.json("/tasks")
        assert len(page["items"]) == 20
        assert after_of(page)
        client.close()
