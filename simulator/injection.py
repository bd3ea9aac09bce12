"""Tasks put into the store verbatim over `POST /_sim/items`: third-party shapes, odd ids.

The simulator only serves what its models can render; a test that needs one given item
(seed 002's example, with its string id) injects it. Each injected task gets a row like
any other, read off the item where it can be (state, type, queue, priority, result,
times), so filters, order, paging, counts, scope and ground truth treat it as a stored
task; its body is served as given, at every lod and whatever `task_shape` says.

* the row's tenant is the world tenant the request names (`"tenant": "<id>"`), else the
  world tenant whose id or uuid the item names, else the root tenant (so any token sees it);
* re-injecting an item with the same id replaces it in place (its row id stays): that is
  how a test moves a task on, e.g. from open to completed;
* a completion becomes visible (`written_at`) when it is injected;
* the workload never touches injected rows, whose ids count down from int64's maximum,
  clear of every id the simulator hands out itself.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from simulator import schema
from simulator.api_errors import bad_request
from simulator.population import ROOT_TENANT_ID
from simulator.timefmt import INT64_MAX, parse_time, to_ns

if TYPE_CHECKING:
    from simulator.population import World
    from simulator.store import Store

KINDS = ("tasks",)
_TIMES = {
    "enqueued_at": "enqueuedAt", "assigned_at": "assignedAt", "started_at": "startedAt",
    "completed_at": "completedAt", "updated_at": "updatedAt",
}  # fmt: skip
_NO_LINK = -1  # like a task type without a policy: no policy or resource row matches it


class Injections:
    """The injected items by row id, and which row each item id took."""

    def __init__(self, store: Store, world: World) -> None:
        self._store, self._world = store, world
        self._lock = threading.Lock()
        self._bodies: dict[int, dict[str, Any]] = {}
        self._rows: dict[str, int] = {}  # the item's own id -> its row id
        self._next_id = INT64_MAX

    def check(self, kind: object, item: object, tenant: object = None) -> int:
        """Refuse (400) an injection ``put`` would refuse; return the row's tenant id."""
        if kind not in KINDS:
            raise bad_request(f"kind must be one of {', '.join(KINDS)}", parameter="kind", value=str(kind))
        if not isinstance(item, dict):
            raise bad_request("item must be a JSON object", parameter="item")
        return self._tenant_of(item, tenant)

    def put(self, kind: str, item: dict[str, Any], *, now: float, tenant: object = None) -> int:
        """Store one item (or replace the one with its id); return its row id."""
        tenant_id = self.check(kind, item, tenant)
        with self._lock:
            key = _item_key(item)
            row_id = self._rows.get(key) if key is not None else None
            if row_id is None:
                row_id, self._next_id = self._next_id, self._next_id - 1
            row = _task_row(row_id, item, tenant_id, now)
            with self._store.write() as conn:
                conn.execute(f"DELETE FROM {kind} WHERE id = ?", (row_id,))  # noqa: S608  kind is one of KINDS
                self._store.insert_row(conn, kind, row)
            self._bodies[row_id] = copy.deepcopy(item)
            if key is not None:
                self._rows[key] = row_id
        return row_id

    def body(self, kind: str, row_id: int) -> dict[str, Any] | None:
        """Return a copy of the item injected as this row (None: a row of the simulator's own)."""
        given = self._bodies.get(row_id) if kind in KINDS else None
        return None if given is None else copy.deepcopy(given)  # a fault may corrupt what is served

    def _tenant_of(self, item: dict[str, Any], tenant: object) -> int:
        known = {record.id: int(record.id) for record in self._world.tenants}
        if tenant is not None:
            if str(tenant) not in known:
                raise bad_request(
                    "tenant must name a tenant of the world", parameter="tenant", value=str(tenant)
                )
            return known[str(tenant)]
        nested = item.get("tenant")
        named = nested.get("id") if isinstance(nested, dict) else item.get("tenant_id")
        for record in self._world.tenants:
            if str(named) in (record.id, record.uuid):
                return int(record.id)
        return ROOT_TENANT_ID


def _item_key(item: dict[str, Any]) -> str | None:
    """Return the item's own id as the exporter reads it (idString, else id); None when it has none."""
    for name in ("idString", "id"):
        value = item.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            return str(value)
    return None


def _task_row(row_id: int, item: dict[str, Any], tenant_id: int, now: float) -> tuple[object, ...]:
    """Build the tasks-table row an injected item is filtered, ordered and counted by."""
    result = item.get("result")
    code = result.get("code") if isinstance(result, dict) else item.get("result_code")
    blockers = item.get("blockers")
    values: dict[str, object] = {
        "id": row_id,
        "uuid": _text(item.get("uuid")).lower(),
        "state": _text(item.get("state")),
        "type": _text(item.get("type")),
        "queue": _text(item.get("queue")),
        "priority": _text(item.get("priority")),
        "tenant_id": tenant_id,
        "result_code": _text(code),
        **{column: _ns(item.get(name)) for column, name in _TIMES.items()},
        "written_at": to_ns(now) if item.get("state") == "completed" else 0,
        "cancel_requested": int(item.get("cancelRequested") is True),
        "assign_count": _count(item.get("assignCount")),
        "blocked": int(isinstance(blockers, list) and bool(blockers)),
        "started_by": _text(item.get("startedBy")),
        "policy_ref": _NO_LINK,
        "resource_ref": _NO_LINK,
        "workflow_id": 0,
        "tags": "",
        "variant": 0,
        "deleted": 0,
    }
    return tuple(values[column] for column in schema.TASK_COLUMNS)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < INT64_MAX else 0


def _ns(value: object) -> int:
    """Return a time the item gives in the store's nanoseconds; 0 (unset) for "", null or garbage."""
    if not isinstance(value, str) or not value:
        return 0
    try:
        return max(parse_time(value), 0)
    except ValueError:
        return 0
