"""Time arithmetic of the completion tracker (completions.py): W's advance, bounds, future dates."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from exporter.api_clock import DATE_RESOLUTION

if TYPE_CHECKING:
    from collections.abc import Iterable

    from exporter.completion_walk import Item


def advance(watermark: float | None, top: float | None, bound: float | None) -> float | None:
    """Move W up to ``top`` but not past ``bound``, and never backwards."""
    if top is None:
        return watermark
    candidate = top if bound is None else min(top, bound)
    if watermark is not None:
        return max(watermark, candidate)
    return None if math.isinf(candidate) else candidate


def lowest(*values: float | None) -> float | None:
    """Return the lowest of the known values, None if none is known."""
    return min((value for value in values if value is not None), default=None)


def highest(*values: float | None) -> float | None:
    """Return the highest of the known values, None if none is known."""
    return max((value for value in values if value is not None), default=None)


def future(counted: Iterable[Item], api_time: float | None) -> int:
    """Count the completions dated after the API's own time (a writer's clock in the future)."""
    if api_time is None:
        return 0
    latest = api_time + DATE_RESOLUTION
    return sum(1 for item in counted if item.completed_at is not None and item.completed_at > latest)
