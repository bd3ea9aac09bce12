"""Pydantic models of Task Manager's Task and Activity, with the real payload quirks.

The simulator serves items through these models, and a test parses the reference's
example bodies and a real response with them, so served shapes cannot drift from
the reference. Every field is optional because each `lod` returns a subset, and
unknown fields are rejected so a typo in the simulator cannot go unnoticed.

Quirks modelled (API-NOTES.md, "Real payloads"): 64-bit ids with string twins;
`""` for unset times; `tenant.uuid` may be missing; `result.payload` may be a
string; `type` may be a GUID; `context` and `argument` are free-form.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

State = Literal["enqueued", "assigned", "started", "paused", "completed"]
Priority = Literal["low", "belowNormal", "normal", "aboveNormal", "high"]
# "" is what an open task's result code reads as; the reference example shows "ok" on an enqueued task.
ResultCode = Literal["ok", "error", "warning", "cancelled", "abandoned", "timedout", ""]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def _check_time(value: str) -> str:
    if value and not _RFC3339.match(value):
        raise ValueError(f"not an RFC3339 time: {value!r}")
    return value


Timestamp = Annotated[str, AfterValidator(_check_time)]
"""RFC3339 (fraction up to nanoseconds), or `""` when unset."""


class _Shape(BaseModel):
    # Python names are snake_case; the wire names are their camelCase aliases.
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True)


class KbLink(_Shape):
    """Components of a knowledge-base link in an error body."""

    line_tag: str = ""
    ser_code: str = ""
    version: str = ""
    build: int = 0
    product: str = ""
    os: str = ""


class ErrorBody(_Shape):
    """The documented error body, also used inside `result.error` and `result.warnings`."""

    domain: str
    code: str
    reason: str
    context: dict[str, Any] = {}
    kb_link: KbLink = KbLink()
    debug: dict[str, Any] = {}


class Result(_Shape):
    """An execution result; lod=short carries only `code`."""

    code: ResultCode
    error: ErrorBody | None = None
    warnings: list[ErrorBody] | None = None
    payload: dict[str, Any] | str | None = None  # a string in real responses


class Tenant(_Shape):
    """A tenant identity; `uuid` is missing on some real tenants although the schema requires it."""

    id: str
    uuid: str | None = None
    name: str
    locator: str


class Actor(_Shape):
    """An executor or issuer; empty strings, not null, when there is none."""

    id: str
    cluster_id: str


class Link(_Shape):
    """A link to a policy or a resource."""

    name: str
    id: str
    type: str


class KeyContext(_Shape):
    """An issue or solution key with its context, inside a blocker."""

    key: str
    context: dict[str, Any] = {}


class Blocker(_Shape):
    """A reason a task cannot complete without a person's input."""

    task_id: int
    tenant: Tenant
    id: int
    possible_solutions: list[KeyContext]
    issue: KeyContext
    uuid: str
    solution: KeyContext
    activity_id: int


class Bottleneck(_Shape):
    """Where a running task spends its time, in percent."""

    source: int
    destination: int
    processing: int


class Progress(_Shape):
    """A progress value."""

    current: int
    bytes_processed: int
    processing_speed: int
    left_time: str
    bytes_saved: int
    bottleneck: Bottleneck
    total: int


class Affinity(_Shape):
    """The agent or cluster a task is bound to."""

    agent_id: str
    cluster_id: str


class _Common(_Shape):
    """Fields tasks and activities share; all optional because `lod` picks a subset."""

    id: int | None = None
    id_string: str | None = None  # ids exceed 2^53: JavaScript clients need the string
    uuid: str | None = None
    state: State | None = None
    type: str | None = None
    tenant: Tenant | None = None
    result: Result | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    policy: Link | None = None
    resource: Link | None = None
    executor: Actor | None = None
    progress: Progress | None = None
    tags: list[str] | None = None
    started_by_user: str | None = None
    workflow_id: int | None = None
    cancellable: bool | None = None
    sustainable: bool | None = None
    context: Any = None
    debug: dict[str, Any] | None = None


class Task(_Common):
    """A Task Manager task as GET /tasks and /tasks/{id} return it."""

    queue: str | None = None
    priority: Priority | None = None
    enqueued_at: Timestamp | None = None
    assigned_at: Timestamp | None = None
    cancel_requested: bool | None = None
    assign_count: int | None = None
    issuer: Actor | None = None
    blockers: list[Blocker] | None = None
    argument: Any = None
    ack_timeout: str | None = None
    queue_timeout: str | None = None
    heart_beat_interval: str | None = None
    exec_timeout: str | None = None
    life_time: str | None = None
    max_assign_count: int | None = None
    affinity: Affinity | None = None


class Activity(_Common):
    """A Task Manager activity: `createdAt` where tasks have `enqueuedAt`; no queue or priority."""

    created_at: Timestamp | None = None
    task_id: int | None = None
    task_id_string: str | None = None
    parent_activity_id: int | None = None
    parent_activity_id_string: str | None = None


class Cursors(_Shape):
    """Page cursors; the last page has no (or an empty) `after`."""

    after: str | None = None
    before: str | None = None


class Paging(_Shape):
    """Where Acronis's guides and real clients find the cursors."""

    cursors: Cursors


class TaskPage(_Shape):
    """A page of GET /tasks: cursors under `paging` (default) or at the top level (the reference)."""

    items: list[Task]
    paging: Paging | None = None
    cursors: Cursors | None = None


class ActivityPage(_Shape):
    """A page of GET /activities."""

    items: list[Activity]
    paging: Paging | None = None
    cursors: Cursors | None = None
