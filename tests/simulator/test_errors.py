"""Bad requests get the documented error body: 400 for bad input, 404 for unknown ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simulator.models import ErrorBody

if TYPE_CHECKING:
    from .helpers import Api


class TestBadInput:
    """Everything that must be a 400."""

    @pytest.mark.parametrize(
        "params",
        [
            [("colour", "red")],
            [("state", "running")],
            [("priority", "urgent")],
            [("resultCode", "failed")],
            [("lod", "huge")],
            [("limit", "0")],
            [("limit", "ten")],
            [("limit", "5"), ("limit", "6")],
            [("id", "abc")],
            [("uuid", "not-a-uuid")],
            [("completedAt", "gt(yesterday)")],
            [("completedAt", "ge(2026-01-01T00:00:00Z)")],
            [("completedAt", "gt(1)"), ("completedAt", "gt(2)")],
            [("startedBy", "gt(x)")],
            [("order", "asc(colour)")],
            [("order", "sideways(id)")],
            [("order", "asc(id)"), ("order", "desc(id)")],
            [("allow_deleted", "maybe")],
            [("queue", "backup"), ("sustainable", "true")],
        ],
    )
    def test_is_400_with_the_documented_body(self, api: Api, params: list[tuple[str, str]]) -> None:
        """The request is refused with 400 and a body that parses as the documented error."""
        reply = api.get("/tasks", params)
        assert reply.status_code == 400, params
        ErrorBody.model_validate(reply.json())

    def test_count_lod_on_a_single_item_is_400(self, api: Api) -> None:
        """lod=count exists only on listings."""
        item = api.json("/tasks", [("limit", "1")])["items"][0]
        assert api.get(f"/tasks/{item['id']}", [("lod", "count")]).status_code == 400

    def test_non_numeric_id_is_400(self, api: Api) -> None:
        """/tasks/abc is a 400."""
        assert api.get("/tasks/abc").status_code == 400


class TestNotFound:
    """Unknown ids and paths."""

    @pytest.mark.parametrize("kind", ["tasks", "activities"])
    def test_unknown_id_is_404(self, api: Api, kind: str) -> None:
        """An id that does not exist is a 404 with the documented body."""
        reply = api.get(f"/{kind}/12345")
        assert reply.status_code == 404
        assert ErrorBody.model_validate(reply.json()).code == "NotFound"

    def test_unknown_path_is_404(self, api: Api) -> None:
        """A path outside the API is a 404."""
        assert api.get("/widgets").status_code == 404
