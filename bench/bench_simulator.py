"""Simulator start-up time and request latencies at 10k, 100k and 1M tasks.

Run with `python -m bench.bench_simulator [sizes...]`; never part of the test suite.
Latencies are medians over repeated requests through real HTTP (httpx, keep-alive).
Start-up is given as wall time and as CPU seconds (this process plus the forked
history helper): on a shared, busy machine the CPU figure is the steadier one.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time

import httpx

from simulator import SimulatorConfig, start_simulator

SIZES = (10_000, 100_000, 1_000_000)
REPEATS = 15
QUERIES = {
    "count all": [("lod", "count")],
    "count completed+ok": [("lod", "count"), ("state", "completed"), ("resultCode", "ok")],
    "count open by queue": [("lod", "count"), ("state", "started"), ("state", "paused"), ("queue", "backup")],
    "count completed 1h": [("lod", "count"), ("state", "completed"), ("completedAt", "gt({hour_ago})")],
    "count activities completed": [("lod", "count"), ("state", "completed")],
    "page open lod=long 500": [("lod", "long"), ("state", "started"), ("limit", "500")],
    "page done 1h lod=short 1000": [
        ("state", "completed"),
        ("completedAt", "gt({hour_ago})"),
        ("limit", "1000"),
    ],
}


def measure(size: int) -> dict[str, float]:
    """Start a simulator of `size` tasks and time its start-up and each query."""
    config = SimulatorConfig(tasks=size, open_tasks=min(20_000, size // 10), tenants=min(5_000, size // 20))
    began, cpu_began = time.perf_counter(), _cpu_seconds()
    sim = start_simulator(config)
    results = {"startup s": time.perf_counter() - began, "startup cpu s": _cpu_seconds() - cpu_began}
    hour_ago = str(int(sim.clock.now()) - 3600)
    with httpx.Client(base_url=sim.url, timeout=120) as http:
        token = http.post(
            "/api/2/idp/token",
            data={"grant_type": "client_credentials"},
            auth=(config.client_id, config.client_secret),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for name, params in QUERIES.items():
            path = "/api/task_manager/v2/" + ("activities" if "activities" in name else "tasks")
            query = tuple((key, value.format(hour_ago=hour_ago)) for key, value in params)
            timings = []
            for _ in range(REPEATS):
                start = time.perf_counter()
                http.get(path, params=query, headers=headers).raise_for_status()
                timings.append(time.perf_counter() - start)
            results[f"{name} ms"] = statistics.median(timings) * 1000
    sim.stop()
    return results


def _cpu_seconds() -> float:
    """User plus system CPU of this process and of its waited-for children (the history helper)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str]) -> None:
    """Print one row per size."""
    sizes = [int(arg) for arg in argv] or list(SIZES)
    rows = {size: measure(size) for size in sizes}
    names = list(next(iter(rows.values())))
    print(f"{'':32}" + "".join(f"{size:>14,}" for size in sizes))
    for name in names:
        print(f"{name:32}" + "".join(f"{rows[size][name]:>14.1f}" for size in sizes))


if __name__ == "__main__":
    main(sys.argv[1:])
