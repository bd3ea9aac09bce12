"""Bulk generation of the seeded history that exists when the simulator starts.

Completions are spread at `completion_rate` over the past, so the history spans
(tasks - open_tasks) / completion_rate seconds; open tasks are caught mid-life.
Rows are streamed into executemany in id order and indexes are built afterwards:
that is what makes a million tasks load within a minute.
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING

from simulator import lifecycle, parallel, spawn
from simulator.population import make_uuid

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator

    from simulator.lifecycle import Plan
    from simulator.store import Store

_PARALLEL_FROM = 50_000  # below this, forking costs more than it saves
_DELETED_SHARE = 0.003  # soft-deleted completed tasks, hidden unless allow_deleted=true
Started = tuple[float, int, spawn.TaskSeed, "Plan", lifecycle.TaskState]  # a task with activities by now


@dataclass
class OpenTask:
    """A task the live workload still has to move along."""

    task_id: int
    seed: spawn.TaskSeed
    plan: Plan
    activity_ids: list[int] = field(default_factory=list)  # root first; empty until started


@dataclass
class History:
    """What generation hands to the live workload."""

    open_tasks: dict[int, OpenTask]
    task_ids: spawn.IdAllocator
    activity_ids: spawn.IdAllocator


def generate(  # noqa: PLR0913  one call site, every argument is needed
    store: Store, spawner: spawn.Spawner, rng: random.Random, *, tasks: int, open_tasks: int, rate: float,
    now: float, activity_rng: random.Random,
) -> History:  # fmt: skip
    """Create `tasks` tasks (of which `open_tasks` are still open at `now`) and their activities."""
    with _collector_paused():
        entries = _draw(spawner, rng, completed=tasks - open_tasks, still_open=open_tasks, rate=rate, now=now)
        entries.sort(key=itemgetter(0))  # ids grow with enqueue time
        made = _number(entries, rng, now)
        del entries
        made.started.sort(key=itemgetter(0, 1))  # activity ids grow with creation time
        history = _load(store, made, activity_rng)
        # Free the bulk before the collector resumes: its first pass scans every object
        # made during the pause that is still alive, seconds' worth at a million tasks.
        del made
    return history


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of tuples are made.

    They hold no reference cycles, yet every allocation burst would set off a
    collection that rescans all the tuples made so far.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(store: Store, made: _Numbered, activity_rng: random.Random) -> History:
    """Write the tasks and activities, in a forked helper when the history is large."""
    activities = _ActivityRows(made.started, activity_rng, made.deleted)
    if len(made.tasks) >= _PARALLEL_FROM and parallel.can_fork():
        last_activity = parallel.load_split(store, made.task_rows(), activities)
        for task_id, activity_id in store.read(
            "SELECT task_id, id FROM activities WHERE deleted = 0 AND state != 'completed' ORDER BY id"
        ):
            made.open_map[task_id].activity_ids.append(activity_id)
    else:
        store.bulk_insert("tasks", made.task_rows())
        store.bulk_insert("activities", activities.rows(made.open_map))
        store.build_indexes("tasks")
        store.build_indexes("activities")
        last_activity = activities.last_id
    return History(made.open_map, made.task_ids, spawn.IdAllocator(last_activity))


@dataclass
class _Numbered:
    """Tasks with ids and their state at `now`, sorted out into open, deleted and started ones."""

    task_ids: spawn.IdAllocator = field(default_factory=spawn.IdAllocator)
    tasks: list[tuple[int, spawn.TaskSeed, Plan, lifecycle.TaskState]] = field(default_factory=list)
    open_map: dict[int, OpenTask] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    started: list[Started] = field(default_factory=list)

    def task_rows(self) -> Iterator[tuple[object, ...]]:
        """Yield the tasks-table rows in id order, made as they are inserted rather than kept."""
        deleted = self.deleted
        for task_id, seed, plan, state in self.tasks:
            row = spawn.task_row(task_id, seed, plan, state)
            yield (*row[:-1], 1) if task_id in deleted else row


def _number(entries: list[tuple[float, spawn.TaskSeed, Plan]], rng: random.Random, now: float) -> _Numbered:
    """Give tasks ids in enqueue order and work out how each stands at `now`."""
    made = _Numbered()
    for enqueued, seed, plan in entries:
        task_id = made.task_ids.next(enqueued)
        state = lifecycle.state_at(plan, now)
        if plan.written > now:
            made.open_map[task_id] = OpenTask(task_id, seed, plan)
        elif rng.random() < _DELETED_SHARE or not made.deleted:  # at least one, so allow_deleted shows
            made.deleted.add(task_id)
        if plan.started <= now:
            made.started.append((plan.started, task_id, seed, plan, state))
        made.tasks.append((task_id, seed, plan, state))
    return made


def _draw(  # noqa: PLR0913  keyword-only knobs of one private call
    spawner: spawn.Spawner, rng: random.Random, *, completed: int, still_open: int, rate: float, now: float
) -> list[tuple[float, spawn.TaskSeed, Plan]]:
    """Draw every task's seed and plan; completions are uniform over the history span."""
    span = completed / rate
    entries = []
    for _ in range(completed):
        seed = spawner.seed()
        lifetime = spawner.lifetime(seed)
        written = now - rng.random() * span
        entries.append((written - lifetime, seed, spawner.plan(seed, written - lifetime, lifetime)))
    for _ in range(still_open):
        seed = spawner.seed(open_now=True)
        lifetime = spawner.lifetime(seed, open_now=True)
        enqueued = now - rng.random() * lifetime
        entries.append((enqueued, seed, spawner.plan(seed, enqueued, lifetime)))
    return entries


class _ActivityRows:
    """The activity rows of the history, made in creation order (ids grow with creation time)."""

    def __init__(self, started: list[Started], rng: random.Random, deleted: set[int]) -> None:
        self._started = started
        self._rng = rng
        self._deleted = deleted
        self._ids = spawn.IdAllocator()

    @property
    def last_id(self) -> int:
        """The largest id handed out so far."""
        return self._ids.last

    def rows(self, open_map: dict[int, OpenTask] | None = None) -> Iterator[tuple[object, ...]]:
        """Yield every row; record open tasks' activity ids in `open_map` when given."""
        for created, task_id, seed, plan, state in self._started:
            root = 0
            for index in range(plan.children + 1):
                activity_id = self._ids.next(created)
                root = root or activity_id
                key = spawn.ActivityKey(activity_id, root if index else 0, index, task_id)
                row = spawn.activity_row(key, seed, plan, state, make_uuid(self._rng))
                if open_map is not None and task_id in open_map:
                    open_map[task_id].activity_ids.append(activity_id)
                yield (*row[:-1], 1) if task_id in self._deleted else row
