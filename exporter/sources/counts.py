"""The ``task_counts`` and ``activity_counts`` sources: totals from ``lod=count`` queries.

One request per state and per result code; tasks are also counted per queue, for the
queues the open-task walk labelled (so this source runs ``after`` open_tasks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final

from exporter import catalogue
from exporter.labels import series
from exporter.rendering import every, simple
from exporter.sources.base import Folded, Source
from exporter.sources.listing import OPEN_FILTER, sendable
from exporter.vocabulary import OPEN_STATES, OTHER, RESULT_CODES, TASK_STATES, UNKNOWN

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping, Sequence

    from prometheus_client.metrics_core import Metric

    from exporter.config import Settings
    from exporter.snapshot import Snapshot
    from exporter.sources.base import Family, Params, Poll, Resource, Shared

CountKey = tuple[str, str]  # ("state", "started"), ("result", "ok"), ("queue", "backup")
TASK_COUNTS: Final = "task_counts"
ACTIVITY_COUNTS: Final = "activity_counts"


@dataclass(frozen=True)
class Counts:
    """The result of a counts source: totals from ``lod=count`` queries."""

    by_state: Mapping[str, int]
    completed_by_result: Mapping[str, int]
    open_by_queue: Mapping[str, int] = field(default_factory=dict)  # tasks only


def count_queries() -> dict[CountKey, Params]:
    """Return the counts per state and per result code, one request each, keyed for ``assemble_counts``."""
    queries: dict[CountKey, Params] = {("state", state): [("state", state)] for state in TASK_STATES}
    for code in RESULT_CODES:
        queries["result", code] = [("state", "completed"), ("resultCode", code)]
    return queries


def queue_count_queries(queues: Sequence[str]) -> dict[CountKey, Params]:
    """Return the counts of open tasks per queue, one request each (``sendable`` queues only)."""
    return {("queue", queue): [("queue", queue), *OPEN_FILTER] for queue in queues if sendable(queue)}


def assemble_counts(results: Mapping[Hashable, object]) -> Counts:
    """Arrange the answers of ``count_queries`` (keyed as it keys them) into a ``Counts``."""

    def part(kind: str) -> dict[str, int]:
        return {
            str(key[1]): n
            for key, n in results.items()
            if isinstance(key, tuple) and key[0] == kind and isinstance(n, int)
        }

    return Counts(by_state=part("state"), completed_by_result=part("result"), open_by_queue=part("queue"))


def count_jobs(
    poll: Poll, resource: Resource, queries: Mapping[CountKey, Params]
) -> dict[Hashable, Callable[[], object]]:
    """Return one lod=count job per query; each is reported to ``paging.on_page`` as a page."""

    def counter(params: Params) -> Callable[[], object]:
        def count() -> int:
            value = poll.client.count(resource, params)
            poll.paging.on_page(0)
            return value

        return count

    return {key: counter(params) for key, params in queries.items()}


def _by_state(source: str, spec: catalogue.MetricSpec) -> Family:
    def build(snapshot: Snapshot) -> Metric:
        counts = snapshot.result(source, Counts)
        return simple(spec, every(spec, "state", TASK_STATES, counts.by_state) if counts else {})

    return spec, build


def _retained(source: str, spec: catalogue.MetricSpec) -> Family:
    def build(snapshot: Snapshot) -> Metric:
        counts = snapshot.result(source, Counts)
        values = every(spec, "result_code", RESULT_CODES, counts.completed_by_result) if counts else {}
        return simple(spec, values)

    return spec, build


def _queue_open_tasks(snapshot: Snapshot) -> Metric:
    """Open tasks per counted queue, and the rest under ``__other__``, so the sum is every open task."""
    spec = catalogue.QUEUE_OPEN_TASKS
    if (counts := snapshot.result(TASK_COUNTS, Counts)) is None:
        return simple(spec, {}, snapshot.dropped_labels)
    queues = {queue: float(n) for queue, n in counts.open_by_queue.items()}
    open_total = sum(counts.by_state.get(state, 0) for state in OPEN_STATES)
    # Counted a moment apart, the parts may exceed the total by a few: never show a negative.
    queues[OTHER] = queues.get(OTHER, 0.0) + max(open_total - sum(queues.values()), 0.0)
    values = {series(spec, queue=queue): n for queue, n in queues.items()}
    return simple(spec, values, snapshot.dropped_labels)


class ActivityCounts(Source):
    """Activities per state and completed activities per result code."""

    name: ClassVar[str] = ACTIVITY_COUNTS
    activities: ClassVar[bool] = True
    resource: ClassVar[Resource] = "activities"
    families: ClassVar[tuple[Family, ...]] = (
        _by_state(ACTIVITY_COUNTS, catalogue.ACTIVITIES),
        _retained(ACTIVITY_COUNTS, catalogue.ACTIVITIES_COMPLETED_RETAINED),
    )

    def requests(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:
        """Count every state and result code."""
        return count_jobs(poll, self.resource, count_queries())

    def fold(self, replies: Mapping[Hashable, object], poll: Poll) -> Folded:  # noqa: ARG002
        """Arrange the counts."""
        return Folded(assemble_counts(replies))


class TaskCounts(ActivityCounts):
    """Tasks per state, completed tasks per result code, and open tasks per labelled queue."""

    name: ClassVar[str] = TASK_COUNTS
    activities: ClassVar[bool] = False
    after: ClassVar[str | None] = "open_tasks"
    resource: ClassVar[Resource] = "tasks"
    families: ClassVar[tuple[Family, ...]] = (
        _by_state(TASK_COUNTS, catalogue.TASKS),
        _retained(TASK_COUNTS, catalogue.TASKS_COMPLETED_RETAINED),
        (catalogue.QUEUE_OPEN_TASKS, _queue_open_tasks),
    )

    def __init__(self, settings: Settings, shared: Shared) -> None:
        super().__init__(settings, shared)
        self._unsendable: set[int] = set()  # hashes of queue names counted as unsendable

    def follow_up(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:
        """Count the open tasks of each queue the walk labelled (or the operator named)."""
        return count_jobs(poll, self.resource, queue_count_queries(self._queues_to_count(poll)))

    def _queues_to_count(self, poll: Poll) -> tuple[str, ...]:
        if "queue" in self.settings.metrics.drop_labels:
            return ()  # no queue series to count for
        named = self.settings.poll.queues or poll.labeler.admitted("queue")
        queues = tuple(queue for queue in named if queue not in (OTHER, UNKNOWN, ""))
        for queue in queues:  # such a queue is left out of the counts, and counted once
            if not sendable(queue) and hash(queue) not in self._unsendable:
                self._unsendable.add(hash(queue))
                poll.skip(self.name, {"unsendable": 1})
        return queues
