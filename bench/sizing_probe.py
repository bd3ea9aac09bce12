"""One sizing point: a real exporter against a live simulator of one size, and what it cost.

The measuring core of ``bench.sizing``. At each scale the exporter (a process of its own)
polls every few seconds; its first poll is the cold one (baselines, and with
``--metrics.resources`` the start-up look-back walk), kept apart; the steady polls after it
are measured: requests per poll (the exporter's own count, which the simulator's log
matches when polls do not overrun), lod=count requests (from the simulator's log), CPU per poll and per first
scrape (from /proc), resident memory, and the series it exposes. Per-hour figures are given
at the exporter's default 60 s interval: the requests of a poll depend on open items and
completions per poll, not on the interval, at these completion rates.
"""

from __future__ import annotations

import contextlib
import json
import statistics
from dataclasses import dataclass
from typing import Any

import httpx

from bench import procstat
from bench.cycles import Cycle, CycleWatcher, WatchedExporter
from bench.exporter_process import ExporterOptions, running_exporter
from exporter.config import ApiSettings, PollSettings
from simulator import RunningSimulator, SimulatorConfig, start_simulator

POLL_INTERVAL = 5.0  # seconds: short, so a scale takes seconds; per-hour figures use the default
DEFAULT_INTERVAL = PollSettings().interval
PAGE_SIZE = ApiSettings().page_size
STEADY_POLLS = 4  # a poll's requests are cut from the next one's by its log line: average over several
COMPLETION_RATE = 1.0  # completions per second, as in the main benchmark's baseline
HISTORY = 30_000
WAIT_SECONDS = 300.0  # the cold poll with a look-back walks the whole history
SEED = 7


@dataclass(frozen=True)
class Scale:
    """One measured point: a series name, the simulator's size and extra exporter flags."""

    series: str  # what grows along the series: "open tasks", "tenants", or the resources pair
    open_tasks: int
    tenants: int
    flags: tuple[str, ...] = ()
    history: int = HISTORY
    interval: float = POLL_INTERVAL  # longer than a poll takes, so the request log cuts between polls


@dataclass(frozen=True)
class Point:
    """What one exporter cost at one scale, per steady poll and per hour at the default interval."""

    series: str
    open_tasks: int
    tenants: int
    requests_per_poll: float
    count_requests_per_poll: float  # lod=count queries: per state, result and queue, not per item
    items_per_poll: float
    cpu_seconds_per_poll: float  # the poll and the first scrape after it
    requests_per_hour: float
    cpu_seconds_per_hour: float
    rss_mib: float  # resident set after the steady polls
    peak_rss_mib: float
    exposed_series: int


@dataclass(frozen=True)
class ColdPoll:
    """The first poll: the exporter's own request count and duration, and its CPU from /proc."""

    requests: int
    seconds: float
    cpu_seconds: float


@dataclass(frozen=True)
class Observation:
    """A point, the cold first poll apart from it, and the exposition after the steady polls."""

    point: Point
    cold: ColdPoll
    exposition: str
    lookback: dict[str, Any]  # the exporter's lookback_walked log line, empty without one


@dataclass(frozen=True)
class _Options(ExporterOptions):
    """The benchmark's exporter options plus the flags of one scale (e.g. ``--metrics.resources``)."""

    flags: tuple[str, ...] = ()

    def argv(self, listen_port: int) -> list[str]:
        """Return the common flags, then the scale's own."""
        return [*super().argv(listen_port), *self.flags]


def measure(scale: Scale) -> Point:
    """Run the exporter against a simulator of `scale` and measure its steady polls."""
    return observe(scale).point


def observe(scale: Scale) -> Observation:
    """Run the exporter against a simulator of `scale`: its cold poll, steady polls and exposition."""
    config = SimulatorConfig(
        tasks=scale.history,
        open_tasks=scale.open_tasks,
        tenants=scale.tenants,
        completion_rate=COMPLETION_RATE,
        live=True,  # completions on the wall clock, as the exporter's watermark expects
        seed=SEED,
    )
    with start_simulator(config) as sim, running_exporter(_options(sim, scale)) as exporter:
        watcher = CycleWatcher(sim.requests, WatchedExporter(exporter.pid, exporter.log_path, exporter.url))
        cold = watcher.next_cycle(timeout=WAIT_SECONDS)
        steady = [watcher.next_cycle(timeout=WAIT_SECONDS) for _ in range(STEADY_POLLS)]
        exporter.check_alive()
        memory = procstat.usage(exporter.pid)
        exposition = httpx.get(f"{exporter.url}/metrics", timeout=60.0).text
        events = _events(exporter.log_path.read_text(encoding="utf-8", errors="replace"))
    per_hour = 3600 / DEFAULT_INTERVAL
    # The exporter's own count per poll: exact even when a poll overruns and the log cut slips.
    polls = [e for e in events if e.get("event") == "poll_finished"][: 1 + STEADY_POLLS]
    requests = statistics.mean(int(e["requests"]) for e in polls[1:])
    cpu = statistics.mean(cpu_of(c) for c in steady)
    point = Point(
        series=scale.series,
        open_tasks=scale.open_tasks,
        tenants=scale.tenants,
        requests_per_poll=requests,
        count_requests_per_poll=round(requests * _share(steady, "count"), 2),
        items_per_poll=statistics.mean(c.items for c in steady),
        cpu_seconds_per_poll=round(cpu, 3),
        requests_per_hour=round(requests * per_hour),
        cpu_seconds_per_hour=round(cpu * per_hour, 1),
        rss_mib=mib(memory.rss_bytes),
        peak_rss_mib=mib(memory.peak_rss_bytes),
        exposed_series=sum(1 for line in exposition.splitlines() if line.startswith("acronis_")),
    )
    lookback = next((e for e in events if e.get("event") == "lookback_walked"), {})
    return Observation(
        point,
        ColdPoll(int(polls[0]["requests"]), float(polls[0]["duration_seconds"]), cpu_of(cold)),
        exposition,
        lookback,
    )


def _share(cycles: list[Cycle], kind: str) -> float:
    """Return the share of `kind` in the cycles' requests: a slipped cut moves requests, not the mix."""
    total = sum(c.traffic.requests for c in cycles)
    return sum(c.traffic.by_kind.get(kind, 0) for c in cycles) / max(total, 1)


def _events(log: str) -> list[dict[str, Any]]:
    events = []
    for line in log.splitlines():
        with contextlib.suppress(ValueError):  # a line cut mid-write, or not JSON
            event = json.loads(line)
            if isinstance(event, dict):
                events.append(event)
    return events


def _options(sim: RunningSimulator, scale: Scale) -> _Options:
    return _Options(
        api_url=sim.url,
        client_id=sim.config.client_id,
        client_secret=sim.config.client_secret,
        poll_interval=scale.interval,
        page_size=PAGE_SIZE,
        max_tenants=scale.tenants + 10,  # no folding: every tenant costs what it really costs
        flags=scale.flags,
    )


def cpu_of(cycle: Cycle) -> float:
    """CPU of a poll and of the one scrape that renders it."""
    return cycle.cpu_seconds + cycle.render_cpu_seconds


def mib(size: int) -> float:
    """Bytes in MiB, to a tenth."""
    return round(size / 2**20, 1)
