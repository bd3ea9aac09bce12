"""The ``completion_windows`` source (opt-in, ``--metrics.completion-windows``): fixed windows.

"How many failed in the last day" from the exporter's first scrape on, and across restarts:
per result code, the tasks that completed in the last hour and the last day, counted by the
API (``lod=count`` with ``completedAt=gt(now - window)``). A gauge, not a counter: it is what
the API says now. ``now`` is the API's own clock (one one-item listing's Date), so a skewed
exporter clock moves no window. One poll sends 1 + 2 windows x 6 result codes = 13 requests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Final

from exporter import catalogue
from exporter.labels import series
from exporter.models import format_time
from exporter.rendering import simple
from exporter.sources.base import Folded, Source
from exporter.sources.outcome_walk import api_now
from exporter.vocabulary import RESULT_CODES

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping

    from prometheus_client.metrics_core import Metric

    from exporter.config import Settings
    from exporter.labels import Key
    from exporter.snapshot import Snapshot
    from exporter.sources.base import Family, Poll

NAME: Final = "completion_windows"
WINDOWS: Final = {"1h": 3600.0, "24h": 86400.0}  # label value -> seconds
QUERIES_PER_POLL: Final = 1 + len(WINDOWS) * len(RESULT_CODES)


@dataclass(frozen=True)
class Windowed:
    """Completed tasks per (result_code, window) series key."""

    counts: Mapping[Key, int]


def count_windows(poll: Poll) -> Windowed:
    """Count each result code's completions in each window, back from the API's now."""
    now = api_now(poll.client, poll.paging, time.time())
    counts: dict[Key, int] = {}
    for window, seconds in WINDOWS.items():
        since = ("completedAt", f"gt({format_time(now - seconds)})")
        for code in RESULT_CODES:
            counts[series(catalogue.TASKS_COMPLETED_WINDOW, result_code=code, window=window)] = (
                poll.client.count("tasks", [("state", "completed"), ("resultCode", code), since])
            )
            poll.paging.on_page(0)
    return Windowed(counts)


def _window_totals(snapshot: Snapshot) -> Metric:
    result = snapshot.result(NAME, Windowed)
    values = {} if result is None else {key: float(n) for key, n in result.counts.items()}
    return simple(catalogue.TASKS_COMPLETED_WINDOW, values)


class CompletionWindows(Source):
    """Tasks completed in the last hour and day per result code, from lod=count."""

    name: ClassVar[str] = NAME
    families: ClassVar[tuple[Family, ...]] = ((catalogue.TASKS_COMPLETED_WINDOW, _window_totals),)

    @classmethod
    def polled(cls, settings: Settings) -> bool:
        """Only with ``--metrics.completion-windows``."""
        return settings.metrics.completion_windows and super().polled(settings)

    def requests(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:
        """One job: the API's now, then every count (they share that now)."""
        return {NAME: lambda: count_windows(poll)}

    def fold(self, replies: Mapping[Hashable, object], poll: Poll) -> Folded:  # noqa: ARG002
        """Return the counts as the result."""
        result = replies[NAME]
        if not isinstance(result, Windowed):
            raise TypeError(type(result).__name__)
        return Folded(result)
