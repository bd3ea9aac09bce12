"""The Task Manager endpoints: list, count and get tasks and activities.

Every served item goes through the pydantic models, so the simulator cannot
serve a shape the reference does not have (faults that corrupt items apply after),
except the items a test injected verbatim (simulator/injection.py).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from simulator import listing, render, schema
from simulator.api_errors import bad_request, not_found
from simulator.injection import Injections
from simulator.models import Activity, Task
from simulator.timefmt import INT64_MAX, INT64_MIN, ascii_int

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simulator.config import SimulatorConfig
    from simulator.cursors import CursorCodec
    from simulator.faults import Faults
    from simulator.population import World
    from simulator.store import Store
    from simulator.token_endpoint import Grant

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "tasks": TypeAdapter(list[Task]),
    "activities": TypeAdapter(list[Activity]),
}
_SIGNED_INTEGER = re.compile(r"[+-]?[0-9]+")
_UNKNOWN_ENUMS = {"state": "suspended", "priority": "urgent"}
_CORRUPTED_FIELDS = ("tenant", "queue", "type", "startedAt", "completedAt", "result")


@dataclass
class Reply:
    """A response before encoding: status, JSON-able body, extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class TaskManagerApi:
    """Answers GET /tasks, /tasks/{id}, /activities and /activities/{id}."""

    def __init__(
        self, store: Store, world: World, codec: CursorCodec, *, config: SimulatorConfig, faults: Faults
    ) -> None:
        self._store, self._world, self._codec = store, world, codec
        self._config, self._faults = config, faults
        self._serials = itertools.count(1)  # makes every cursor of an endless chain distinct
        self.injected = Injections(store, world)  # POST /_sim/items

    def list_items(self, kind: str, path: str, params: Sequence[tuple[str, str]], grant: Grant) -> Reply:
        """List or count items."""
        query = listing.parse(kind, params, self._codec)
        if query.lod == "count":
            sql = listing.count_sql(query, grant.locator)
            return Reply(200, {self._config.count_shape: self._store.scalar(sql.text, sql.args)})
        limit = query.limit or self._config.default_page_size
        if self._config.max_page_size is not None:
            limit = min(limit, self._config.max_page_size)  # a silent cap, like other Acronis services
        # One extra row tells if a next page exists; SQLite's LIMIT is an int64 like the API's own.
        sql = listing.page_sql(query, grant.locator, min(limit, INT64_MAX - 1) + 1)
        rows = self._store.read(sql.text, sql.args)
        more, rows = len(rows) > limit, rows[:limit]
        after = self._next_cursor(query, rows, more=more, sent=dict(params).get("after"), path=path)
        items = self._serve(kind, rows, query.lod)
        return Reply(200, {"items": items, **self._cursors(after)})

    def get_item(self, kind: str, raw_id: str, params: Sequence[tuple[str, str]], grant: Grant) -> Reply:
        """Return one item by id; 404 if unknown, deleted (unless allow_deleted) or out of scope."""
        lod, allow_deleted = _single_params(params)
        if not _SIGNED_INTEGER.fullmatch(raw_id):
            raise bad_request("the id must be an integer", parameter="id", value=raw_id)
        item_id = ascii_int(raw_id)
        columns = ", ".join(schema.COLUMNS[kind])
        # An id outside int64 cannot exist: that is a 404 like any other unknown id.
        in_range = INT64_MIN <= item_id <= INT64_MAX
        rows = self._store.read(f"SELECT {columns} FROM {kind} WHERE id = ?", (item_id,)) if in_range else []  # noqa: S608  names are ours
        deleted = schema.COLUMNS[kind].index("deleted")
        tenant = schema.COLUMNS[kind].index("tenant_id")
        if (
            not rows
            or (rows[0][deleted] and not allow_deleted)
            or not self._world.tenant(rows[0][tenant]).locator.startswith(grant.locator)
        ):
            raise not_found(f"{kind[:-1]} {raw_id} does not exist", id=raw_id)
        return Reply(200, self._serve(kind, rows, lod)[0])

    def _serve(self, kind: str, rows: list[tuple[Any, ...]], lod: str) -> list[dict[str, Any]]:
        given = [self.injected.body(kind, row[0]) for row in rows]  # injected items go out verbatim
        rendered = iter(
            self._render(kind, [row for row, body in zip(rows, given, strict=True) if body is None], lod)
        )
        served = [body if body is not None else next(rendered) for body in given]
        rule = self._faults.take("corrupt_items", listing_path(kind)) if served else None
        if rule is not None:
            fraction = rule.options["fraction"]
            how_many = max(1, round(len(served) * fraction)) if fraction else rule.options["count"]
            for item in served[:how_many]:
                _corrupt(item, rule.options["mode"])
        return served

    def _render(self, kind: str, rows: list[tuple[Any, ...]], lod: str) -> list[dict[str, Any]]:
        items = [render.render(kind, row, lod, self._world) for row in rows]
        adapter = _ADAPTERS[kind]
        served: list[dict[str, Any]] = adapter.dump_python(
            adapter.validate_python(items), mode="json", by_alias=True, exclude_unset=True
        )
        if kind == "tasks" and self._config.task_shape == "snake":
            served = [render.snake_case(item) for item in served]
        return served

    def _next_cursor(
        self,
        query: listing.ListQuery,
        rows: list[tuple[Any, ...]],
        *,
        more: bool,
        sent: str | None,
        path: str,
    ) -> str | None:
        if sent is not None and self._faults.take("repeat_cursor", path):
            return sent
        endless = self._faults.take("endless_pages", path) is not None
        if not more and not endless:
            return None
        position = listing.key_of(query, rows[-1]) if rows else list(query.position or ())
        if not position:  # an endless chain over an empty result: start from the beginning
            position = [0 if column.endswith("_at") or column == "id" else "" for column, _ in query.order]
        return self._codec.encode(query.to_state(position, next(self._serials) if endless else 0))

    def _cursors(self, after: str | None) -> dict[str, Any]:
        cursors = {} if after is None else {"after": after}
        if self._config.cursor_placement == "top":
            return {"cursors": cursors}  # where the reference's example puts them
        return {"paging": {"cursors": cursors}}  # where Acronis's guides and real clients find them


def listing_path(kind: str) -> str:
    """Return the list endpoint's path for a kind."""
    return f"/api/task_manager/v2/{kind}"


def _single_params(params: Sequence[tuple[str, str]]) -> tuple[str, bool]:
    given: dict[str, str] = {}
    for name, value in params:
        if name not in ("lod", "allow_deleted"):
            raise bad_request(f"unknown query parameter {name!r}", parameter=name)
        if name in given:
            raise bad_request(f"{name} may be given once", parameter=name)
        given[name] = value
    lod = given.get("lod", "short")
    if lod not in render.LEVEL:
        raise bad_request("lod must be one of tiny, short, long, full, debug", parameter="lod", value=lod)
    allow = given.get("allow_deleted", "false").lower()
    if allow not in ("true", "false", "1", "0"):
        raise bad_request("allow_deleted must be true or false", parameter="allow_deleted", value=allow)
    return lod, allow in ("true", "1")


def _corrupt(item: dict[str, Any], mode: str) -> None:
    """Break one item the way real payloads sometimes are broken."""
    if mode == "unknown_enum":
        for key, value in _UNKNOWN_ENUMS.items():
            if key in item:
                item[key] = value
        if isinstance(item.get("result"), dict):
            item["result"]["code"] = "partiallySucceeded"
        return
    for key in _CORRUPTED_FIELDS:
        if mode == "null":
            item[key] = None
        else:
            item.pop(key, None)
