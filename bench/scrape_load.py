"""Concurrent scrapers against one /metrics endpoint, timing every response.

Each scraper is a thread with its own connection that sends the headers Prometheus 2.42
sends. Back to back (``pace=None``) every scraper starts its next scrape the moment the
last one ends, so all of them are always in flight: the worst case. Paced, each scrapes
once per ``pace`` seconds from a random phase, as Prometheus servers do (at a far shorter
interval than the usual 15 s). The body is read raw (still gzipped) so that the client's
own decompression does not count against the server.
"""

from __future__ import annotations

import math
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Mapping

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


def hammer(url: str, shape: LoadShape, headers: Mapping[str, str] = PROMETHEUS_HEADERS) -> ScrapeLoad:
    """Scrape `url` from `shape.scrapers` threads at once; time every response."""
    # The budget starts once every scraper is ready: creating 20 clients (each loads the CA
    # bundle) can take seconds on a loaded machine, and must not eat the scraping time.
    deadline = _Deadline(shape.budget_seconds)
    start_together = threading.Barrier(shape.scrapers, action=deadline.start)
    phases = random.Random(shape.scrapers)  # noqa: S311  scrape phases, not secrets; seeded so runs compare
    with ThreadPoolExecutor(max_workers=shape.scrapers) as pool:
        runs = [
            pool.submit(
                _scrape_loop,
                url,
                headers,
                _Schedule(shape.scrapes_each, deadline, shape.pace, phases.uniform(0, shape.pace or 0)),
                start_together,
            )
            for _ in range(shape.scrapers)
        ]
        results = [run.result() for run in runs]
    latencies = tuple(latency for run in results for latency in run.latencies)
    sizes = [run.response_bytes for run in results if run.response_bytes]
    return ScrapeLoad(shape.scrapers, latencies, max(sizes, default=0), sum(run.failures for run in results))


@dataclass
class _Deadline:
    budget_seconds: float
    at: float = math.inf  # monotonic; set when every scraper is ready

    def start(self) -> None:
        self.at = time.monotonic() + self.budget_seconds

    def passed(self) -> bool:
        return time.monotonic() >= self.at


@dataclass(frozen=True)
class _Schedule:
    scrapes: int
    deadline: _Deadline  # no scrape starts after it
    pace: float | None  # seconds between scrape starts; None: back to back
    phase: float  # seconds after the common start of this scraper's first scrape


@dataclass
class _ScraperRun:
    latencies: list[float]
    response_bytes: int = 0
    failures: int = 0


def _scrape_loop(
    url: str, headers: Mapping[str, str], schedule: _Schedule, start_together: threading.Barrier
) -> _ScraperRun:
    run = _ScraperRun(latencies=[])
    wait = threading.Event().wait  # never set: waits out the pace without a bare sleep
    with httpx.Client(headers=dict(headers), timeout=30.0) as client:
        start_together.wait()
        next_start = time.monotonic() + schedule.phase
        for _ in range(schedule.scrapes):
            if schedule.pace is not None:
                wait(max(0.0, next_start - time.monotonic()))
                next_start += schedule.pace
            if schedule.deadline.passed():
                break
            started = time.perf_counter()
            with client.stream("GET", url) as response:
                size = sum(len(chunk) for chunk in response.iter_raw())
            elapsed = time.perf_counter() - started
            if response.status_code != httpx.codes.OK:
                run.failures += 1
                continue
            run.latencies.append(elapsed)
            run.response_bytes = size
    return run
