"""What a metric family is: its name, type, HELP and labels (catalogue.py lists them all)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

MetricType = Literal["gauge", "counter", "histogram", "info"]

CACHED: Final = " Cached: refreshed every poll, not on scrape."


@dataclass(frozen=True)
class MetricSpec:
    """One metric family as it appears on /metrics (name without _total for counters)."""

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()


def cached(name: str, type_: MetricType, help_: str, *labels: str) -> MetricSpec:
    """Return the spec of a family rendered from the poll snapshot: its HELP says it is cached."""
    return MetricSpec(name, type_, help_ + CACHED, labels)
