"""Tolerant parsing of Astra Control task resources (seed 003) into frozen values.

Parsing never raises: an item that is not an object, or lacks a usable ``id``, ``name`` or
``state``, comes back as a skip reason (the closed vocabulary of ``models.Reason``). A
state the documentation does not list is kept as it is: the per-state gauge counts it
under ``__other__``, and it is neither open nor finished.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from exporter.models import Reason, parse_time
from exporter.payloads import MisEncoded

STATES: Final = (
    "notStarted",
    "running",
    "completed",
    "pausing",
    "paused",
    "cancelling",
    "cancelled",
    "failed",
)
FINISHED: Final = ("completed", "failed", "cancelled")
OPEN: Final = ("notStarted", "running", "pausing", "paused", "cancelling")
OLDEST_STATES: Final = ("running", "notStarted")  # whose start time ages as a stuck task would
# Astra ids are UUIDs and names a few dozen characters; anything far longer is cut here, at
# parsing, so that neither memory (the scan, the remembered ids) nor every scrape (a name is
# a label value) grows with what the API sends. A cut value ends in a digest of the whole,
# so two long values that share a beginning stay two.
ID_MAX: Final = 128
NAME_MAX: Final = 256
_DIGEST_CHARS: Final = 16


@dataclass(frozen=True)
class AstraTask:
    """One task as far as the exporter cares; times are Unix seconds, None when unset or unreadable."""

    id: str
    name: str
    state: str
    start: float | None  # startTime
    end: float | None  # endTime
    created: float | None  # metadata.creationTimestamp: the start of a task not yet started

    @property
    def since(self) -> float | None:
        """When the task began to wait or run: its startTime, else its creation."""
        return self.start if self.start is not None else self.created


def parse_astra_task(raw: object) -> AstraTask | Reason:
    """Parse one listed task, or return why it cannot be used."""
    if not isinstance(raw, dict):
        return "null_field" if raw is None else "missing_field"
    if isinstance(raw, MisEncoded):
        return "bad_encoding"
    fields = [raw.get(name) for name in ("id", "name", "state")]
    if any(value is None for value in fields):
        return "null_field" if any(name in raw for name in ("id", "name", "state")) else "missing_field"
    if not all(isinstance(value, str) and value for value in fields):
        return "missing_field"
    task_id, name, state = (str(value) for value in fields)
    metadata = raw.get("metadata")
    created = metadata.get("creationTimestamp") if isinstance(metadata, dict) else None
    return AstraTask(
        id=bounded(task_id, ID_MAX),
        name=bounded(name, NAME_MAX),
        state=bounded(state, NAME_MAX),
        start=_time(raw.get("startTime")),
        end=_time(raw.get("endTime")),
        created=_time(created),
    )


def bounded(text: str, limit: int) -> str:
    """Return ``text``, or when longer than ``limit`` its beginning and a digest of all of it."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
    return f"{text[: limit - _DIGEST_CHARS - 1]}~{digest}"


def _time(value: object) -> float | None:
    return parse_time(value) if isinstance(value, str) and value else None
