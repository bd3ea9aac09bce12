"""Rows to wire objects, one field set per `lod`.

Field sets (docs/simulator.md repeats them):

* tiny  — id, idString, uuid, state
* short — tiny + type, tenant, result {code}, startedAt, completedAt, updatedAt;
          tasks: queue, priority, enqueuedAt, assignedAt, cancelRequested, assignCount;
          activities: createdAt, taskId, taskIdString, parentActivityId(+String) on children
* long  — short + policy, resource, executor, progress, tags, startedByUser, workflowId,
          cancellable, sustainable, the full result; tasks: issuer, blockers
* full  — long + context; tasks: argument, ackTimeout, queueTimeout, heartBeatInterval,
          execTimeout, lifeTime, maxAssignCount, affinity
* debug — full + a `debug` object
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import details, schema
from simulator.timefmt import format_ns

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simulator.population import World

LEVEL = {"tiny": 0, "short": 1, "long": 2, "full": 3, "debug": 4}
_TASK_INDEX = {name: i for i, name in enumerate(schema.TASK_COLUMNS)}
_ACTIVITY_INDEX = {name: i for i, name in enumerate(schema.ACTIVITY_COLUMNS)}


def render(kind: str, row: Sequence[Any], lod: str, world: World) -> dict[str, Any]:
    """Render one row as the API shows it at `lod`."""
    index = _TASK_INDEX if kind == "tasks" else _ACTIVITY_INDEX
    r = {name: row[i] for name, i in index.items()}
    level = LEVEL[lod]
    item: dict[str, Any] = {"id": r["id"], "idString": str(r["id"]), "uuid": r["uuid"], "state": r["state"]}
    if level >= LEVEL["short"]:
        item.update(_short_task(r, world) if kind == "tasks" else _short_activity(r, world))
    if level >= LEVEL["long"]:
        item.update(_long(kind, r, world))
    if level >= LEVEL["full"]:
        item.update(details.full_task(r, world) if kind == "tasks" else details.full_activity(r, world))
    if level >= LEVEL["debug"]:
        item["debug"] = {"table": kind, "tenantId": r["tenant_id"], "deleted": bool(r["deleted"]),
                         "writtenAt": format_ns(r["written_at"]), "variant": r["variant"]}  # fmt: skip
    return item


def _short_task(r: dict[str, Any], world: World) -> dict[str, Any]:
    return {
        "type": r["type"],
        "queue": r["queue"],
        "priority": r["priority"],
        "tenant": details.tenant(world, r["tenant_id"]),
        "result": {"code": r["result_code"]},
        "enqueuedAt": format_ns(r["enqueued_at"]),
        "assignedAt": format_ns(r["assigned_at"]),
        "startedAt": format_ns(r["started_at"]),
        "completedAt": format_ns(r["completed_at"]),
        "updatedAt": format_ns(r["updated_at"]),
        "cancelRequested": bool(r["cancel_requested"]),
        "assignCount": r["assign_count"],
    }


def _short_activity(r: dict[str, Any], world: World) -> dict[str, Any]:
    item = {
        "type": r["type"],
        "tenant": details.tenant(world, r["tenant_id"]),
        "result": {"code": r["result_code"]},
        "createdAt": format_ns(r["created_at"]),
        "startedAt": format_ns(r["started_at"]),
        "completedAt": format_ns(r["completed_at"]),
        "updatedAt": format_ns(r["updated_at"]),
        "taskId": r["task_id"],
        "taskIdString": str(r["task_id"]),
    }
    if r["parent_id"]:  # the root activity has no parent: the key is absent (seeds/004)
        item["parentActivityId"] = r["parent_id"]
        item["parentActivityIdString"] = str(r["parent_id"])
    return item


def _long(kind: str, r: dict[str, Any], world: World) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if r["policy_ref"] >= 0:
        policy = world.policies[r["policy_ref"]]
        item["policy"] = {"name": policy.name, "id": policy.id, "type": policy.type}
    resource = world.resources[r["resource_ref"]]
    item["resource"] = {"name": resource.name, "id": resource.id, "type": resource.type}
    assigned = r["assigned_at"] if kind == "tasks" else r["started_at"]
    item["executor"] = details.executor(resource, assigned=bool(assigned))
    if kind == "tasks":
        item["issuer"] = details.issuer(r)
        item["blockers"] = details.blockers(r, world) if r["blocked"] else []
    item.update(
        progress=details.progress(r),
        tags=[tag for tag in r["tags"].split(",") if tag],
        startedByUser=r["started_by"],
        workflowId=r["workflow_id"],
        cancellable=details.cancellable(r["type"]),
        sustainable=bool(r.get("sustainable", 0)),
        result=details.full_result(r),
    )
    return item


# Seed 002's third-party task schema: these links flatten to their id, ``result`` to its code.
_FLAT_LINKS = {link: f"{link}_id" for link in ("tenant", "policy", "resource", "executor")}


def snake_case(task: dict[str, Any]) -> dict[str, Any]:
    """Return a served task in seed 002's flat snake_case shape (``task_shape="snake"``).

    ``tenant``, ``policy``, ``resource`` and ``executor`` become ``<name>_id``, ``result``
    becomes ``result_code``, each where the nested field stood; the camelCase times and every
    other field stay as they are. Names that only the nested links carry are lost, as in the seed.
    """
    flat: dict[str, Any] = {}
    for key, value in task.items():
        if key in _FLAT_LINKS and isinstance(value, dict):
            flat[_FLAT_LINKS[key]] = value.get("id")
        elif key == "result" and isinstance(value, dict):
            flat["result_code"] = value.get("code")
        else:
            flat[key] = value
    return flat
