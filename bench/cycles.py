"""Tell the exporter's poll cycles apart from the outside, without touching the exporter.

A cycle starts with the first request the simulator sees after a quiet spell, and ends
once the simulator has heard nothing for a while *and* the exporter's CPU clock has
stopped moving (it may still be folding the last page into a snapshot). Scraping the
exporter to ask would cost it CPU inside the very window being measured.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bench import procstat
from bench.traffic import CycleTraffic, summarise

if TYPE_CHECKING:
    from exporter.simulator.requestlog import RequestRecord

_QUIET_SECONDS = 0.6  # no request and no CPU tick for this long: the cycle is over
_POLL_SECONDS = 0.05


class RequestSource(Protocol):
    """What the watcher needs of a simulator: its request log."""

    def entries(self) -> list[RequestRecord]:
        """Return every request answered so far, oldest first."""
        ...


@dataclass(frozen=True)
class Cycle:
    """One poll cycle as seen from the simulator and /proc."""

    traffic: CycleTraffic
    cpu_seconds: float  # exporter CPU from the idle before the cycle to the idle after
    wall_seconds: float  # first request's arrival to the last response (its arrival + latency)
    started_unix: float  # wall-clock time of the first request, for the simulator's truth

    @property
    def entries(self) -> int:
        """Requests in the cycle."""
        return self.traffic.requests


class CycleWatcher:
    """Follows one exporter process and one simulator's request log, cycle by cycle."""

    def __init__(self, log: RequestSource, pid: int, *, latency: float) -> None:
        self._log = log
        self._pid = pid
        self._latency = latency
        self._seen = len(log.entries())
        self._cpu_at_idle = procstat.cpu_seconds(pid)
        self._wake = threading.Event()  # never set: a pause that is not a bare sleep
        self._unix_offset = time.time() - time.monotonic()

    def next_cycle(self, timeout: float) -> Cycle:
        """Wait for the next cycle to start and finish; return what it cost."""
        deadline = time.monotonic() + timeout
        while len(self._log.entries()) <= self._seen:
            self._pause(deadline, "the exporter's next poll")
        entries = self._wait_for_idle(deadline)
        cpu_now = procstat.cpu_seconds(self._pid)
        cpu, self._cpu_at_idle = cpu_now - self._cpu_at_idle, cpu_now
        traffic = summarise(entries)
        return Cycle(
            traffic=traffic,
            cpu_seconds=cpu,
            wall_seconds=traffic.last_arrival - traffic.started_at + self._latency,
            started_unix=traffic.started_at + self._unix_offset,
        )

    def _wait_for_idle(self, deadline: float) -> list[RequestRecord]:
        quiet_since = time.monotonic()
        last = (len(self._log.entries()), procstat.cpu_seconds(self._pid))
        while time.monotonic() - quiet_since < _QUIET_SECONDS:
            self._pause(deadline, "the exporter's poll to finish")
            now = (len(self._log.entries()), procstat.cpu_seconds(self._pid))
            if now != last:
                quiet_since, last = time.monotonic(), now
        entries = self._log.entries()
        cycle, self._seen = entries[self._seen :], len(entries)
        return cycle

    def _pause(self, deadline: float, what: str) -> None:
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        self._wake.wait(_POLL_SECONDS)
