"""The naive exporter the real one is measured against: list every task on every scrape.

This is what a first attempt looks like: a ``prometheus_client`` collector whose
``collect()`` walks the whole ``/tasks`` listing and counts tasks by state. Every scrape
re-reads the entire history, so its cost grows with it; the benchmark runs one real
scrape of it through ``generate_latest`` and counts its requests in the simulator's log.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bench.replay import Credentials

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.metrics_core import Metric

    from simulator import RunningSimulator

SCRAPE_INTERVAL_SECONDS = 15.0  # Prometheus' common scrape interval: the naive cost recurs at it


class ListEverythingCollector(Collector):
    """Counts tasks by state by listing all of them, on every scrape."""

    def __init__(self, base_url: str, credentials: Credentials, *, page_size: int) -> None:
        self._base_url = base_url
        self._credentials = credentials
        self._page_size = page_size

    def collect(self) -> Iterator[Metric]:
        """List every task (all pages) and yield their count per state."""
        by_state: Counter[str] = Counter()
        with httpx.Client(base_url=self._base_url, timeout=300.0) as client:
            token = client.post(
                "/api/2/idp/token",
                data={"grant_type": "client_credentials"},
                auth=(self._credentials.client_id, self._credentials.client_secret),
            )
            token.raise_for_status()
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            for item in _all_tasks(client, self._page_size):
                by_state[str(item.get("state"))] += 1
        family = GaugeMetricFamily(
            "naive_tasks", "Tasks per state, listed on every scrape.", labels=["state"]
        )
        for state, count in sorted(by_state.items()):
            family.add_metric([state], count)
        yield family


def scrape_once(base_url: str, credentials: Credentials, *, page_size: int) -> bytes:
    """Render the naive collector once, as one Prometheus scrape would."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ListEverythingCollector(base_url, credentials, page_size=page_size))
    return generate_latest(registry)


def _all_tasks(client: httpx.Client, page_size: int) -> Iterator[dict[str, object]]:
    params = {"lod": "short", "limit": str(page_size)}
    seen: set[str] = set()
    while True:
        response = client.get("/api/task_manager/v2/tasks", params=params)
        response.raise_for_status()
        page = response.json()
        items = page.get("items") or []
        yield from items
        after = ((page.get("paging") or page).get("cursors") or {}).get("after")
        if not items or not after or after in seen:
            return
        seen.add(after)
        params = {"after": after, "limit": str(page_size), "lod": "short"}


@dataclass(frozen=True)
class NaiveResult:
    """One scrape of the naive collector, and what a 15-second scrape interval makes of it."""

    history: int
    requests_per_scrape: int
    bytes_per_scrape: int
    scrape_seconds: float  # measured with the simulator's latency off
    scrape_seconds_at_latency: float  # its pages are one dependent chain: pages x latency at least
    requests_per_hour: float
    bytes_per_hour: float


def measure(sim: RunningSimulator, *, page_size: int, latency: float) -> NaiveResult:
    """Scrape the naive collector once against `sim`, with the latency off to save time."""
    credentials = Credentials(sim.config.client_id, sim.config.client_secret)
    before = len(sim.requests.entries())
    sim.faults.latency(0.0)  # the request count is the point; the wall time follows from it
    try:
        started = time.perf_counter()
        scrape_once(sim.url, credentials, page_size=page_size)
        elapsed = time.perf_counter() - started
    finally:
        sim.faults.latency(latency)
    entries = sim.requests.entries()[before:]
    scrapes_per_hour = 3600 / SCRAPE_INTERVAL_SECONDS
    response_bytes = sum(entry.response_bytes for entry in entries)
    return NaiveResult(
        history=sim.config.tasks,
        requests_per_scrape=len(entries),
        bytes_per_scrape=response_bytes,
        scrape_seconds=elapsed,
        scrape_seconds_at_latency=elapsed + len(entries) * latency,
        requests_per_hour=len(entries) * scrapes_per_hour,
        bytes_per_hour=response_bytes * scrapes_per_hour,
    )
