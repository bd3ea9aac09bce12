"""Sizing figures for docs/sharding.md: what one exporter costs per 1k open tasks and per 1k tenants.

Run with `PYTHONPATH=$PWD python -m bench.sizing` (never part of the test suite). Two series
of scales, each against a live simulator on the wall clock: open tasks grow at a fixed
tenant count, then tenants grow at a fixed open-task count. At each scale the real exporter
(a process of its own, no tenant folding) polls every few seconds; after its cold poll,
the steady polls are measured: requests per poll (from the simulator's log), CPU per poll
and per first scrape (from /proc), resident memory, and the series it exposes. Per-hour
figures are given at the exporter's default 60 s interval: the requests of a poll depend
on open items and completions per poll, not on the interval, at these completion rates.

The marginal cost per 1k open tasks and per 1k tenants is the least-squares slope across a
series; the intercept is the fixed cost. There is no per-resource family on this branch,
so the cost per 10k resources is reported as not measured. Figures go to stdout and to
bench/results/sizing.json with the date, the machine and its load average: on a machine
shared with other work, CPU figures are high and noisy, memory and requests are not.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bench import procstat
from bench.cycles import Cycle, CycleWatcher, WatchedExporter
from bench.exporter_process import ExporterOptions, running_exporter
from exporter.config import ApiSettings, PollSettings
from simulator import RunningSimulator, SimulatorConfig, start_simulator

RESULTS = Path(__file__).with_name("results") / "sizing.json"
POLL_INTERVAL = 5.0  # seconds: short, so a scale takes seconds; per-hour figures use the default
DEFAULT_INTERVAL = PollSettings().interval
PAGE_SIZE = ApiSettings().page_size
STEADY_POLLS = 4  # a poll's requests are cut from the next one's by its log line: average over several
COMPLETION_RATE = 1.0  # completions per second, as in the main benchmark's baseline
HISTORY = 30_000
WAIT_SECONDS = 180.0
SEED = 7


@dataclass(frozen=True)
class Scale:
    """One measured point: a series name and the simulator's size."""

    series: str  # "open tasks" or "tenants": what grows along the series
    open_tasks: int
    tenants: int


SCALES = (
    Scale("open tasks", 1_000, 300),
    Scale("open tasks", 5_000, 300),
    Scale("open tasks", 10_000, 300),
    Scale("tenants", 2_000, 200),
    Scale("tenants", 2_000, 1_000),
    Scale("tenants", 2_000, 3_000),
)


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


def measure(scale: Scale) -> Point:
    """Run the exporter against a simulator of `scale` and measure its steady polls."""
    config = SimulatorConfig(
        tasks=HISTORY,
        open_tasks=scale.open_tasks,
        tenants=scale.tenants,
        completion_rate=COMPLETION_RATE,
        live=True,  # completions on the wall clock, as the exporter's watermark expects
        seed=SEED,
    )
    with start_simulator(config) as sim, running_exporter(_options(sim, scale)) as exporter:
        watcher = CycleWatcher(sim.requests, WatchedExporter(exporter.pid, exporter.log_path, exporter.url))
        watcher.next_cycle(timeout=WAIT_SECONDS)  # the cold poll: baselines, not the steady cost
        steady = [watcher.next_cycle(timeout=WAIT_SECONDS) for _ in range(STEADY_POLLS)]
        exporter.check_alive()
        memory = procstat.usage(exporter.pid)
        series = _exposed_series(exporter.url)
    per_hour = 3600 / DEFAULT_INTERVAL
    requests = statistics.mean(c.traffic.requests for c in steady)
    cpu = statistics.mean(_cpu(c) for c in steady)
    return Point(
        series=scale.series,
        open_tasks=scale.open_tasks,
        tenants=scale.tenants,
        requests_per_poll=requests,
        count_requests_per_poll=statistics.mean(c.traffic.by_kind.get("count", 0) for c in steady),
        items_per_poll=statistics.mean(c.items for c in steady),
        cpu_seconds_per_poll=round(cpu, 3),
        requests_per_hour=round(requests * per_hour),
        cpu_seconds_per_hour=round(cpu * per_hour, 1),
        rss_mib=_mib(memory.rss_bytes),
        peak_rss_mib=_mib(memory.peak_rss_bytes),
        exposed_series=series,
    )


def _options(sim: RunningSimulator, scale: Scale) -> ExporterOptions:
    return ExporterOptions(
        api_url=sim.url,
        client_id=sim.config.client_id,
        client_secret=sim.config.client_secret,
        poll_interval=POLL_INTERVAL,
        page_size=PAGE_SIZE,
        max_tenants=scale.tenants + 10,  # no folding: every tenant costs what it really costs
    )


def _cpu(cycle: Cycle) -> float:
    return cycle.cpu_seconds + cycle.render_cpu_seconds


def _mib(size: int) -> float:
    return round(size / 2**20, 1)


def _exposed_series(url: str) -> int:
    text = httpx.get(f"{url}/metrics", timeout=60.0).text
    return sum(1 for line in text.splitlines() if line.startswith("acronis_"))


def slopes(points: list[Point], series: str, per: int) -> dict[str, float]:
    """Least-squares cost per `per` units of what grows along `series`, and the fixed part."""
    chosen = [p for p in points if p.series == series]
    if len(chosen) < 2:
        return {}
    xs = [float(p.open_tasks if series == "open tasks" else p.tenants) for p in chosen]
    figures = {}
    for name in ("requests_per_hour", "cpu_seconds_per_hour", "rss_mib", "exposed_series"):
        ys = [float(getattr(p, name)) for p in chosen]
        slope, intercept = statistics.linear_regression(xs, ys)
        figures[f"{name}_per_{per}"] = round(slope * per, 2)
        figures[f"{name}_fixed"] = round(intercept, 1)
    return figures


def report(points: list[Point]) -> dict[str, object]:
    """Return the JSON document: conditions, every point, and the marginal costs."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "PYTHONPATH=$PWD python -m bench.sizing",
        "machine": procstat.machine_description(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "caveat": "measured on a machine shared with other work: CPU figures are high and noisy",
        "conditions": {
            "poll_interval_measured": POLL_INTERVAL,
            "per_hour_at_interval": DEFAULT_INTERVAL,
            "page_size": PAGE_SIZE,
            "completion_rate_per_second": COMPLETION_RATE,
            "history_tasks": HISTORY,
            "steady_polls_averaged": STEADY_POLLS,
        },
        "points": [asdict(p) for p in points],
        "per_1k_open_tasks": slopes(points, "open tasks", 1_000),
        "per_1k_tenants": slopes(points, "tenants", 1_000),
        "per_10k_resources": "not measured: no per-resource family exists on this branch",
    }


def main(argv: list[str]) -> None:
    """Measure every scale (or the first N given as an argument), print and record the figures."""
    scales = SCALES[: int(argv[0])] if argv else SCALES
    points = []
    for scale in scales:
        point = measure(scale)
        points.append(point)
        print(json.dumps(asdict(point)), flush=True)
    document = report(points)
    print(json.dumps({k: v for k, v in document.items() if k != "points"}, indent=2))
    if not argv:  # a partial run is a smoke test, not the record
        RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
