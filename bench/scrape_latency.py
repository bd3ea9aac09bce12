"""/metrics under concurrent scrapers: the exporter's server beside client_python's default.

Series counts are driven by a synthetic snapshot (see ``bench.synthetic``) published into
a real ``SnapshotStore``; each renderer serves it from its own process while the
scrapers run here. Beside the latencies stand the single-threaded costs measured in this
process: what one scrape costs each renderer, and the exporter's render once per poll.
"""

from __future__ import annotations

import contextlib
import gzip
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from bench import procstat
from bench.scrape_load import PROMETHEUS_HEADERS, LoadShape, ScrapeLoad, hammer
from bench.synthetic import snapshot_for_series
from exporter.collector import TaskManagerCollector
from exporter.exposition import Exposition, self_registry
from exporter.snapshot import Snapshot, SnapshotStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from bench.scales import Plan

_BUDGET_SECONDS = {"full": 6.0, "quick": 3.0}  # per renderer and size: a slow one costs bounded time
_START_TIMEOUT_SECONDS = 120.0
_REPO = Path(__file__).resolve().parents[1]  # `python -m bench.serve_snapshot` must find the package
# Prometheus asks for gzip; the exporter is also timed without it, to show what compression costs,
# and paced (each scraper once a second from a random phase) as well as back to back.
_IDENTITY = {**PROMETHEUS_HEADERS, "Accept-Encoding": "identity"}
PACE_SECONDS = 1.0
VARIANTS: tuple[tuple[str, str, Mapping[str, str], float | None], ...] = (
    ("exporter", "gzip", PROMETHEUS_HEADERS, None),
    ("exporter", "identity", _IDENTITY, None),
    ("exporter", "gzip", PROMETHEUS_HEADERS, PACE_SECONDS),
    ("default", "gzip", PROMETHEUS_HEADERS, None),
)


@dataclass(frozen=True)
class ScrapeLatencyRow:
    """One renderer at one size under the concurrent scrapers."""

    series_target: int
    series: int  # samples rendered from the snapshot
    renderer: str  # "exporter" (render once per poll) or "default" (generate_latest per scrape)
    encoding: str  # what the scrapers accepted: gzip (as Prometheus does) or identity
    pace: str  # "back to back" (always all in flight) or "every 1s" (random phases)
    scrapers: int
    scrapes: int
    failures: int
    median_ms: float
    p99_ms: float
    response_bytes: int  # one response as sent, gzipped since Prometheus asks for gzip
    server_cpu_ms_per_scrape: float  # the serving process's CPU over the run, per scrape
    client_processes: int  # scraper processes the connections were spread over
    client_cpu_ms_per_scrape: float  # the scraper processes' own CPU, per scrape
    client_busy: float  # share of its time a scraper process was on the CPU (near 1.0: the client limited)
    per_scrape_cpu_ms: float  # one scrape's rendering work, single-threaded, in this process
    render_once_ms: float  # exporter: the render each poll pays once; default: none (0)


def run(plan: Plan) -> list[ScrapeLatencyRow]:
    """Measure every renderer at every size the plan names."""
    rows = []
    for target in plan.series_targets:
        snapshot = snapshot_for_series(target, count_series)
        costs = _single_threaded_costs(snapshot, plan.render_repeats)
        for renderer, encoding, headers, pace in VARIANTS:
            shape = LoadShape(
                plan.scrapers, plan.scrapes_per_scraper, _BUDGET_SECONDS.get(plan.name, 20.0), pace
            )
            load, cpu = _under_load(len(snapshot.tenants), renderer, headers, shape)
            per_scrape, render_once = costs[renderer, encoding]
            rows.append(
                ScrapeLatencyRow(
                    series_target=target,
                    series=count_series(snapshot),
                    renderer=renderer,
                    encoding=encoding,
                    pace="back to back" if pace is None else f"every {pace:g}s",
                    scrapers=load.scrapers,
                    scrapes=len(load.latencies),
                    failures=load.failures,
                    median_ms=load.median_ms,
                    p99_ms=load.p99_ms,
                    response_bytes=load.response_bytes,
                    server_cpu_ms_per_scrape=cpu / max(len(load.latencies), 1) * 1000,
                    client_processes=load.client_processes,
                    client_cpu_ms_per_scrape=load.client_cpu_seconds / max(len(load.latencies), 1) * 1000,
                    client_busy=load.client_busy,
                    per_scrape_cpu_ms=per_scrape,
                    render_once_ms=render_once,
                )
            )
    return rows


