"""Every request the simulator answered, for tests and benchmarks to count and time."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One answered request; `at` is `time.monotonic()` when it arrived; `cookie`: it sent a Cookie header."""

    method: str
    path: str
    query: list[tuple[str, str]]
    status: int
    response_bytes: int
    at: float
    cookie: bool = False


class RequestLog:
    """A thread-safe, clearable list of RequestRecord."""

    def __init__(self) -> None:
        self._entries: list[RequestRecord] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        """Append one record."""
        with self._lock:
            self._entries.append(record)

    def entries(self) -> list[RequestRecord]:
        """Return a copy of all records, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget all records."""
        with self._lock:
            self._entries.clear()
