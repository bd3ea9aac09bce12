"""List and count queries: control parameters, order, keyset pagination, SQL.

Pages are keyset-paginated on (order key, id), so a page boundary is a position,
not an offset: items inserted or completed while a client walks the pages cause
no duplicates and no gaps among items that matched throughout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from simulator import catalog, filters, schema
from simulator.api_errors import bad_request
from simulator.timefmt import INT64_MAX, ascii_int

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simulator.cursors import CursorCodec

_ORDER = re.compile(r"^(asc|desc)\(([A-Za-z]+)\)$")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts Arabic-Indic digits
_ORDER_FIELDS = {
    "tasks": {
        "id": "id", "uuid": "uuid", "type": "type", "priority": "priority", "startedByUser": "started_by",
        "state": "state", "enqueuedAt": "enqueued_at", "assignedAt": "assigned_at", "startedAt": "started_at",
        "updatedAt": "updated_at", "completedAt": "completed_at",
    },
    "activities": {
        "id": "id", "uuid": "uuid", "type": "type", "startedByUser": "started_by", "state": "state",
        "createdAt": "created_at", "startedAt": "started_at", "updatedAt": "updated_at",
        "completedAt": "completed_at",
    },
}  # fmt: skip
CONTROL = {"lod", "limit", "after", "order", "allow_deleted"}


@dataclass(frozen=True)
class ListQuery:
    """A validated list request, whether it came as filters or as an `after` cursor."""

    kind: str
    lod: str
    limit: int | None
    filters: tuple[tuple[str, str], ...]
    order: tuple[tuple[str, str], ...]  # (column, "asc"|"desc"), id last as the tie-breaker
    allow_deleted: bool
    position: tuple[Any, ...] | None = None  # keyset values of the last item served
    serial: int = 0  # distinguishes cursors of an endless chain (a fault)

    def to_state(self, position: Sequence[Any], serial: int = 0) -> dict[str, Any]:
        """Return what a cursor must carry to continue after `position`."""
        return {
            "k": self.kind, "lod": self.lod, "l": self.limit, "f": [list(f) for f in self.filters],
            "o": [list(o) for o in self.order], "d": self.allow_deleted, "p": list(position), "n": serial,
        }  # fmt: skip


def parse(kind: str, params: Sequence[tuple[str, str]], codec: CursorCodec) -> ListQuery:
    """Validate a list request's query string; a later page is rebuilt from its cursor."""
    names = [name for name, _ in params]
    for name in ("lod", "limit", "after", "allow_deleted"):
        if names.count(name) > 1:
            raise bad_request(f"{name} may be given once", parameter=name)
    given = dict(params)
    lod = _lod(given.get("lod"))
    limit = _limit(given["limit"]) if "limit" in given else None
    if "after" in given:
        extra = sorted(set(names) - {"after", "limit", "lod"})
        if extra:
            raise bad_request("after can be used only with limit and lod", parameter=extra[0])
        query = _from_cursor(kind, codec.decode(given["after"]))
        return replace(query, lod=lod if "lod" in given else query.lod, limit=limit or query.limit)
    rest = [(name, value) for name, value in params if name not in CONTROL]
    filters.where(kind, rest)  # validate now, so a bad filter is a 400 on the first page
    return ListQuery(
        kind=kind,
        lod=lod,
        limit=limit,
        filters=tuple(rest),
        order=_order(kind, [value for name, value in params if name == "order"]),
        allow_deleted=_flag("allow_deleted", given.get("allow_deleted", "false")),
    )


def _lod(value: str | None) -> str:
    if value is None:
        return "short"
    if value not in catalog.LODS:
        raise bad_request(f"lod must be one of {', '.join(catalog.LODS)}", parameter="lod", value=value)
    return value


def _limit(value: str) -> int:
    """Return the page size: an integer from 1 to int64's maximum, the API's own integer type."""
    number = ascii_int(value) if _DIGITS.fullmatch(value) else 0
    if not 1 <= number <= INT64_MAX:
        raise bad_request(f"limit must be an integer from 1 to {INT64_MAX}", parameter="limit", value=value)
    return number