def _under_load(
    tenants: int, renderer: str, headers: Mapping[str, str], shape: LoadShape
) -> tuple[ScrapeLoad, float]:
    """Serve a snapshot of `tenants` with `renderer`, scrape it; return the load and the server's CPU."""
    with _served(tenants, renderer) as (url, pid):
        # One scrape first: the exporter renders a poll once, on the first scrape after it
        # (the render/poll column); the load measures serving, not that one render.
        httpx.get(f"{url}/metrics", headers=headers, timeout=120.0).raise_for_status()
        cpu_before = procstat.cpu_seconds(pid)
        load = hammer(f"{url}/metrics", shape, headers)
        return load, procstat.cpu_seconds(pid) - cpu_before


def count_series(snapshot: Snapshot) -> int:
    """Count the samples the collector renders from `snapshot`."""
    collector = TaskManagerCollector(SnapshotStore(initial=snapshot))
    return sum(len(family.samples) for family in collector.collect())


def _single_threaded_costs(snapshot: Snapshot, repeats: int) -> dict[tuple[str, str], tuple[float, float]]:
    """Milliseconds per scrape, and for the exporter per poll, with nothing else running."""
    accept, encoding = PROMETHEUS_HEADERS["Accept"], PROMETHEUS_HEADERS["Accept-Encoding"]
    store = SnapshotStore(initial=snapshot)
    default = CollectorRegistry()
    default.register(TaskManagerCollector(store))
    default.register(self_registry())
    encoder, _ = choose_encoder(accept)

    def default_scrape() -> None:
        gzip.compress(encoder(default))  # what client_python's server does for a gzip-accepting scrape

    warm = Exposition(store, self_registry())

    def exporter_scrape() -> None:
        warm.render(accept, encoding)

    def exporter_identity_scrape() -> None:
        warm.render(accept, "identity")

    def exporter_poll_render() -> None:
        Exposition(store, self_registry()).data("openmetrics")  # a fresh cache: the once-per-poll render

    exporter_scrape()  # fill the cache, as the first scrape after a poll does
    render_once = _best_ms(exporter_poll_render, repeats)
    return {
        ("exporter", "gzip"): (_best_ms(exporter_scrape, repeats), render_once),
        ("exporter", "identity"): (_best_ms(exporter_identity_scrape, repeats), render_once),
        ("default", "gzip"): (_best_ms(default_scrape, repeats), 0.0),
    }


def _best_ms(action: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(max(repeats, 1)):
        started = time.thread_time()
        action()
        runs.append(time.thread_time() - started)
    return statistics.median(runs) * 1000


@contextlib.contextmanager
def _served(tenants: int, renderer: str) -> Iterator[tuple[str, int]]:
    """Run `bench.serve_snapshot` in its own process; yield its base URL and pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.serve_snapshot", "--tenants", str(tenants), "--renderer", renderer],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=_REPO,
    )
    try:
        yield _read_url(process), process.pid
    finally:
        _stop(process)


def _read_url(process: subprocess.Popen[bytes]) -> str:
    stdout = process.stdout
    line = stdout.readline().decode().strip() if stdout else ""  # blocks until it serves, or dies
    if not line.startswith("URL "):
        _stop(process)
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise RuntimeError(f"bench.serve_snapshot did not start: {line!r}\n{stderr[-2000:]}")
    return line.removeprefix("URL ")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None and not process.stdin.closed:
        process.stdin.close()  # its signal to shut down
    try:
        process.wait(timeout=_START_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
