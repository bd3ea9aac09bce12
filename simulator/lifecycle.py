"""A task's whole life, decided when it is enqueued, and its state at any instant.

Deciding everything up front keeps the workload deterministic however a test
slices time: `workload.advance(60)` twice equals `advance(120)` once. History and
the live workload share this code, so old and new tasks look alike.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from simulator import catalog
from simulator.sampling import Weighted

if TYPE_CHECKING:
    import random

NEVER = math.inf
_RESULTS = Weighted(tuple(catalog.RESULT_WEIGHTS), tuple(catalog.RESULT_WEIGHTS.values()))
_ASSIGN_COUNTS = Weighted((1, 2, 3), (0.96, 0.03, 0.01))
_UPDATE_LAG = 0.004  # updatedAt trails completedAt by a few ms in real payloads (seeds/004)


class Plan(NamedTuple):
    """When each transition of one task happens; NEVER for the ones that do not."""

    enqueued: float
    assigned: float
    started: float
    pause: tuple[float, float] | None
    block: tuple[float, float] | None
    cancel_at: float
    written: float  # when the completion becomes visible in the API
    completed: float  # completedAt: up to late_write_max before `written` (backdated)
    result: str
    assign_count: int
    children: int  # child activities besides the root one

    def transitions(self) -> list[float]:
        """Every instant at which this task's visible row changes, in order."""
        times = [self.assigned, self.started, self.cancel_at, self.written]
        for interval in (self.pause, self.block):
            if interval is not None:
                times.extend(interval)
        return sorted(t for t in times if t != NEVER)


class TaskState(NamedTuple):
    """The mutable part of a task row at one instant (times in float seconds, 0 = unset)."""

    state: str
    result_code: str
    assigned_at: float
    started_at: float
    completed_at: float
    updated_at: float
    written_at: float
    cancel_requested: bool
    blocked: bool
    assign_count: int


def make_plan(
    rng: random.Random, enqueued: float, lifetime: float, late_write_max: float, children: int
) -> Plan:
    """Decide a task's life: result, waits, pauses, blockers, cancellation and late write."""
    result = _RESULTS.pick(rng)
    written = enqueued + lifetime
    never_started = (result == "cancelled" and rng.random() < 0.3) or (  # noqa: PLR2004  cancelled in queue
        result == "timedout" and rng.random() < 0.5  # noqa: PLR2004  queueTimeout hit
    )
    if never_started:
        assigned = started = NEVER
        pause = block = None
    else:
        assigned = enqueued + lifetime * rng.uniform(0.02, 0.12)
        started = min(assigned + rng.uniform(0.1, 3.0), assigned + (written - assigned) * 0.1)
        pause, block = _interruptions(rng, started, written)
    cancel_at = enqueued + lifetime * rng.uniform(0.4, 0.9) if result == "cancelled" else NEVER
    last = max([enqueued, *(t for t in (assigned, started, cancel_at) if t != NEVER)])
    for interval in (pause, block):
        if interval is not None:
            last = max(last, interval[1])
    completed = max(last, written - rng.uniform(0.0, late_write_max)) if late_write_max else written
    assign_count = 0 if assigned == NEVER else _ASSIGN_COUNTS.pick(rng)
    if result == "abandoned" and assign_count:
        assign_count += 1  # an abandoned task was handed out again before giving up
    return Plan(enqueued, assigned, started, pause, block, cancel_at, written, completed, result,
                assign_count, 0 if started == NEVER else children)  # fmt: skip


def _interruptions(
    rng: random.Random, started: float, written: float
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """Pick a pause (~6% of tasks) or a blocker waiting for a person (~2%) inside the run."""
    run = written - started
    draw = rng.random()
    if draw < 0.06:  # noqa: PLR2004  share of tasks that pause once
        begin = started + run * rng.uniform(0.2, 0.5)
        return (begin, begin + run * rng.uniform(0.1, 0.3)), None
    if draw < 0.08:  # noqa: PLR2004  share that block on a person: ~1% of open tasks at any time
        return None, (started + run * 0.25, started + run * 0.75)
    return None, None


def state_at(plan: Plan, t: float) -> TaskState:
    """Return what the API shows for this task at time `t`."""
    if t >= plan.written:
        return TaskState("completed", plan.result, _set(plan.assigned, t), _set(plan.started, t),
                         plan.completed, plan.completed + _UPDATE_LAG, plan.written,
                         plan.cancel_at <= t, blocked=False, assign_count=plan.assign_count)  # fmt: skip
    state = "enqueued"
    if t >= plan.started:
        state = "paused" if plan.pause and plan.pause[0] <= t < plan.pause[1] else "started"
    elif t >= plan.assigned:
        state = "assigned"
    updated = max([plan.enqueued, *(x for x in plan.transitions() if x <= t)])
    blocked = bool(plan.block and plan.block[0] <= t < plan.block[1])
    assign_count = plan.assign_count if t >= plan.assigned else 0
    return TaskState(state, "", _set(plan.assigned, t), _set(plan.started, t), 0.0, updated, 0.0,
                     plan.cancel_at <= t, blocked, assign_count)  # fmt: skip


def _set(moment: float, t: float) -> float:
    """Return a transition time if it has happened by `t`, else 0 (rendered as `""`)."""
    return moment if moment <= t else 0.0


def lifetime_scale(mean_lifetime: float) -> float:
    """Factor that makes the weighted mean of the per-type log-normals equal `mean_lifetime`."""
    total = sum(t.weight for t in catalog.TASK_TYPES)
    mean = sum(t.weight * t.median_seconds * math.exp(t.sigma**2 / 2) for t in catalog.TASK_TYPES) / total
    return mean_lifetime / mean


def draw_lifetime(rng: random.Random, spec: catalog.TaskType, scale: float, *, length_biased: bool) -> float:
    """Draw a log-normal lifetime; length-biased for tasks caught open at an instant.

    If L ~ LogNormal(mu, s^2), tasks alive at a random instant have LogNormal(mu + s^2, s^2).
    """
    mu = math.log(spec.median_seconds * scale) + (spec.sigma**2 if length_biased else 0.0)
    return max(0.05, rng.lognormvariate(mu, spec.sigma))
