"""The live workload: new tasks arrive, open ones move through their planned lives.

Every transition is an event on a heap; `catch_up()` applies all events due by the
clock's time, in time order, drawing random numbers only in that order. So the
same seed and the same clock readings give the same data, however time is sliced.
"""

from __future__ import annotations

import heapq
import threading
from typing import TYPE_CHECKING

from simulator import lifecycle, spawn
from simulator.clock import ManualClock
from simulator.history import OpenTask

if TYPE_CHECKING:
    import random
    import sqlite3

    from simulator.clock import Clock
    from simulator.history import History
    from simulator.store import Store

_TASK_UPDATE = f"UPDATE tasks SET {', '.join(f'{c} = ?' for c in spawn.TASK_MUTABLE)} WHERE id = ?"  # noqa: S608  names are ours
_ACTIVITY_UPDATE = (
    f"UPDATE activities SET {', '.join(f'{c} = ?' for c in spawn.ACTIVITY_MUTABLE)} WHERE id = ?"  # noqa: S608  ditto
)
_ARRIVAL = -1  # heap entries with this task id are arrivals, not transitions


class Workload:
    """Keeps the simulated data centre moving on its clock."""

    def __init__(  # noqa: PLR0913  the parts it ties together
        self, store: Store, clock: Clock, spawner: spawn.Spawner, *, rng: random.Random, history: History,
        rate: float,
    ) -> None:  # fmt: skip
        self._store, self._clock, self._spawner, self._rng = store, clock, spawner, rng
        self._rate = rate
        self._open = history.open_tasks
        self._task_ids, self._activity_ids = history.task_ids, history.activity_ids
        self._lock = threading.Lock()  # one catch-up at a time: ticker, requests and tests may all call it
        self._now = clock.now()
        self._paused = False
        self._heap: list[tuple[float, int, int]] = []
        self._sequence = 0
        for task in self._open.values():
            self._schedule(task)
        self._push(self._now + rng.expovariate(rate), _ARRIVAL)

    @property
    def applied_until(self) -> float:
        """The clock time up to which transitions have been applied."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move a manual clock forward and apply every transition in that window."""
        if not isinstance(self._clock, ManualClock):
            raise TypeError("workload.advance needs a ManualClock; a wall clock advances by itself")
        self._clock.advance(seconds)
        self.catch_up()

    def pause(self) -> None:
        """Freeze the data: apply nothing until `resume()`, though the clock runs on.

        Returns once a catch-up in progress has been written, so every read that starts
        afterwards sees the same data: tests compare two counts taken at different instants.
        """
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        """Apply what fell due while paused and move on with the clock again."""
        with self._lock:
            self._paused = False
        self.catch_up()

    def catch_up(self) -> int:
        """Apply all transitions due by the clock's current time (none while paused); return how many."""
        with self._lock:
            if self._paused:
                return 0
            target = self._clock.now()
            applied = 0
            with self._store.write() as conn:
                while self._heap and self._heap[0][0] <= target:
                    when, _, task_id = heapq.heappop(self._heap)
                    if task_id == _ARRIVAL:
                        self._arrive(conn, when)
                    else:
                        self._transition(conn, self._open[task_id], when)
                    applied += 1
            self._now = max(self._now, target)
            return applied

    def _push(self, when: float, task_id: int) -> None:
        self._sequence += 1
        heapq.heappush(self._heap, (when, self._sequence, task_id))

    def _schedule(self, task: OpenTask) -> None:
        for moment in task.plan.transitions():
            if moment > self._now:
                self._push(moment, task.task_id)

    def _arrive(self, conn: sqlite3.Connection, when: float) -> None:
        seed = self._spawner.seed()
        plan = self._spawner.plan(seed, when, self._spawner.lifetime(seed))
        task = OpenTask(self._task_ids.next(when), seed, plan)
        self._open[task.task_id] = task
        row = spawn.task_row(task.task_id, seed, plan, lifecycle.state_at(plan, when))
        self._store.insert_row(conn, "tasks", row)
        self._schedule(task)
        self._push(when + self._rng.expovariate(self._rate), _ARRIVAL)

    def _transition(self, conn: sqlite3.Connection, task: OpenTask, when: float) -> None:
        plan = task.plan
        state = lifecycle.state_at(plan, when)
        self._store.update_row(conn, _TASK_UPDATE, (*spawn.task_changes(state), task.task_id))
        if when >= plan.started and not task.activity_ids:
            self._start_activities(conn, task, state)
        for index, activity_id in enumerate(task.activity_ids):
            changes = spawn.activity_changes(plan, index, state)
            self._store.update_row(conn, _ACTIVITY_UPDATE, (*changes, activity_id))
        if when >= plan.written:
            del self._open[task.task_id]

    def _start_activities(self, conn: sqlite3.Connection, task: OpenTask, state: lifecycle.TaskState) -> None:
        root = 0
        for index in range(task.plan.children + 1):
            activity_id = self._activity_ids.next(task.plan.started)
            root = root or activity_id
            key = spawn.ActivityKey(activity_id, root if index else 0, index, task.task_id)
            row = spawn.activity_row(key, task.seed, task.plan, state, self._spawner.uuid())
            self._store.insert_row(conn, "activities", row)
            task.activity_ids.append(activity_id)


class Ticker:
    """Background thread that keeps a wall-clock workload current (live mode)."""

    def __init__(self, workload: Workload, interval: float) -> None:
        self._workload = workload
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulator-ticker", daemon=True)

    def start(self) -> None:
        """Start ticking."""
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and wait for the thread to end."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._workload.catch_up()
