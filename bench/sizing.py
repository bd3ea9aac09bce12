"""Sizing figures for docs/sharding.md: what one exporter costs per 1k open tasks, 1k tenants, 10k resources.

    PYTHONPATH=$PWD python -m bench.sizing                   # everything, about 10 minutes
    PYTHONPATH=$PWD python -m bench.sizing --resources-only  # only the per-resource part

Never part of the test suite. Two series of scales, each against a live simulator on the
wall clock (bench/sizing_probe.py measures one point): open tasks grow at a fixed tenant
count, then tenants grow at a fixed open-task count. The marginal cost per 1k open tasks
and per 1k tenants is the least-squares slope across a series; the intercept is the fixed
cost. Then the per-resource family: at one resource-heavy scale (4,000 tenants, about
10,000 machines with completions in the day), the exporter with and without
``--metrics.resources`` (caps above the scale, so every resource has its own series); the
difference, scaled to 10k resources, is the cost per 10k resources, and the cold first
poll's difference is the start-up look-back walk. Figures go to stdout and to
bench/results/sizing.json with the date, the machine and its load average: on a machine
shared with other work, CPU figures are high and noisy, memory and requests are not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import procstat
from bench.sizing_probe import (
    COMPLETION_RATE,
    DEFAULT_INTERVAL,
    HISTORY,
    PAGE_SIZE,
    POLL_INTERVAL,
    STEADY_POLLS,
    Observation,
    Point,
    Scale,
    measure,
    observe,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

RESULTS = Path(__file__).with_name("results") / "sizing.json"
COMMAND = "PYTHONPATH=$PWD python -m bench.sizing"
CAVEAT = "measured on a machine shared with other work: CPU figures are high and noisy"

SCALES = (
    Scale("open tasks", 1_000, 300),
    Scale("open tasks", 5_000, 300),
    Scale("open tasks", 10_000, 300),
    Scale("tenants", 2_000, 200),
    Scale("tenants", 2_000, 1_000),
    Scale("tenants", 2_000, 3_000),
)
# The simulator gives each tenant 1 to 6 machines: 4,000 tenants hold about 14,000, of
# which a 45,000-task history (12.5 hours at 1/s, inside the 24 h look-back) completes
# tasks on about 10,000. Polls that long overrun a 5 s interval: 15 s keeps them apart.
RESOURCE_TENANTS = 4_000
RESOURCE_OPEN_TASKS = 2_000
RESOURCE_HISTORY = 45_000
RESOURCE_INTERVAL = 15.0
UNCAPPED = str(1_000_000)  # every resource and policy its own series: the cost of each one
RESOURCES_OFF = Scale(
    "resources off", RESOURCE_OPEN_TASKS, RESOURCE_TENANTS, (), RESOURCE_HISTORY, RESOURCE_INTERVAL
)
RESOURCES_ON = Scale(
    "resources on",
    RESOURCE_OPEN_TASKS,
    RESOURCE_TENANTS,
    ("--metrics.resources", "--metrics.max-resources", UNCAPPED, "--metrics.max-policies", UNCAPPED),
    RESOURCE_HISTORY,
    RESOURCE_INTERVAL,
)
PER_RESOURCES = 10_000
_RESOURCE_ID = re.compile(r'^acronis_resource_info\{.*?resource_id="([^"]*)"')
_POLICY_ID = re.compile(r'^acronis_policy_info\{.*?policy_id="([^"]*)"')


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


def resources_part(off: Observation, on: Observation, command: str) -> dict[str, Any]:
    """Return the per-resource family's cost: both points, what it exposes, the increment per 10k."""
    resources = _distinct(_RESOURCE_ID, on.exposition)
    scale = PER_RESOURCES / max(resources, 1)
    increment = {
        name: round(float(getattr(on.point, name)) - float(getattr(off.point, name)), 2)
        for name in ("requests_per_hour", "cpu_seconds_per_hour", "rss_mib", "peak_rss_mib", "exposed_series")
    }
    return {
        "date": _now(),
        "command": command,
        "load_average_1_5_15": _load(),
        "caveat": CAVEAT,
        "flags": list(RESOURCES_ON.flags),
        "conditions": {"history_tasks": RESOURCE_HISTORY, "poll_interval_measured": RESOURCE_INTERVAL},
        "points": [asdict(off.point), asdict(on.point)],
        "resources_exported": resources,
        "policies_exported": _distinct(_POLICY_ID, on.exposition),
        "resource_and_policy_series": sum(
            1
            for line in on.exposition.splitlines()
            if line.startswith(("acronis_resource_", "acronis_policy_"))
        ),
        "increment": increment,
        "per_10k_resources": {name: round(value * scale, 1) for name, value in increment.items()},
        "cold_poll": {label: _cold(o) for label, o in (("off", off), ("on", on))},
        "lookback_walked": on.lookback,
    }


def _distinct(pattern: re.Pattern[str], exposition: str) -> int:
    ids = {m.group(1) for line in exposition.splitlines() if (m := pattern.match(line))}
    return len(ids - {"__other__"})


def _cold(observation: Observation) -> dict[str, float]:
    cold = observation.cold
    return {
        "requests": cold.requests,
        "seconds": round(cold.seconds, 2),
        "cpu_seconds": round(cold.cpu_seconds, 2),
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def report(points: list[Point], resources: dict[str, Any]) -> dict[str, object]:
    """Return the JSON document: conditions, every point, and the marginal costs."""
    return {
        "date": _now(),
        "command": COMMAND,
        "machine": procstat.machine_description(),
        "load_average_1_5_15": _load(),
        "caveat": CAVEAT,
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
        "per_10k_resources": resources,
    }


def measure_resources(command: str) -> dict[str, Any]:
    """Measure the resource-heavy scale without and with ``--metrics.resources``."""
    off = observe(RESOURCES_OFF)
    print(json.dumps(asdict(off.point)), flush=True)
    on = observe(RESOURCES_ON)
    print(json.dumps(asdict(on.point)), flush=True)
    return resources_part(off, on, command)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure the scales, print the figures and record them (a partial run records nothing)."""
    parser = argparse.ArgumentParser(prog="python -m bench.sizing", description=__doc__.splitlines()[0])
    parser.add_argument("first", nargs="?", type=int, help="only the first N scales, no resources, no record")
    parser.add_argument(
        "--resources-only", action="store_true", help="only the per-resource part, into the existing record"
    )
    args = parser.parse_args(argv)
    if args.resources_only:
        document = json.loads(RESULTS.read_text(encoding="utf-8"))
        document["per_10k_resources"] = measure_resources(f"{COMMAND} --resources-only")
    else:
        points = []
        for scale in SCALES[: args.first]:
            points.append(measure(scale))
            print(json.dumps(asdict(points[-1])), flush=True)
        document = report(points, {} if args.first else measure_resources(COMMAND))
    print(json.dumps({k: v for k, v in document.items() if k != "points"}, indent=2))
    if args.first is None:  # a partial run is a smoke test, not the record
        RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
