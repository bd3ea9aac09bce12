"""Query-string filters of the list endpoints, validated and turned into SQL.

Every filter the reference lists per endpoint is here. Multiple values are
repeated keys and mean OR; `like(value)` works on startedBy, policyName and
resourceName; time filters take `gt(t)`, `lt(t)` or both as repeated keys.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator import catalog
from simulator.api_errors import bad_request
from simulator.timefmt import INT64_MAX, INT64_MIN, ascii_int, parse_time

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OPERATOR = re.compile(r"^(like|gt|lt)\((.*)\)$", re.DOTALL)
_SIGNED_INTEGER = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.ParseInt reads: no spaces, no "1_000"
MAX_VALUE_LENGTH = 4096  # longer than any stored string; also keeps LIKE patterns within SQLite's limit


@dataclass(frozen=True)
class Sql:
    """A WHERE fragment with its bound arguments."""

    text: str
    args: tuple[object, ...] = ()


def _values_in(
    column: str, convert: Callable[[str, str], object] = lambda _, v: v
) -> Callable[[str, list[str]], Sql]:
    def build(name: str, values: list[str]) -> Sql:
        args = tuple(convert(name, value) for value in values)
        return Sql(f"{column} IN ({', '.join('?' * len(args))})", args)

    return build


def _integer(name: str, value: str) -> int | None:
    """Return the integer, or None (which no row equals) for one outside int64: no item has that id."""
    if not _SIGNED_INTEGER.fullmatch(value):
        raise bad_request(f"{name} must be an integer", parameter=name, value=value)
    number = ascii_int(value)
    return number if INT64_MIN <= number <= INT64_MAX else None


def _uuid(name: str, value: str) -> str:
    if not _UUID.match(value):
        raise bad_request(f"{name} must be a UUID", parameter=name, value=value)
    return value.lower()


def _enum(allowed: Sequence[str]) -> Callable[[str, str], str]:
    def check(name: str, value: str) -> str:
        if value not in allowed:
            raise bad_request(f"{name} must be one of {', '.join(allowed)}", parameter=name, value=value)
        return value

    return check


def _boolean(name: str, value: str) -> int:
    lowered = value.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise bad_request(f"{name} must be true or false", parameter=name, value=value)
    return int(lowered in ("true", "1"))


def any_of(parts: Sequence[str]) -> str:
    """OR the parts as a balanced tree: a flat chain of 1000 ORs passes SQLite's expression depth limit."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return f"({any_of(parts[:middle])} OR {any_of(parts[middle:])})"


def _likeable(column: str) -> Callable[[str, list[str]], Sql]:
    """Exact values or `like(value)` (a substring match), OR-ed together."""

    def build(name: str, values: list[str]) -> Sql:
        parts, args = [], []
        for value in values:
            match = _OPERATOR.match(value)
            if match and match.group(1) == "like":
                escaped = re.sub(r"([\\%_])", r"\\\1", match.group(2))
                parts.append(f"{column} LIKE ? ESCAPE '\\'")
                args.append(f"%{escaped}%")
            elif match:
                raise bad_request(f"{name} supports only like(...)", parameter=name, value=value)
            else:
                parts.append(f"{column} = ?")
                args.append(value)
        return Sql(f"({any_of(parts)})", tuple(args))

    return build


def _via(ref: str, table: str, inner: Callable[[str, list[str]], Sql]) -> Callable[[str, list[str]], Sql]:
    """Filter on a linked policy's or resource's attribute."""

    def build(name: str, values: list[str]) -> Sql:
        sql = inner(name, values)
        return Sql(f"{ref} IN (SELECT ref FROM {table} WHERE {sql.text})", sql.args)  # noqa: S608  names are ours

    return build


def _time(column: str) -> Callable[[str, list[str]], Sql]:
    """`gt(t)`, `lt(t)`, both as repeated keys, or a bare time for equality; unset times never match."""

    def build(name: str, values: list[str]) -> Sql:
        ops: dict[str, int] = {}
        for value in values:
            match = _OPERATOR.match(value)
            op, text = (match.group(1), match.group(2)) if match else ("eq", value)
            if op == "like" or op in ops:
                raise bad_request(f"{name} accepts one gt(...) and one lt(...)", parameter=name, value=value)
            try:
                ops[op] = parse_time(text)
            except ValueError:
                raise bad_request(
                    f"{name}: unrecognised time {text!r}", parameter=name, value=value
                ) from None
        symbols = {"gt": ">", "lt": "<", "eq": "="}
        parts = [f"{column} {symbols[op]} ?" for op in ops]
        return Sql(" AND ".join([f"{column} > 0", *parts]), tuple(ops.values()))

    return build


