"""The simulated account: its tasks, the workload that moves them on the clock, and the truth.

Every change is an event on a heap keyed by whole-second times (Astra's timestamps have
whole seconds, so the truth computed here equals what the API shows); ``catch_up`` applies
the events due by the clock's time in order, drawing random numbers only in that order, so
a seed and the same clock readings give the same data however time is sliced.
"""

from __future__ import annotations

import heapq
import math
import threading
import uuid
from collections import Counter, deque
from typing import TYPE_CHECKING, Final

from simulator.astra.tasks import NAMES, OPEN, AstraTask
from simulator.clock import ManualClock

if TYPE_CHECKING:
    import random

    from simulator.astra.config import AstraConfig
    from simulator.clock import Clock

_ARRIVAL: Final = -1
_OUTCOMES: Final = (("completed", 0.82), ("failed", 0.12), ("cancel", 0.06))
_CANCEL_SECONDS: Final = 3.0
_LOG_MAX: Final = 200_000  # finished tasks the truth remembers (beyond the API's retention)
Finished = tuple[float, str, str, float | None]  # endTime, name, state, run seconds (None: never started)


class World:
    """Tasks of one account, moved on by the clock; safe to share between threads."""

    def __init__(self, config: AstraConfig, clock: Clock, rng: random.Random) -> None:
        self._config, self._clock, self._rng = config, clock, rng
        self._lock = threading.RLock()
        self._tasks: dict[int, AstraTask] = {}
        self._heap: list[tuple[float, int, int, str]] = []
        self._order = 0
        self._next_seq = 0
        self._finished_order: deque[int] = deque()
        self.finished_log: deque[Finished] = deque(maxlen=_LOG_MAX)
        self._now = float(math.floor(clock.now()))
        self._history(config.tasks, config.open_tasks)
        self._push(self._now + self._gap(), _ARRIVAL, "arrive")

    # --- reading --------------------------------------------------------------------------

    def tasks(self) -> list[AstraTask]:
        """Every retained task in listing order, brought up to the clock first."""
        self.catch_up()
        with self._lock:
            return [self._copy(task) for task in self._tasks.values()]

    @staticmethod
    def _copy(task: AstraTask) -> AstraTask:
        return AstraTask(**{**task.__dict__, "details": list(task.details)})

    def now(self) -> float:
        """Return the clock's time."""
        return self._clock.now()

    # --- moving ---------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move a manual clock forward and apply what fell due."""
        if not isinstance(self._clock, ManualClock):
            raise TypeError("advance needs a ManualClock")
        self._clock.advance(seconds)
        self.catch_up()

    def catch_up(self) -> int:
        """Apply every event due by the clock's time; return how many."""
        with self._lock:
            target = self._clock.now()
            applied = 0
            while self._heap and self._heap[0][0] <= target:
                when, _, seq, action = heapq.heappop(self._heap)
                self._apply(seq, action, when)
                applied += 1
            return applied

    def _apply(self, seq: int, action: str, when: float) -> None:
        if seq == _ARRIVAL:
            self._plan(self._create(when, parent=None), when)
            self._push(when + self._gap(), _ARRIVAL, "arrive")
            return
        task = self._tasks.get(seq)
        if task is None:
            return
        task.modified = when
        if action == "start":
            task.state, task.start, task.percent = "running", when, 5
        elif action == "cancel":
            task.state, task.cancel = "cancelling", when
        else:
            self._finish(task, action, when)

    def _finish(self, task: AstraTask, state: str, when: float) -> None:
        task.state, task.end = state, when
        task.percent = 100 if state == "completed" else task.percent
        if state == "failed":
            task.details = [{"type": "https://astra.netapp.io/stateDetails/1", "title": "Task failed",
                             "detail": "the snapshot could not be taken"}]  # fmt: skip
        run = None if task.start is None else when - task.start
        self.finished_log.append((when, task.name, state, run))
        self._finished_order.append(task.seq)
        while len(self._finished_order) > self._config.retain:
            self._tasks.pop(self._finished_order.popleft(), None)

    # --- planning -------------------------------------------------------------------------

    def _history(self, total: int, open_tasks: int) -> None:
        """Tasks finished in the past (the older ones), then the ones still open now."""
        now, rate = self._now, self._config.finish_rate
        for index in range(total - open_tasks):
            created = now - math.ceil((total - index) / rate) - self._config.mean_run * 2
            task = self._create(created, parent=None)
            start = created + math.ceil(self._rng.uniform(1, 20))
            end = min(now - 1, start + math.ceil(self._rng.expovariate(1 / self._config.mean_run)))
            task.state, task.start = "running", start
            self._finish(task, self._outcome(), end)
        for _ in range(open_tasks):
            created = now - math.ceil(self._rng.uniform(0, self._config.mean_run))
            self._plan(self._create(created, parent=None), created)

    def _outcome(self) -> str:
        pick = self._rng.random()
        for state, weight in _OUTCOMES:
            if pick < weight:
                return "failed" if state == "cancel" else state  # history keeps it simple
            pick -= weight
        return "completed"

    def _plan(self, task: AstraTask, created: float) -> None:
        """Schedule a task's life: start, then finish or cancel; due steps apply on catch-up."""
        start = created + math.ceil(self._rng.uniform(1, 20))
        end = start + math.ceil(self._rng.expovariate(1 / self._config.mean_run))
        pick = self._rng.random()
        self._push(start, task.seq, "start")
        if pick < _OUTCOMES[2][1]:
            self._push(end, task.seq, "cancel")
            self._push(end + _CANCEL_SECONDS, task.seq, "cancelled")
        else:
            self._push(end, task.seq, "failed" if pick < _OUTCOMES[1][1] + _OUTCOMES[2][1] else "completed")

    def _create(self, created: float, *, parent: str | None) -> AstraTask:
        self._next_seq += 1
        resource = uuid.UUID(int=self._rng.getrandbits(128), version=4)
        task = AstraTask(
            seq=self._next_seq,
            id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            name=self._rng.choice(NAMES),
            resource_id=str(resource),
            created=created,
            modified=created,
            parent=parent,
        )
        self._tasks[task.seq] = task
        return task

    def _gap(self) -> float:
        return float(max(1, math.ceil(self._rng.expovariate(self._config.finish_rate))))

    def _push(self, when: float, seq: int, action: str) -> None:
        self._order += 1
        heapq.heappush(self._heap, (float(when), self._order, seq, action))

    # --- the truth ------------------------------------------------------------------------

    def counts_by_state(self) -> Counter[str]:
        """Retained tasks per state."""
        return Counter(task.state for task in self.tasks())

    def open_groups(self) -> Counter[tuple[str, str]]:
        """Open tasks per (name, state)."""
        return Counter((t.name, t.state) for t in self.tasks() if t.state in OPEN)

    def oldest_open(self) -> dict[tuple[str, str], float]:
        """Per (name, state) of running or notStarted tasks: the earliest startTime, else creation."""
        oldest: dict[tuple[str, str], float] = {}
        for task in self.tasks():
            if task.state in ("running", "notStarted"):
                at = task.start if task.start is not None else task.created
                key = (task.name, task.state)
                oldest[key] = min(at, oldest.get(key, at))
        return oldest

    def finished_since(self, after: float) -> list[Finished]:
        """Tasks that finished strictly after ``after`` (Unix seconds)."""
        self.catch_up()
        with self._lock:
            return [entry for entry in self.finished_log if entry[0] > after]
