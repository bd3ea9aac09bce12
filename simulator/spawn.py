"""Making tasks: their fixed attributes, their ids, and the table rows they become.

History generation and the live workload both spawn tasks here, so a task made
at start-up and one made an hour later are drawn from the same distributions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from simulator import catalog, lifecycle
from simulator.population import make_uuid
from simulator.sampling import Weighted, pick
from simulator.timefmt import to_ns

if TYPE_CHECKING:
    import random

    from simulator.population import World

_ID_EPOCH = 1_420_070_400  # 2015-01-01: ids are microseconds since then, shifted past 2^53
_ID_SHIFT = 12
_TAGS = Weighted((",scheduled,", ",manual,", ",scheduled,critical,", ",manual,retry,", ""), (62, 22, 6, 4, 6))
_CHILDREN = Weighted((0, 1, 2), (0.6, 0.3, 0.1))  # 1-3 activities per started task


class IdAllocator:
    """Hands out 64-bit ids above 2^53 that increase with creation time, like the real ones."""

    def __init__(self, last: int = 0) -> None:
        self.last = last

    def next(self, created: float) -> int:
        """Return a fresh id for something created at `created` (Unix seconds)."""
        self.last = max(self.last + 1, int((created - _ID_EPOCH) * 1_000_000) << _ID_SHIFT)
        return self.last


class TaskSeed(NamedTuple):
    """What never changes about a task once enqueued (a NamedTuple: start-up makes millions)."""

    uuid: str
    type_index: int
    queue: str
    priority: str
    tenant_id: int
    started_by: str
    policy_ref: int  # -1 when the task type has no policy
    resource_ref: int
    workflow_id: int
    tags: str  # ",a,b," so `tag=a` is a LIKE match
    variant: int  # random bits that pick rendering details (payload, progress) deterministically
    child_types: tuple[str, ...]
    sustainable: tuple[bool, ...]  # per activity, root first

    @property
    def spec(self) -> catalog.TaskType:
        """The task type's catalogue entry."""
        return catalog.TASK_TYPES[self.type_index]


class Spawner:
    """Draws new tasks (fixed attributes plus a life plan) from the seeded distributions."""

    def __init__(self, rng: random.Random, world: World, scale: float, late_write_max: float) -> None:
        self._rng = rng
        self._world = world
        self._scale = scale
        self._late = late_write_max
        self._tenants = Weighted(world.workload_tenants, world.tenant_weights)
        indexes = range(len(catalog.TASK_TYPES))
        self._types = Weighted(indexes, [spec.weight for spec in catalog.TASK_TYPES])
        # Tasks caught open at an instant are biased towards long types (inspection paradox).
        biased = [spec.weight * spec.median_seconds * 2.0 ** (spec.sigma**2) for spec in catalog.TASK_TYPES]
        self._open_types = Weighted(indexes, biased)
        self._priorities = [Weighted(catalog.PRIORITIES, spec.priorities) for spec in catalog.TASK_TYPES]
        policies: dict[int, dict[str, tuple[int, ...]]] = {tenant: {} for tenant in world.workload_tenants}
        for (owner, kind), refs in world.policies_of.items():
            policies[owner][kind] = tuple(refs)
        # One lookup per draw instead of three (users, resources, policies by type).
        self._owned = {
            tenant: (tuple(world.users_of[tenant]), tuple(world.resources_of[tenant]), policies[tenant])
            for tenant in world.workload_tenants
        }

    def seed(self, *, open_now: bool = False) -> TaskSeed:
        """Draw a task's fixed attributes (written for speed: start-up draws a million)."""
        rng = self._rng
        draw = rng.random
        type_index = (self._open_types if open_now else self._types).pick(rng)
        spec = catalog.TASK_TYPES[type_index]
        tenant = self._tenants.pick(rng)
        users, resources, policies_by_type = self._owned[tenant]
        policies = policies_by_type.get(spec.policy_type or "", ())
        children = _CHILDREN.pick(rng)
        return TaskSeed(
            make_uuid(rng),
            type_index,
            spec.queues[int(draw() * len(spec.queues))],
            self._priorities[type_index].pick(rng),
            tenant,
            users[int(draw() * len(users))],
            policies[int(draw() * len(policies))] if policies else -1,
            resources[int(draw() * len(resources))],
            rng.getrandbits(40) + 1 if draw() < 0.1 else 0,  # noqa: PLR2004  ~10% in workflows
            _TAGS.pick(rng),
            rng.getrandbits(31),
            tuple([pick(rng, catalog.ACTIVITY_CHILD_TYPES) for _ in range(children)]) if children else (),
            tuple([draw() < 0.1 for _ in range(children + 1)]),  # noqa: PLR2004  ~10% sustainable
        )

    def lifetime(self, seed: TaskSeed, *, open_now: bool = False) -> float:
        """Draw how long a task lives from enqueue to completion, in seconds."""
        return lifecycle.draw_lifetime(self._rng, seed.spec, self._scale, length_biased=open_now)

    def plan(self, seed: TaskSeed, enqueued: float, lifetime: float) -> lifecycle.Plan:
        """Draw a life plan starting at `enqueued`."""
        return lifecycle.make_plan(self._rng, enqueued, lifetime, self._late, len(seed.child_types))

    def uuid(self) -> str:
        """Draw an activity uuid."""
        return make_uuid(self._rng)


