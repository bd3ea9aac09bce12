"""Clocks that drive the simulator: a manual one for tests, the wall clock for demos."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the simulator's time in float Unix seconds."""

    def now(self) -> float:
        """Return the current time in Unix seconds."""
        ...


class WallClock:
    """The real time; the live demo and the CLI run on it."""

    def now(self) -> float:
        """Return `time.time()`."""
        return time.time()


class ManualClock:
    """A clock that moves only when told to, so tests are deterministic.

    Use `sim.workload.advance(seconds)` rather than `advance` here when the
    workload should also move; the simulator catches up lazily on the next
    request either way.
    """

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()  # request threads read while a test advances

    def now(self) -> float:
        """Return the current manual time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
            return self._now
