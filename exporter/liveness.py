"""The poll loop's timing: when the next poll starts, and whether the loop is alive (``/healthz``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import random
    import threading

    from exporter.config import PollSettings, Settings

STALL_INTERVALS: Final = 3  # healthy() tolerates this many intervals without progress, plus one request


def next_delay(poll: PollSettings, rng: random.Random, *, elapsed: float) -> float:
    """Seconds to wait before the next poll: the interval ± jitter, less the time the poll took."""
    spread = poll.interval * poll.jitter
    return max(0.0, poll.interval + rng.uniform(-spread, spread) - elapsed)


def stall_limit(settings: Settings) -> float:
    """Seconds without progress that still count as healthy: 3 intervals plus one slow request.

    One request may take every retry, each with its timeout and the longest wait before it.
    """
    api = settings.api
    one_request = (api.max_retries + 1) * (api.timeout + max(api.backoff_max, api.retry_after_max))
    return STALL_INTERVALS * settings.poll.interval + one_request


class Liveness:
    """The loop's thread and when it last made progress (a page, a finished poll)."""

    def __init__(self, limit: float) -> None:
        self._limit = limit
        self._last_progress = time.monotonic()
        self.thread: threading.Thread | None = None  # the loop's thread while it runs

    def progress(self) -> None:
        """Note that the loop moved on."""
        self._last_progress = time.monotonic()

    def healthy(self) -> bool:
        """Tell whether the loop runs and has made progress within the limit."""
        thread = self.thread
        if thread is None or not thread.is_alive():
            return False
        return time.monotonic() - self._last_progress <= self._limit
