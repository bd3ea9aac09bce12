"""The SQLite layout: one table per kind, holding what filters, orders and renders need.

Times are integer nanoseconds with 0 for unset, so "" sorts first
as it would as a string and keyset comparisons never meet NULL.

Indexes are partial (`WHERE deleted = 0`): every query without `allow_deleted`
says `deleted = 0`, so counts stay index-only at a million rows.
"""

from __future__ import annotations

TASK_COLUMNS = (
    "id", "uuid", "state", "type", "queue", "priority", "tenant_id", "result_code",
    "enqueued_at", "assigned_at", "started_at", "completed_at", "updated_at", "written_at",
    "cancel_requested", "assign_count", "blocked", "started_by", "policy_ref", "resource_ref",
    "workflow_id", "tags", "variant", "deleted",
)  # fmt: skip

ACTIVITY_COLUMNS = (
    "id", "uuid", "state", "type", "tenant_id", "result_code",
    "created_at", "started_at", "completed_at", "updated_at", "written_at",
    "task_id", "parent_id", "sustainable", "started_by", "policy_ref", "resource_ref",
    "workflow_id", "tags", "variant", "deleted",
)  # fmt: skip

COLUMNS = {"tasks": TASK_COLUMNS, "activities": ACTIVITY_COLUMNS}

_INTEGER = {
    "id", "tenant_id", "enqueued_at", "assigned_at", "started_at", "completed_at", "updated_at",
    "written_at", "cancel_requested", "assign_count", "blocked", "policy_ref", "resource_ref",
    "workflow_id", "variant", "deleted", "created_at", "task_id", "parent_id", "sustainable",
}  # fmt: skip


def create_tables(kind: str) -> str:
    """DDL for one kind's table, without indexes (they are built after bulk loading)."""
    columns = []
    for name in COLUMNS[kind]:
        if name == "id":
            columns.append("id INTEGER PRIMARY KEY")
        else:
            columns.append(f"{name} {'INTEGER' if name in _INTEGER else 'TEXT'} NOT NULL")
    return f"CREATE TABLE IF NOT EXISTS {kind} ({', '.join(columns)})"


REFERENCE_TABLES = (
    "CREATE TABLE IF NOT EXISTS tenants (id INTEGER PRIMARY KEY, locator TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS policies (ref INTEGER PRIMARY KEY, id TEXT, name TEXT, type TEXT)",
    (
        "CREATE TABLE IF NOT EXISTS resources (ref INTEGER PRIMARY KEY, id TEXT, name TEXT, type TEXT,"
        " agent_id TEXT, cluster_id TEXT)"
    ),
)

_INDEXES = {
    # Kept to what the exporter's queries need: each index costs start-up time at a million rows.
    # Ids grow with enqueue/creation time, so id order already serves enqueuedAt/createdAt.
    "tasks": (
        ("state", "queue", "result_code"),  # counts by state, queue and result
        ("state", "result_code"),
        ("completed_at",),  # completion windows and keyset on completedAt
        ("updated_at",),
    ),
    "activities": (
        ("state", "result_code"),
        ("completed_at",),
        ("task_id",),
    ),
}


def create_indexes(kind: str) -> list[str]:
    """DDL for one kind's partial indexes."""
    return [
        f"CREATE INDEX IF NOT EXISTS {kind}_{'_'.join(cols)} ON {kind} ({', '.join(cols)}) WHERE deleted = 0"
        for cols in _INDEXES[kind]
    ]


def insert_sql(kind: str) -> str:
    """Return the INSERT statement for one kind, in COLUMNS order."""
    names = COLUMNS[kind]
    return f"INSERT INTO {kind} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608  names are ours
