"""Concurrent scrapers against one /metrics endpoint, timing every response.

Each scraper is one kept-alive connection that sends the headers Prometheus 2.42 sends.
Back to back (``pace=None``) every scraper sends its next request the moment the last
reply is read, so all of them are always in flight: the worst case. Paced, each scrapes
once per ``pace`` seconds from a random phase, as Prometheus servers do (at a far shorter
interval than the usual 15 s). The connections are spread over a few processes, each
driving its share through one selector (``scrape_client``): threads of one process would
queue on one GIL, and that queueing would count against the server. The processes' own
CPU is reported beside the latencies, to show whether the client side kept up.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bench.scrape_client import READY, STALL_SECONDS, WorkerPlan, WorkerResult, plan_line, result_from_line

if TYPE_CHECKING:
    from collections.abc import Mapping

_SETTLE_SECONDS = 0.2  # for an idle server to accept the connections just opened
_REPO = Path(__file__).resolve().parents[1]  # `python -m bench.scrape_client` must find the package
# scrape.go in Prometheus 2.42: what a real scrape asks for.
PROMETHEUS_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
    "User-Agent": "Prometheus/2.42.0",
    "X-Prometheus-Scrape-Timeout-Seconds": "10",
}


@dataclass(frozen=True)
class ScrapeLoad:
    """Latencies of every scrape in one run; the figures the table quotes."""

    scrapers: int
    latencies: tuple[float, ...]  # seconds, request sent to last byte read
    response_bytes: int  # size of one response as sent (compressed if the server compressed)
    failures: int
    client_processes: int = 1
    client_cpu_seconds: float = 0.0  # the scraper processes' own CPU, summed
    wall_seconds: float = 0.0  # from the common start to the last reply

    @property
    def client_busy(self) -> float:
        """How much of its time the busiest-on-average scraper process spent on the CPU (1.0: saturated)."""
        if self.wall_seconds <= 0:
            return 0.0
        return self.client_cpu_seconds / (self.wall_seconds * self.client_processes)

    @property
    def median_ms(self) -> float:
        """Median scrape latency in milliseconds."""
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99_ms(self) -> float:
        """99th-percentile scrape latency in milliseconds."""
        if len(self.latencies) < 2:  # quantiles() needs two points
            return self.median_ms
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98] * 1000


@dataclass(frozen=True)
class LoadShape:
    """How hard to scrape: how many scrapers, how many scrapes each, for how long at most."""

    scrapers: int
    scrapes_each: int
    budget_seconds: float  # every scraper stops once this has passed: a slow renderer costs bounded time
    pace: float | None = None  # seconds between one scraper's scrapes; None: back to back
    processes: int = 2  # scraper processes the connections are spread over


def hammer(url: str, shape: LoadShape, headers: Mapping[str, str] = PROMETHEUS_HEADERS) -> ScrapeLoad:
    """Scrape `url` over `shape.scrapers` connections at once; time every response."""
    phases = random.Random(shape.scrapers)  # noqa: S311  scrape phases, not secrets; seeded so runs compare
    starts = [phases.uniform(0, shape.pace or 0) for _ in range(shape.scrapers)]
    processes = max(1, min(shape.processes, shape.scrapers))
    address, request = _request(url, headers)
    plans = [
        WorkerPlan(
            address,
            request,
            tuple(starts[i::processes]),
            shape.scrapes_each,
            shape.budget_seconds,
            shape.pace,
        )
        for i in range(processes)
    ]
    results = _run_processes(plans, shape.budget_seconds)
    latencies = tuple(latency for result in results for latency in result.latencies)
    return ScrapeLoad(
        shape.scrapers,
        latencies,
        max((result.response_bytes for result in results), default=0),
        sum(result.failures for result in results),
        processes,
        sum(result.cpu_seconds for result in results),
        max((result.wall_seconds for result in results), default=0.0),
    )


def _request(url: str, headers: Mapping[str, str]) -> tuple[tuple[str, int], bytes]:
    """Return the address to connect to and the request bytes, as an HTTP/1.1 client sends them."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None or parts.port is None:
        msg = f"the scrapers speak plain HTTP to an explicit port, not {url!r}"
        raise ValueError(msg)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    return (parts.hostname, parts.port), ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _run_processes(plans: list[WorkerPlan], budget_seconds: float) -> list[WorkerResult]:
    """Run one scraper process per plan, started together; return what each measured."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.scrape_client"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_REPO,
            text=True,
        )
        for _ in plans
    ]
    try:
        for worker, plan in zip(workers, plans, strict=True):
            _talk(worker, plan_line(plan), expect=True)
        # Every process has connected; the server accepts and starts a thread per connection
        # while idle, before the clock starts (see scrape_client.run).
        threading.Event().wait(_SETTLE_SECONDS)
        for worker in workers:  # all at once: the budget starts when every process is up
            _talk(worker, "go\n", expect=False)
        collected = [result_from_line(_read_line(worker)) for worker in workers]
    finally:
        for worker in workers:
            _stop(worker, budget_seconds + STALL_SECONDS)
    failed = [result.error for result in collected if result.error]
    if failed:
        msg = f"scraper process failed: {failed[0]}"
        raise RuntimeError(msg)
    return collected


def _talk(worker: subprocess.Popen[str], line: str, *, expect: bool) -> None:
    assert worker.stdin is not None  # noqa: S101 - opened as a pipe above
    worker.stdin.write(line)
    worker.stdin.flush()
    if expect and _read_line(worker).strip() != READY:
        msg = "a scraper process did not start"
        raise RuntimeError(msg)


def _read_line(worker: subprocess.Popen[str]) -> str:
    assert worker.stdout is not None  # noqa: S101 - opened as a pipe above
    line = worker.stdout.readline()  # blocks until it answers or dies: it has its own deadlines
    if not line:
        msg = f"scraper process {worker.pid} ended without a result (exit {worker.wait()})"
        raise RuntimeError(msg)
    return line


def _stop(worker: subprocess.Popen[str], patience: float) -> None:
    if worker.stdin is not None:
        worker.stdin.close()
    try:
        worker.wait(timeout=patience)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    if worker.stdout is not None:
        worker.stdout.close()