def _flag(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false", "1", "0"):
        raise bad_request(f"{name} must be true or false", parameter=name, value=value)
    return value.lower() in ("true", "1")


def _order(kind: str, values: list[str]) -> tuple[tuple[str, str], ...]:
    keys: list[tuple[str, str]] = []
    for value in values:
        match = _ORDER.match(value)
        if match is None or match.group(2) not in _ORDER_FIELDS[kind]:
            fields = ", ".join(_ORDER_FIELDS[kind])
            raise bad_request(f"order must be asc(field) or desc(field) with field in {fields}", value=value)
        column = _ORDER_FIELDS[kind][match.group(2)]
        if any(column == existing for existing, _ in keys):
            raise bad_request("order names a field twice", parameter="order", value=value)
        keys.append((column, match.group(1)))
    if not any(column == "id" for column, _ in keys):
        keys.append(("id", keys[-1][1] if keys else "asc"))  # id breaks ties in the last key's direction
    return tuple(keys)


def _from_cursor(kind: str, state: dict[str, Any]) -> ListQuery:
    try:
        query = ListQuery(
            kind=state["k"],
            lod=state["lod"],
            limit=state["l"],
            filters=tuple((str(n), str(v)) for n, v in state["f"]),
            order=tuple((str(c), str(d)) for c, d in state["o"]),
            allow_deleted=bool(state["d"]),
            position=tuple(state["p"]),
            serial=int(state["n"]),
        )
    except (KeyError, TypeError, ValueError):
        raise bad_request("invalid cursor", parameter="after") from None
    if query.kind != kind:
        raise bad_request("cursor belongs to another endpoint", parameter="after")
    return query


def build_where(query: ListQuery, scope_locator: str) -> filters.Sql:
    """Return the WHERE clause (filters, deletion, tenant scope) shared by pages and counts."""
    parts = filters.where(query.kind, query.filters)
    if not query.allow_deleted:
        parts.append(filters.Sql("deleted = 0"))  # a literal, so the partial indexes apply
    if scope_locator != "/1/":
        parts.append(
            filters.Sql("tenant_id IN (SELECT id FROM tenants WHERE locator LIKE ?)", (scope_locator + "%",))
        )
    text = " AND ".join(f"({part.text})" for part in parts) or "1"
    return filters.Sql(text, tuple(arg for part in parts for arg in part.args))


def count_sql(query: ListQuery, scope_locator: str) -> filters.Sql:
    """Return SQL counting every item the query matches."""
    where = build_where(query, scope_locator)
    # Counting everything: a narrow partial index beats scanning the wide table, but the planner
    # does not consider partial indexes for a full count on its own.
    hint = f" INDEXED BY {query.kind}_completed_at" if where.text == "(deleted = 0)" else ""
    return filters.Sql(f"SELECT COUNT(*) FROM {query.kind}{hint} WHERE {where.text}", where.args)  # noqa: S608  names are ours


def page_sql(query: ListQuery, scope_locator: str, limit: int) -> filters.Sql:
    """Return SQL for one page: the next `limit` items after the cursor's position."""
    where = build_where(query, scope_locator)
    text, args = where.text, list(where.args)
    if query.position is not None:
        keyset = _after(query.order, query.position)
        text, args = f"{text} AND ({keyset.text})", [*args, *keyset.args]
    windows = {filters.TIME_COLUMNS[name] for name, _ in query.filters if name in filters.INDEXED_TIMES}
    # Walking the id (or another) order to find a narrow time window scans the table; a unary +
    # keeps the ORDER BY off the indexes so the window's index is used and the few rows sorted.
    sort = "+" if windows and query.order[0][0] not in windows else ""
    order = ", ".join(f"{sort}{column} {direction.upper()}" for column, direction in query.order)
    columns = ", ".join(schema.COLUMNS[query.kind])
    sql = f"SELECT {columns} FROM {query.kind} WHERE {text} ORDER BY {order} LIMIT ?"  # noqa: S608  names are ours
    return filters.Sql(sql, (*args, limit))


def _after(order: tuple[tuple[str, str], ...], position: tuple[Any, ...]) -> filters.Sql:
    """Keyset condition: strictly after `position` in `order`."""
    if len(position) != len(order):
        raise bad_request("invalid cursor", parameter="after")
    directions = {direction for _, direction in order}
    columns = [column for column, _ in order]
    if len(directions) == 1:  # a row value lets SQLite seek the index directly
        op = ">" if directions == {"asc"} else "<"
        marks = ", ".join("?" * len(columns))
        return filters.Sql(f"({', '.join(columns)}) {op} ({marks})", tuple(position))
    alternatives: list[str] = []
    args: list[Any] = []
    for i, (column, direction) in enumerate(order):
        equal = [f"{c} = ?" for c in columns[:i]]
        alternatives.append(" AND ".join([*equal, f"{column} {'>' if direction == 'asc' else '<'} ?"]))
        args.extend(position[: i + 1])
    return filters.Sql(" OR ".join(f"({a})" for a in alternatives), tuple(args))


def key_of(query: ListQuery, row: Sequence[Any]) -> list[Any]:
    """Return the keyset position of a fetched row (its order columns' values)."""
    index = {name: i for i, name in enumerate(schema.COLUMNS[query.kind])}
    return [row[index[column]] for column, _ in query.order]
