"""A second, stricter scraper: hits /metrics a few times a second while a fault plays out.

Prometheus proves that no scrape failed; this watcher adds what Prometheus cannot see at
a 1 s resolution: every counter of every scrape is compared with the previous scrape of
the same process (no counter may decrease), the slowest response is kept, and each body
can be handed to a callback (the secret scan reads them all).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

import httpx

from tests.faults.exposition import Exposition
from tests.support.lifetime import StopsOnExit

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class WatchReport:
    """What the watcher saw since it started (or since ``reset``)."""

    scrapes: int = 0
    failures: list[str] = field(default_factory=list)  # non-200 answers and transport errors
    decreases: list[str] = field(default_factory=list)  # counters that went down within one process
    slowest: float = 0.0  # seconds, the slowest /metrics answer


class ScrapeWatch(StopsOnExit):
    """Scrape ``url`` every ``period`` seconds in a thread until stopped."""

    def __init__(
        self,
        url: str,
        *,
        period: float = 0.25,
        on_body: Callable[[str], None] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self._url = url
        self._period = period
        self._on_body = on_body
        self._client = client or httpx.Client(timeout=10.0)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._report = WatchReport()
        self._previous: Exposition | None = None
        self._thread = threading.Thread(target=self._run, name="scrape-watch", daemon=True)

    def start(self) -> Self:
        """Begin scraping."""
        self._thread.start()
        return self

    def stop(self) -> WatchReport:
        """Stop scraping and return the final report."""
        self._stop.set()
        self._thread.join()
        self._client.close()
        return self.report()

    def report(self) -> WatchReport:
        """Return a copy of the report so far."""
        with self._lock:
            r = self._report
            return WatchReport(r.scrapes, list(r.failures), list(r.decreases), r.slowest)

    def new_process(self) -> None:
        """Forget the last scrape: the exporter was restarted on purpose, so counters may restart."""
        with self._lock:
            self._previous = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scrape_once()
            self._stop.wait(self._period)

    def scrape_once(self) -> Exposition | None:
        """Scrape now, record the outcome, and return the parsed body if it was a 200."""
        started = time.monotonic()
        try:
            response = self._client.get(self._url)
        except httpx.HTTPError as error:
            self._record(time.monotonic() - started, failure=f"{type(error).__name__}: {error}")
            return None
        elapsed = time.monotonic() - started
        if response.status_code != httpx.codes.OK:
            self._record(elapsed, failure=f"HTTP {response.status_code}")
            return None
        if self._on_body is not None:
            self._on_body(response.text)
        exposition = Exposition.parse(response.text)
        self._record(elapsed, exposition=exposition)
        return exposition

    def _record(self, elapsed: float, *, failure: str = "", exposition: Exposition | None = None) -> None:
        with self._lock:
            report = self._report
            report.scrapes += 1
            report.slowest = max(report.slowest, elapsed)
            if failure:
                report.failures.append(failure)
            if exposition is not None:
                if self._previous is not None:
                    report.decreases.extend(exposition.decreases(self._previous))
                self._previous = exposition

    def __enter__(self) -> Self:
        return self.start()
