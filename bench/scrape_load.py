"""Concurrent scrapers hammering one /metrics endpoint, timing every response.

Each scraper is a thread with its own connection that scrapes back to back, as 20
Prometheus servers scraping at the same instant would, and sends the headers Prometheus
2.42 sends. The body is read raw (still gzipped) so that the client's own decompression
does not count against the server.
"""

from __future__ import annotations

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


def hammer(
    url: str,
    *,
    scrapers: int,
    scrapes_each: int,
    budget_seconds: float,
    headers: Mapping[str, str] = PROMETHEUS_HEADERS,
) -> ScrapeLoad:
    """Run `scrapers` threads that each scrape `url` up to `scrapes_each` times.

    Every thread stops early once `budget_seconds` have passed, so a slow renderer costs
    the suite a bounded time; the table reports how many scrapes were timed.
    """
    deadline = time.monotonic() + budget_seconds
    start_together = threading.Barrier(scrapers)
    with ThreadPoolExecutor(max_workers=scrapers) as pool:
        runs = [
            pool.submit(_scrape_loop, url, headers, (scrapes_each, deadline), start_together)
            for _ in range(scrapers)
        ]
        results = [run.result() for run in runs]
    latencies = tuple(latency for run in results for latency in run.latencies)
    sizes = [run.response_bytes for run in results if run.response_bytes]
    return ScrapeLoad(scrapers, latencies, max(sizes, default=0), sum(run.failures for run in results))


@dataclass
class _ScraperRun:
    latencies: list[float]
    response_bytes: int = 0
    failures: int = 0


def _scrape_loop(
    url: str, headers: Mapping[str, str], bounds: tuple[int, float], start_together: threading.Barrier
) -> _ScraperRun:
    scrapes, deadline = bounds
    run = _ScraperRun(latencies=[])
    with httpx.Client(headers=dict(headers), timeout=30.0) as client:
        start_together.wait()
        for _ in range(scrapes):
            if time.monotonic() >= deadline:
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