def task_row(
    task_id: int, seed: TaskSeed, plan: lifecycle.Plan, st: lifecycle.TaskState
) -> tuple[object, ...]:
    """Build the tasks-table row (schema.TASK_COLUMNS order) of a task in state `st`."""
    return (
        task_id, seed.uuid, st.state, seed.spec.name, seed.queue, seed.priority, seed.tenant_id,
        st.result_code, to_ns(plan.enqueued), to_ns(st.assigned_at), to_ns(st.started_at),
        to_ns(st.completed_at), to_ns(st.updated_at), to_ns(st.written_at), int(st.cancel_requested),
        st.assign_count, int(st.blocked), seed.started_by, seed.policy_ref, seed.resource_ref,
        seed.workflow_id, seed.tags, seed.variant, 0,
    )  # fmt: skip


def task_changes(st: lifecycle.TaskState) -> tuple[object, ...]:
    """Return the mutable task columns of state `st`, in TASK_MUTABLE order."""
    return (
        st.state, st.result_code, to_ns(st.assigned_at), to_ns(st.started_at), to_ns(st.completed_at),
        to_ns(st.updated_at), to_ns(st.written_at), int(st.cancel_requested), st.assign_count,
        int(st.blocked),
    )  # fmt: skip


TASK_MUTABLE = (
    "state", "result_code", "assigned_at", "started_at", "completed_at", "updated_at", "written_at",
    "cancel_requested", "assign_count", "blocked",
)  # fmt: skip
ACTIVITY_MUTABLE = ("state", "result_code", "completed_at", "updated_at", "written_at")


def activity_changes(plan: lifecycle.Plan, index: int, st: lifecycle.TaskState) -> tuple[object, ...]:
    """Return the mutable columns of a task's `index`-th activity (0 = root), given its task's state."""
    if st.state != "completed":
        state = st.state if index == 0 else "started"
        updated = st.updated_at if index == 0 else plan.started
        return (state, "", 0, to_ns(updated), 0)
    # Children finish a moment before the root activity that waits for them.
    completed = (
        max(plan.started, plan.completed - 0.001 * (plan.children - index + 1)) if index else plan.completed
    )
    result = "ok" if index and plan.result == "error" else plan.result
    return ("completed", result, to_ns(completed), to_ns(completed + 0.004), to_ns(plan.written))


class ActivityKey(NamedTuple):
    """Which activity of which task a row is for."""

    activity_id: int
    parent_id: int  # 0 for the root activity
    position: int  # 0 for the root activity
    task_id: int


def activity_row(
    key: ActivityKey, seed: TaskSeed, plan: lifecycle.Plan, st: lifecycle.TaskState, uuid: str
) -> tuple[object, ...]:
    """Build the activities-table row (schema.ACTIVITY_COLUMNS order) of one of a task's activities."""
    activity_id, parent_id, index, task_id = key
    state, result, completed, updated, written = activity_changes(plan, index, st)
    kind = seed.spec.name if index == 0 else seed.child_types[index - 1]
    started = to_ns(plan.started)
    return (
        activity_id, uuid, state, kind, seed.tenant_id, result, started, started, completed, updated,
        written, task_id, parent_id, int(seed.sustainable[index]), seed.started_by, seed.policy_ref,
        seed.resource_ref, seed.workflow_id, seed.tags, seed.variant ^ index, 0,
    )  # fmt: skip
