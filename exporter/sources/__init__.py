"""The registry of sources: the only list of what the exporter polls.

Each source is one module of this package implementing ``base.Source``; the order here is
the order of ``source`` label values in the self-metrics and of the poll's statuses.
Adding a source is one module and one line here (plus its catalogue entries and docs).
"""

from __future__ import annotations

from typing import Final

from exporter.sources.astra import AstraTasks
from exporter.sources.base import Paging, Params, Source
from exporter.sources.completed import (
    CompletedActivities,
    CompletedTasks,
    newest_completion,
    walk_completions,
)
from exporter.sources.counts import (
    ActivityCounts,
    CountKey,
    TaskCounts,
    assemble_counts,
    count_queries,
    queue_count_queries,
)
from exporter.sources.listing import ACTIVITIES, TASKS, sendable
from exporter.sources.open_activities import OpenActivityScan, OpenActivitySource, scan_open_activities
from exporter.sources.open_tasks import OpenTaskScan, OpenTaskSource, scan_open_tasks
from exporter.sources.resources import ResourceOutcomes
from exporter.sources.windows import CompletionWindows

REGISTRY: Final[tuple[type[Source], ...]] = (
    TaskCounts,
    ActivityCounts,
    OpenTaskSource,
    OpenActivitySource,
    CompletedTasks,
    CompletedActivities,
    AstraTasks,
    ResourceOutcomes,
    CompletionWindows,
)
# Polled only when their settings ask for them; with no series, their families are left out
# of /metrics altogether, so an exporter that does not use them shows nothing of them.
OPT_IN: Final = frozenset({AstraTasks.name, ResourceOutcomes.name, CompletionWindows.name})
OPT_IN_FAMILIES: Final = frozenset(
    spec.name for source in REGISTRY if source.name in OPT_IN for spec, _ in source.families
)
SOURCE_NAMES: Final = tuple(source.name for source in REGISTRY if source.name not in OPT_IN)

__all__ = [
    "ACTIVITIES",
    "OPT_IN_FAMILIES",
    "REGISTRY",
    "SOURCE_NAMES",
    "TASKS",
    "CountKey",
    "OpenActivityScan",
    "OpenTaskScan",
    "Paging",
    "Params",
    "Source",
    "assemble_counts",
    "count_queries",
    "newest_completion",
    "queue_count_queries",
    "scan_open_activities",
    "scan_open_tasks",
    "sendable",
    "walk_completions",
]