def _tags(name: str, values: list[str]) -> Sql:
    del name  # every tag filter reads the same column
    parts = ["tags LIKE ? ESCAPE '\\'"] * len(values)
    args = tuple("%," + re.sub(r"([\\%_])", r"\\\1", value) + ",%" for value in values)
    return Sql(f"({any_of(parts)})", args)


def _executor(name: str, values: list[str]) -> Sql:
    inner = _via("resource_ref", "resources", _values_in("agent_id"))(name, values)
    return Sql(f"assigned_at > 0 AND {inner.text}", inner.args)


_COMMON: dict[str, Callable[[str, list[str]], Sql]] = {
    "id": _values_in("id", _integer),
    "uuid": _values_in("uuid", _uuid),
    "type": _values_in("type"),
    "startedBy": _likeable("started_by"),
    "policyId": _via("policy_ref", "policies", _values_in("id")),
    "policyName": _via("policy_ref", "policies", _likeable("name")),
    "policyType": _via("policy_ref", "policies", _values_in("type")),
    "resourceId": _via("resource_ref", "resources", _values_in("id")),
    "resourceName": _via("resource_ref", "resources", _likeable("name")),
    "resourceType": _via("resource_ref", "resources", _values_in("type")),
    "workflowId": _values_in("workflow_id", _integer),
    "state": _values_in("state", _enum(catalog.STATES)),
    "resultCode": _values_in("result_code", _enum(catalog.RESULT_CODES)),
    "startedAt": _time("started_at"),
    "updatedAt": _time("updated_at"),
    "completedAt": _time("completed_at"),
    "tag": _tags,
}

FILTERS: dict[str, dict[str, Callable[[str, list[str]], Sql]]] = {
    "tasks": {
        **_COMMON,
        "executorId": _executor,
        "queue": _values_in("queue"),
        "priority": _values_in("priority", _enum(catalog.PRIORITIES)),
        "enqueuedAt": _time("enqueued_at"),
        "assignedAt": _time("assigned_at"),
        "affinityAgentId": _via("resource_ref", "resources", _values_in("agent_id")),
        "affinityClusterId": _via("resource_ref", "resources", _values_in("cluster_id")),
    },
    "activities": {
        **_COMMON,
        "taskId": _values_in("task_id", _integer),
        "parentActivityId": _values_in("parent_id", _integer),
        "createdAt": _time("created_at"),
        "sustainable": lambda name, values: Sql("sustainable = ?", (_boolean(name, values[-1]),)),
    },
}

_TIME_FILTERS = {"enqueuedAt", "assignedAt", "createdAt", "startedAt", "updatedAt", "completedAt"}
_SINGLE = {"sustainable"}
INDEXED_TIMES = {"completedAt", "updatedAt"}
TIME_COLUMNS = {"completedAt": "completed_at", "updatedAt": "updated_at"}
_DEMOTED = {"state", "resultCode", "queue", "type", "priority"}


def where(kind: str, params: Sequence[tuple[str, str]]) -> list[Sql]:
    """Validate filter params (already stripped of control params) and return their SQL."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for name, value in params:
        if name not in FILTERS[kind]:
            raise bad_request(f"unknown query parameter {name!r}", parameter=name)
        if len(value) > MAX_VALUE_LENGTH:
            raise bad_request(f"{name}: a value is longer than {MAX_VALUE_LENGTH} characters", parameter=name)
        grouped[name].append(value)
    for name, values in grouped.items():
        if (name in _TIME_FILTERS and len(values) > 2) or (name in _SINGLE and len(values) > 1):  # noqa: PLR2004  gt + lt
            raise bad_request(f"too many values for {name}", parameter=name)
    parts = [FILTERS[kind][name](name, values) for name, values in grouped.items()]
    if INDEXED_TIMES & grouped.keys():
        # With sampled statistics SQLite prefers the (state, ...) indexes even when a completedAt
        # window is far narrower; a unary + keeps those columns off the index so the window wins.
        parts = [
            Sql("+" + part.text, part.args) if name in _DEMOTED else part
            for name, part in zip(grouped, parts, strict=True)
        ]
    return parts
