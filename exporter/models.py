"""Tolerant parsing of Task Manager list items into frozen dataclasses.

Real payloads are untidy (API-NOTES.md, "Real payloads"): 64-bit ids with string twins,
``""`` (sometimes ``null``) for unset times, tenants without ``uuid``, a string
``result.payload``. Parsing never raises: every field that is null, missing, malformed
or outside its enum is recorded in ``defects`` (field name → reason), and each consumer
asks ``problem(needed)`` for the fields it cannot do without. One bad item therefore
never aborts a page; it is skipped, and the reason is counted.

Tasks also come in seed 002's third-party shape (flat ``tenant_id``, ``result_code``,
``*_id`` links, a string ``id`` such as ``"task-uuid-001"``): ``nest_snake_case`` reads
it as the API's own shape, and a non-empty string ``id`` is an id like ``idString``.

Field names in ``defects`` are the API's (``completedAt``, ``result.code``, ``tenant``).
Reasons are a closed vocabulary, because they become label values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from exporter.payloads import MisEncoded, nest_snake_case

# Re-exported: the sources and tests read timestamps through the item model's module.
from exporter.rfc3339 import format_time as format_time  # noqa: PLC0414
from exporter.rfc3339 import parse_time as parse_time  # noqa: PLC0414
from exporter.vocabulary import PRIORITIES, RESULT_CODES, TASK_STATES

if TYPE_CHECKING:
    from collections.abc import Iterable

Reason = Literal["missing_field", "null_field", "unknown_enum", "bad_time", "bad_encoding"]
WHOLE_ITEM: Final = "item"  # the defects key of a flaw no single field owns (bytes that are not UTF-8)

MAX_ID_LENGTH: Final = 128  # longer than any real id (a uuid has 36 characters, an int64 20)
_MISSING: Final = object()  # a key the item does not have at all, as opposed to null


@dataclass(frozen=True)
class Tenant:
    """A tenant identity; ``parent_id`` comes from the locator path (``/1/<parent>/<id>/``)."""

    id: str
    name: str = ""
    locator: str = ""
    uuid: str = ""
    parent_id: str = ""


@dataclass(frozen=True)
class _Item:
    id: str | None
    state: str | None
    result_code: str | None
    tenant: Tenant | None
    type: str | None
    started_at: float | None
    completed_at: float | None
    updated_at: float | None
    defects: Mapping[str, Reason] = field(default_factory=dict)

    def problem(self, needed: Iterable[str], optional: Iterable[str] = ()) -> Reason | None:
        """Return why the item cannot serve a consumer, or None if it can.

        Fields in ``needed`` must hold a value (unset, ``""``, counts as missing); fields in
        ``optional`` may be unset but not defective (null, missing or malformed).
        """
        if WHOLE_ITEM in self.defects:
            return self.defects[WHOLE_ITEM]
        for name in needed:
            if name in self.defects:
                return self.defects[name]
            if _value_of(self, name) is None:
                return "missing_field"
        for name in optional:
            if name in self.defects:
                return self.defects[name]
        return None


@dataclass(frozen=True)
class TaskItem(_Item):
    """One task as far as the exporter cares; times are float Unix seconds, None when unset."""

    queue: str | None = None
    priority: str | None = None
    enqueued_at: float | None = None
    cancel_requested: bool = False
    assign_count: int = 0
    has_blockers: bool = False


@dataclass(frozen=True)
class ActivityItem(_Item):
    """One activity; ``createdAt`` plays the part ``enqueuedAt`` plays for tasks."""

    created_at: float | None = None


_ATTRIBUTES: Final = {  # API names that differ from ours; id, state, tenant, type, ... do not
    "result.code": "result_code",
    "enqueuedAt": "enqueued_at",
    "createdAt": "created_at",
    "startedAt": "started_at",
    "completedAt": "completed_at",
    "updatedAt": "updated_at",
}


def _value_of(item: _Item, api_name: str) -> object:
    return getattr(item, _ATTRIBUTES.get(api_name, api_name), None)


class _Reader:
    """Reads fields off one raw item, noting every defect instead of raising."""

    def __init__(self, raw: object) -> None:
        raw = nest_snake_case(raw)  # seed 002's flat tenant_id / result_code, read like the nested shape
        self.raw: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}
        self.defects: dict[str, Reason] = {}
        if not isinstance(raw, Mapping):
            self.defects["id"] = "null_field" if raw is None else "missing_field"
        if isinstance(raw, MisEncoded):  # readable (repaired), but not to be trusted
            self.defects[WHOLE_ITEM] = "bad_encoding"

    def _get(self, name: str, container: Mapping[str, object] | None = None) -> object:
        source = self.raw if container is None else container
        value = source.get(name, _MISSING)
        if value is _MISSING:
            self.defects.setdefault(name, "missing_field")
            return None
        if value is None:
            self.defects.setdefault(name, "null_field")
        return value

    def item_id(self) -> str | None:
        # idString first: the integer twin exceeds 2**53 and must never pass through a float.
        text = self.raw.get("idString")
        if isinstance(text, str) and text:
            return bounded_id(text)
        number = self.raw.get("id", _MISSING)
        if isinstance(number, int) and not isinstance(number, bool):
            return str(number)
        if isinstance(number, str) and number:  # seed 002 declares a string id ("task-uuid-001")
            return bounded_id(number)
        if "id" not in self.defects:
            self.defects["id"] = "null_field" if number is None else "missing_field"
        return None

    def text(self, name: str) -> str | None:
        value = self._get(name)
        if value is None or isinstance(value, str):
            return value
        self.defects[name] = "missing_field"  # a number or object where a string was due
        return None

    def enum(self, name: str, allowed: tuple[str, ...], value: object = _MISSING) -> str | None:
        if value is _MISSING:
            value = self._get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str) and value in allowed:
            return value
        self.defects[name] = "unknown_enum"
        return None

    def result_code(self) -> str | None:
        result = self._get("result")
        if result is None:
            self.defects["result.code"] = self.defects.pop("result")
            return None
        if not isinstance(result, Mapping):
            self.defects["result.code"] = "missing_field"
            return None
        code = result.get("code", _MISSING)
        if code is _MISSING or code is None:
            self.defects["result.code"] = "missing_field" if code is _MISSING else "null_field"
            return None
        return self.enum("result.code", RESULT_CODES, code)

    def time(self, name: str) -> float | None:
        value = self.raw.get(name, _MISSING)
        if value is _MISSING or value is None:
            self.defects[name] = "missing_field" if value is _MISSING else "null_field"
            return None
        if value == "":
            return None  # the API's way of saying "not yet"
        parsed = parse_time(value) if isinstance(value, str) else None
        if parsed is None:
            self.defects[name] = "bad_time"
        return parsed

    def tenant(self) -> Tenant | None:
        raw = self._get("tenant")
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.defects["tenant"] = "missing_field"
            return None
        tenant_id = raw.get("id")
        if isinstance(tenant_id, int) and not isinstance(tenant_id, bool):
            tenant_id = str(tenant_id)
        if not isinstance(tenant_id, str):
            self.defects["tenant"] = "null_field" if tenant_id is None and "id" in raw else "missing_field"
            return None
        locator = _string_or_empty(raw.get("locator"))
        return Tenant(
            id=tenant_id,
            name=_string_or_empty(raw.get("name")),
            locator=locator,
            uuid=_string_or_empty(raw.get("uuid")),  # missing on real tenants despite the schema
            parent_id=parent_from_locator(locator, tenant_id),
        )

    def flag(self, name: str) -> bool:
        return self.raw.get(name) is True

    def count(self, name: str) -> int:
        value = self.raw.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_task(raw: object) -> TaskItem:
    """Parse one element of a ``/tasks`` listing; never raises."""
    reader = _Reader(raw)
    common = _common_fields(reader)
    blockers = reader.raw.get("blockers")
    return TaskItem(
        **common,
        queue=reader.text("queue"),
        priority=reader.enum("priority", PRIORITIES),
        enqueued_at=reader.time("enqueuedAt"),
        cancel_requested=reader.flag("cancelRequested"),
        assign_count=reader.count("assignCount"),
        has_blockers=isinstance(blockers, list) and len(blockers) > 0,
        defects=reader.defects,
    )


def parse_activity(raw: object) -> ActivityItem:
    """Parse one element of an ``/activities`` listing; never raises."""
    reader = _Reader(raw)
    return ActivityItem(**_common_fields(reader), created_at=reader.time("createdAt"), defects=reader.defects)


def _common_fields(reader: _Reader) -> dict[str, Any]:
    """Read the fields tasks and activities share: ``_Item``'s, keyword by keyword."""
    return {
        "id": reader.item_id(),
        "state": reader.enum("state", TASK_STATES),
        "result_code": reader.result_code(),
        "tenant": reader.tenant(),
        "type": reader.text("type"),
        "started_at": reader.time("startedAt"),
        "completed_at": reader.time("completedAt"),
        "updated_at": reader.time("updatedAt"),
    }


def parent_from_locator(locator: str, tenant_id: str) -> str:
    """Return the parent tenant id from a locator such as ``/1/1496262/1496265/``."""
    path = [part for part in locator.split("/") if part]
    if path and path[-1] == tenant_id:
        path.pop()
    return path[-1] if path else ""


def bounded_id(text: str) -> str:
    """Return an id short enough to remember: a longer one is kept as its digest.

    The completion tracker holds every id of its overlap window; an API sending megabyte ids
    must not make that memory grow with them. Equal ids still give equal keys.
    """
    if len(text) <= MAX_ID_LENGTH:
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _string_or_empty(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""
