"""What one poll did, for its ``poll_finished`` log line: items listed, requests sent, sources failed."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from exporter import logs

if TYPE_CHECKING:
    from exporter.selfmetrics import SelfMetrics
    from exporter.snapshot import Snapshot

_log = logs.get_logger(component="poller")


class Tally:
    """Items listed in the poll in progress; pool threads add to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items = 0

    def add(self, items: int) -> None:
        """Count ``items`` more listed items."""
        with self._lock:
            self.items += items


class PollReport:
    """One poll's figures, from its start to its ``poll_finished`` line."""

    def __init__(self, metrics: SelfMetrics) -> None:
        self._metrics = metrics
        self._started = time.monotonic()
        self._sent_before = requests_sent(metrics)
        self.tally = Tally()

    def finish(self, snapshot: Snapshot) -> None:
        """Log the poll: its duration, the items it listed and the requests it sent."""
        sent = requests_sent(self._metrics) - self._sent_before
        log_poll(snapshot, duration=time.monotonic() - self._started, items=self.tally.items, requests=sent)


def requests_sent(metrics: SelfMetrics) -> float:
    """Every HTTP request sent so far, failed, retried and token ones included (the self-metric's total)."""
    return sum(
        sample.value
        for family in metrics.api_requests.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def log_poll(snapshot: Snapshot, *, duration: float, items: int, requests: float) -> None:
    """Log the ``poll_finished`` line of one poll."""
    failed = sorted(name for name, status in snapshot.sources.items() if not status.ok)
    _log.info(
        "poll_finished",
        duration_seconds=round(duration, 3),
        sources_ok=len(snapshot.sources) - len(failed),
        sources_failed=len(failed),
        failed=failed,
        items=items,
        requests=int(requests),
    )
