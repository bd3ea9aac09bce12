"""The nested parts of rendered items, derived deterministically from a row.

Nothing here is stored: a row's `variant` bits pick payload shapes, progress and
the like, so the same row always renders the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.api_errors import error_body

if TYPE_CHECKING:
    from simulator.population import Linked, World

_SCHEDULER = "5e1b06e5-3f44-4f8a-9d2c-2c1f6b1d8a11"  # the policy scheduler that issues scheduled tasks
_NOT_CANCELLABLE = {"A59E8BF2-39C3-42C4-B667-CB672381A214", "CollectSystemInfo", "VaultCompact"}
_GIB = 1 << 30


def tenant(world: World, tenant_id: int) -> dict[str, Any]:
    """Render `{id, uuid, name, locator}`, without `uuid` where the tenant has none."""
    record = world.tenant(tenant_id)
    item = {"id": record.id, "name": record.name, "locator": record.locator}
    if record.uuid is not None:
        item["uuid"] = record.uuid
    return item


def executor(resource: Linked, *, assigned: bool) -> dict[str, str]:
    """Render the executing agent; empty strings, not null, before assignment."""
    if not assigned:
        return {"id": "", "clusterId": ""}
    return {"id": resource.agent_id, "clusterId": resource.cluster_id}


def issuer(r: dict[str, Any]) -> dict[str, str]:
    """Render who created the task: the scheduler for scheduled ones, else nobody we can name."""
    return {"id": _SCHEDULER if "scheduled" in r["tags"] else "", "clusterId": ""}


def cancellable(task_type: str) -> bool:
    """Tell whether this type of task can be cancelled."""
    return task_type not in _NOT_CANCELLABLE


def progress(r: dict[str, Any]) -> dict[str, Any]:
    """Render progress: full when completed, partial while running, zero before."""
    total = 100
    if r["state"] == "completed":
        current = total
    elif r["started_at"]:
        current = r["variant"] % total
    else:
        current = 0
    processed = (r["variant"] % 50 + 1) * _GIB * current // total
    return {
        "current": current,
        "bytesProcessed": processed,
        "processingSpeed": 0 if r["state"] == "completed" else r["variant"] % 200 * 1_048_576,
        "leftTime": "" if r["state"] == "completed" else f"{r['variant'] % 3600}s",
        "bytesSaved": processed // 3,
        "bottleneck": {"source": r["variant"] % 60, "destination": 20, "processing": 40 - r["variant"] % 20},
        "total": total,
    }


def full_result(r: dict[str, Any]) -> dict[str, Any]:
    """Render the whole result: error and warnings where they apply; payload a dict or a string."""
    code = r["result_code"]
    result: dict[str, Any] = {"code": code}
    if code in ("error", "timedout", "abandoned"):
        reason = {"error": "BackupFailed", "timedout": "ExecTimeout", "abandoned": "HeartbeatLost"}[code]
        result["error"] = error_body("TaskManager", reason, f"task finished with {code}")
    if code == "warning":
        result["warnings"] = [error_body("BackupManager", "SlowStorage", "the target storage was slow")]
    if code:
        # Real payloads are sometimes a bare string (seeds/004).
        odd = r["variant"] % 3 == 0
        result["payload"] = "MachineManagement::TaskResponse" if odd else {"bytesSaved": r["variant"] * 1024}
    return result


def blockers(r: dict[str, Any], world: World) -> list[dict[str, Any]]:
    """Render the one blocker of a task waiting for a person."""
    return [
        {
            "taskId": r["id"],
            "tenant": tenant(world, r["tenant_id"]),
            "id": r["id"] + 1,
            "possibleSolutions": [{"key": "retry", "context": {}}, {"key": "skip", "context": {}}],
            "issue": {"key": "UserInteractionRequired", "context": {"question": "Insert the next tape"}},
            "uuid": r["uuid"][:-4] + "b10c",
            "solution": {"key": "", "context": {}},
            "activityId": 0,
        }
    ]


def full_task(r: dict[str, Any], world: World) -> dict[str, Any]:
    """Render the fields lod=full adds to a task."""
    resource = world.resources[r["resource_ref"]]
    return {
        "context": _context(r, resource),
        "argument": {"resourceId": resource.id, "tenantId": str(r["tenant_id"])},
        "ackTimeout": "5s",
        "queueTimeout": "24h" if r["priority"] in ("low", "belowNormal") else "",
        "heartBeatInterval": "30s",
        "execTimeout": "12h",
        "lifeTime": "",
        "maxAssignCount": 3,
        "affinity": {"agentId": resource.agent_id, "clusterId": resource.cluster_id},
    }


def full_activity(r: dict[str, Any], world: World) -> dict[str, Any]:
    """Render the fields lod=full adds to an activity."""
    return {"context": _context(r, world.resources[r["resource_ref"]])}


def _context(r: dict[str, Any], resource: Linked) -> dict[str, Any]:
    return {
        "IsProcessRoot": not r.get("parent_id", 0),
        "Persistent": {"AgentType": "agent", "ID": resource.agent_id, "Name": resource.name,
                       "OwnerID": str(r["tenant_id"])},
        "title": f"{r['type']} on '{resource.name}'",
    }  # fmt: skip
