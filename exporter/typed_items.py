"""Records of the fast path (typed_decode.py) read into the items models.py defines.

``task_item`` and ``activity_item`` give exactly what ``models.parse_task`` and
``parse_activity`` give for the same JSON item, defects included (tests/test_typed_decode.py
checks it on generated pages, hostile ones included). They can be brief because the record
types already refused every value of a type the tolerant parser would have to argue with.

``read_task`` and ``read_activity`` take either kind of page item, a record or a raw one:
the sources need not know which path read a page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, TypeVar

from msgspec import UNSET

from exporter.models import (
    ActivityItem,
    Reason,
    TaskItem,
    Tenant,
    bounded_id,
    parent_from_locator,
    parse_activity,
    parse_task,
    parse_time,
)
from exporter.payloads import nest_snake_case
from exporter.typed_decode import ActivityRecord, ResultRecord, TaskRecord, TenantRecord
from exporter.vocabulary import PRIORITIES, RESULT_CODES, TASK_STATES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from exporter.typed_decode import Text

_TENANT_CACHE_SIZE: Final = 8192  # distinct tenants remembered (5k tenants must fit); then it starts over
_CACHED_LENGTH: Final = 256  # characters of a tenant field past which its Tenant is not kept
_tenants: dict[TenantRecord, Tenant] = {}  # equal tenant records share one Tenant
ItemT = TypeVar("ItemT", TaskItem, ActivityItem)


def read_task(raw: object) -> TaskItem:
    """Read one item of a ``/tasks`` page, whichever path decoded it."""
    return task_item(raw) if type(raw) is TaskRecord else parse_task(raw)


def read_activity(raw: object) -> ActivityItem:
    """Read one item of an ``/activities`` page, whichever path decoded it."""
    return activity_item(raw) if type(raw) is ActivityRecord else parse_activity(raw)


def links_of(raw: object) -> dict[str, Any]:
    """Return a task's ``resource`` and ``policy`` as the raw API shape (snake_case nested)."""
    if type(raw) is not TaskRecord:
        nested = nest_snake_case(raw)
        return nested if isinstance(nested, dict) else {}
    links: dict[str, Any] = {}
    for role, flat in (("resource", raw.resource_id), ("policy", raw.policy_id)):
        link = getattr(raw, role)
        if link is UNSET and flat is not UNSET:
            link = None if flat is None else {"id": flat}
        links[role] = None if link is UNSET else link
    return links


def task_item(record: TaskRecord) -> TaskItem:
    """Read a task record as ``parse_task`` reads the same JSON item."""
    defects: dict[str, Reason] = {}
    snake = _is_snake(record)
    blockers = record.blockers
    count = record.assign_count
    return _frozen(
        TaskItem,
        {
            "id": _item_id(record, defects),
            "state": _enum("state", record.state, TASK_STATES, defects),
            "result_code": _result_code(record, defects),
            "tenant": _tenant(record, defects),
            "type": _text("type", record.type, defects),
            "started_at": _time("startedAt", _unset_is_empty(record.started_at, snake=snake), defects),
            "completed_at": _time("completedAt", _unset_is_empty(record.completed_at, snake=snake), defects),
            "updated_at": _time("updatedAt", _unset_is_empty(record.updated_at, snake=snake), defects),
            "queue": _text("queue", _unset_is_empty(record.queue, snake=snake), defects),
            "priority": _enum("priority", record.priority, PRIORITIES, defects),
            "enqueued_at": _time("enqueuedAt", _unset_is_empty(record.enqueued_at, snake=snake), defects),
            "cancel_requested": record.cancel_requested is True,
            "assign_count": count if type(count) is int else 0,
            "has_blockers": type(blockers) is list and len(blockers) > 0,
            "defects": defects,
        },
    )


def activity_item(record: ActivityRecord) -> ActivityItem:
    """Read an activity record as ``parse_activity`` reads the same JSON item."""
    defects: dict[str, Reason] = {}
    return _frozen(
        ActivityItem,
        {
            "id": _item_id(record, defects),
            "state": _enum("state", record.state, TASK_STATES, defects),
            "result_code": _result_code(record, defects),
            "tenant": _tenant(record, defects),
            "type": _text("type", record.type, defects),
            "started_at": _time("startedAt", record.started_at, defects),
            "completed_at": _time("completedAt", record.completed_at, defects),
            "updated_at": _time("updatedAt", record.updated_at, defects),
            "created_at": _time("createdAt", record.created_at, defects),
            "defects": defects,
        },
    )


def _frozen(cls: type[ItemT], fields: dict[str, Any]) -> ItemT:
    """Return the frozen dataclass ``cls`` holding ``fields`` (every one of its fields).

    Its generated ``__init__`` sets each field through ``object.__setattr__``, which made
    building an item a third of reading it; the instance is the same, set in one step.
    """
    item = object.__new__(cls)
    item.__dict__.update(fields)
    return item


