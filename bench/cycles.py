"""Tell the exporter's poll cycles apart from the outside, and what each one cost.

The exporter logs one canonical ``poll_finished`` line per poll (after it publishes the
snapshot), with its own duration and item count; the harness waits for that line rather
than guessing from quiet on the wire, which a slow page would fake. Then it scrapes
/metrics once, as Prometheus would after every poll: the exporter renders a poll's
exposition on the first scrape, and that render's CPU is reported beside the poll's. The
requests come from the simulator's log, the CPU from /proc (10 ms ticks).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from bench import procstat
from bench.scrape_load import PROMETHEUS_HEADERS
from bench.traffic import CycleTraffic, summarise

if TYPE_CHECKING:
    from pathlib import Path

    from simulator.requestlog import RequestRecord

_POLL_SECONDS = 0.05
_POLL_FINISHED = "poll_finished"


class RequestSource(Protocol):
    """What the watcher needs of a simulator: its request log."""

    def entries(self) -> list[RequestRecord]:
        """Return every request answered so far, oldest first."""
        ...


@dataclass(frozen=True)
class Cycle:
    """One poll cycle as seen from the simulator, the exporter's log and /proc."""

    traffic: CycleTraffic
    cpu_seconds: float  # exporter CPU for the poll, from the idle before it to its poll_finished
    render_cpu_seconds: float  # exporter CPU for the one scrape after it, which renders the poll
    wall_seconds: float  # the exporter's own measure: poll start to snapshot published
    items: int  # items the exporter says it listed
    started_unix: float  # wall-clock time of the first request, for the simulator's truth


@dataclass(frozen=True)
class WatchedExporter:
    """Where to watch one exporter: its pid, its log file and its /metrics."""

    pid: int
    log_path: Path
    url: str


class CycleWatcher:
    """Follows one exporter process and one simulator's request log, cycle by cycle."""

    def __init__(self, requests: RequestSource, exporter: WatchedExporter) -> None:
        self._requests = requests
        self._exporter = exporter
        self._seen_requests = len(requests.entries())
        self._seen_polls = 0
        self._cpu_at_idle = procstat.cpu_seconds(exporter.pid)
        self._wake = threading.Event()  # never set: a pause that is not a bare sleep
        self._unix_offset = time.time() - time.monotonic()

    def next_cycle(self, timeout: float) -> Cycle:
        """Wait for the exporter's next poll to finish; scrape it once; return what it cost."""
        deadline = time.monotonic() + timeout
        while (finished := self._polls_finished())[self._seen_polls :] == []:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no poll_finished from the exporter within {timeout:g}s")
            self._wake.wait(_POLL_SECONDS)
        poll = finished[self._seen_polls]
        self._seen_polls += 1
        polled = procstat.cpu_seconds(self._exporter.pid)
        _scrape_like_prometheus(self._exporter.url)
        rendered = procstat.cpu_seconds(self._exporter.pid)
        cpu, self._cpu_at_idle = polled - self._cpu_at_idle, rendered
        entries = self._requests.entries()
        cycle_entries, self._seen_requests = entries[self._seen_requests :], len(entries)
        traffic = summarise(cycle_entries)
        return Cycle(
            traffic=traffic,
            cpu_seconds=cpu,
            render_cpu_seconds=rendered - polled,
            wall_seconds=float(poll.get("duration_seconds", float("nan"))),
            items=int(poll.get("items", 0)),
            started_unix=traffic.started_at + self._unix_offset,
        )

    def _polls_finished(self) -> list[dict[str, Any]]:
        text = self._exporter.log_path.read_text(encoding="utf-8", errors="replace")
        return [event for event in map(_json_line, text.splitlines()) if event.get("event") == _POLL_FINISHED]


def _json_line(line: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:  # a line cut mid-write, or not JSON at all
        return {}
    return event if isinstance(event, dict) else {}


def _scrape_like_prometheus(url: str) -> None:
    with httpx.Client(headers=PROMETHEUS_HEADERS, timeout=60.0) as client:
        client.get(f"{url}/metrics").raise_for_status()