def open_task_fields(record: TaskRecord) -> tuple[str, str, Tenant, str] | Reason:
    """Return the state, queue, tenant and type an open-task walk groups on, or why it skips the task.

    The reason is the one ``task_item(record).problem(("state", "tenant", "queue", "type"))``
    gives, without building the item or parsing its times.
    """
    defects: dict[str, Reason] = {}
    state = _enum("state", record.state, TASK_STATES, defects)
    tenant = _tenant(record, defects)
    queue = _text("queue", _unset_is_empty(record.queue, snake=_is_snake(record)), defects)
    task_type = _text("type", record.type, defects)
    if state is None or tenant is None or queue is None or task_type is None:
        return _first_problem(
            zip(("state", "tenant", "queue", "type"), (state, tenant, queue, task_type), strict=True), defects
        )
    return state, queue, tenant, task_type


def open_activity_fields(record: ActivityRecord) -> tuple[str, Tenant, str] | Reason:
    """Return the state, tenant and type an open-activity walk groups on, or why it skips the activity."""
    defects: dict[str, Reason] = {}
    state = _enum("state", record.state, TASK_STATES, defects)
    tenant = _tenant(record, defects)
    activity_type = _text("type", record.type, defects)
    if state is None or tenant is None or activity_type is None:
        return _first_problem(
            zip(("state", "tenant", "type"), (state, tenant, activity_type), strict=True), defects
        )
    return state, tenant, activity_type


def record_id(record: TaskRecord | ActivityRecord) -> str | None:
    """Return a record's id as its item would hold it."""
    return _item_id(record, {})


def _first_problem(fields: Iterable[tuple[str, object]], defects: dict[str, Reason]) -> Reason:
    """Return what ``problem`` returns for these needed fields, one of which is unusable."""
    for name, value in fields:
        if name in defects:
            return defects[name]
        if value is None:
            break
    return "missing_field"


def _is_snake(record: TaskRecord) -> bool:
    return not (
        record.tenant_id is UNSET
        and record.result_code is UNSET
        and record.resource_id is UNSET
        and record.policy_id is UNSET
        and record.executor_id is UNSET
    )


def _unset_is_empty(value: Text, *, snake: bool) -> Text:
    """Seed 002 requires no field: a time or queue its item omits is unset (``""``)."""
    return "" if snake and value is UNSET else value


def _absent(name: str, value: object, defects: dict[str, Reason]) -> bool:
    """Note a missing or null field; tell whether it was one."""
    if value is UNSET:
        defects[name] = "missing_field"
        return True
    if value is None:
        defects[name] = "null_field"
        return True
    return False


def _item_id(record: TaskRecord | ActivityRecord, defects: dict[str, Reason]) -> str | None:
    text = record.id_string
    if type(text) is str and text:
        return bounded_id(text)
    number = record.id
    if type(number) is int:
        return str(number)
    if type(number) is str and number:
        return bounded_id(number)
    defects["id"] = "null_field" if number is None else "missing_field"
    return None


def _enum(name: str, value: object, allowed: tuple[str, ...], defects: dict[str, Reason]) -> str | None:
    if _absent(name, value, defects) or value == "":
        return None
    if value in allowed:
        return value  # a member of ``allowed``: a str
    defects[name] = "unknown_enum"
    return None


def _text(name: str, value: Text, defects: dict[str, Reason]) -> str | None:
    return None if _absent(name, value, defects) else value  # type: ignore[return-value]


def _time(name: str, value: Text, defects: dict[str, Reason]) -> float | None:
    if _absent(name, value, defects) or value == "":
        return None
    parsed = parse_time(value)  # type: ignore[arg-type]  # neither UNSET nor None: a str
    if parsed is None:
        defects[name] = "bad_time"
    return parsed


def _result_code(record: TaskRecord | ActivityRecord, defects: dict[str, Reason]) -> str | None:
    result = record.result
    if result is UNSET and type(record) is TaskRecord and record.result_code is not UNSET:
        code: object = record.result_code  # seed 002's flat result_code
    elif _absent("result.code", result, defects):
        return None
    else:
        code = result.code if isinstance(result, ResultRecord) else UNSET
    if _absent("result.code", code, defects):
        return None
    return _enum("result.code", code, RESULT_CODES, defects)


def _tenant(record: TaskRecord | ActivityRecord, defects: dict[str, Reason]) -> Tenant | None:
    tenant = record.tenant
    if tenant is UNSET and type(record) is TaskRecord and record.tenant_id is not UNSET:
        tenant = None if record.tenant_id is None else TenantRecord(id=record.tenant_id)
    if _absent("tenant", tenant, defects) or not isinstance(tenant, TenantRecord):
        return None
    known = _tenants.get(tenant)
    if known is not None:
        return known
    tenant_id = tenant.id
    if tenant_id is None or tenant_id is UNSET:
        defects["tenant"] = "null_field" if tenant_id is None else "missing_field"
        return None
    built = _build_tenant(tenant, str(tenant_id))
    if len(_tenants) >= _TENANT_CACHE_SIZE:
        _tenants.clear()
    if all(len(part) <= _CACHED_LENGTH for part in (built.id, built.name, built.locator, built.uuid)):
        _tenants[tenant] = built
    return built


def _build_tenant(tenant: TenantRecord, tenant_id: str) -> Tenant:
    locator = _string_or_empty(tenant.locator)
    return Tenant(
        id=tenant_id,
        name=_string_or_empty(tenant.name),
        locator=locator,
        uuid=_string_or_empty(tenant.uuid),
        parent_id=parent_from_locator(locator, tenant_id),
    )


def _string_or_empty(value: object) -> str:
    if type(value) is str:
        return value
    return str(value) if type(value) is int else ""
