"""The ``open_tasks`` source: one walk of every open task, aggregated by raw values, then labelled.

The walk runs on the pool and keeps raw API values (``""`` where the API left one unset);
labelling (filters, caps, ``unknown``) happens in ``fold``, on the poller's thread.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final

from exporter import catalogue
from exporter.labels import Key, series
from exporter.models import parse_task
from exporter.rendering import by_label, every_open_state, floats, simple
from exporter.rfc3339 import canonical, not_before, parse_time
from exporter.sources.base import Folded, Source
from exporter.sources.listing import OPEN_FILTER, TASKS, SeenIds, walk_raw
from exporter.typed_decode import TaskRecord
from exporter.typed_items import open_task_fields, record_id
from exporter.vocabulary import OPEN_STATES, PRIORITIES

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping

    from prometheus_client.metrics_core import Metric

    from exporter.cardinality import Labeler
    from exporter.models import TaskItem, Tenant
    from exporter.snapshot import Snapshot
    from exporter.sources.base import Api, Family, OpenWork, Paging, Poll
    from exporter.typed_decode import Text

OPEN_TASK_FIELDS: Final = ("state", "tenant", "queue", "type")
OPEN_TASKS: Final = "open_tasks"


@dataclass(frozen=True)
class OpenTasks:
    """The result of ``open_tasks``: the tasks not yet completed, from one full walk of the listing."""

    by_group: Mapping[Key, int]  # series of catalogue.OPEN_TASKS
    oldest: Mapping[Key, float]  # of TASK_OLDEST -> unix seconds
    blocked: Mapping[Key, int]  # of TASKS_BLOCKED
    cancel_requested: Mapping[str, int]  # queue label -> open tasks
    reassigned: Mapping[str, int]  # queue label -> open tasks


@dataclass
class OpenTaskScan:
    """Open tasks aggregated by raw values (``""`` where the API left a value unset)."""

    groups: Counter[tuple[str, str, str, str, str]] = field(
        default_factory=Counter
    )  # state, queue, tenant, type, priority
    oldest: dict[tuple[str, str], float] = field(default_factory=dict)  # (state, queue)
    blocked: Counter[tuple[str, str]] = field(default_factory=Counter)  # (queue, tenant)
    cancel_requested: Counter[str] = field(default_factory=Counter)
    reassigned: Counter[str] = field(default_factory=Counter)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    listed: int = 0
    seen: SeenIds = field(default_factory=SeenIds, repr=False)
    # The oldest start's string where it has the API's shape: later ones of that shape lose unparsed.
    _oldest_text: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)

    def add(self, item: TaskItem) -> None:
        """Fold one open task in, or count why it was skipped."""
        self.listed += 1
        reason = item.problem(OPEN_TASK_FIELDS)
        if reason is not None:
            self.skipped[reason] += 1
            return
        if item.state not in OPEN_STATES or item.tenant is None or self.seen.again(item.id):
            return  # completed between pages (the next poll counts it elsewhere), or listed twice
        state, queue = item.state, item.queue or ""
        tenant = item.tenant
        self._fold((state, queue, tenant.id, item.type or "", item.priority or ""), tenant, item)
        # The oldest task is the one waiting longest in its state: started ones since startedAt.
        self._offer((state, queue), item.started_at if state == "started" else item.enqueued_at)

    def add_record(self, record: TaskRecord) -> None:
        """Fold one task the fast path read, as ``add(task_item(record))`` would, building no item."""
        self.listed += 1
        fields = open_task_fields(record)
        if isinstance(fields, str):
            self.skipped[fields] += 1
            return
        state, queue, tenant, task_type = fields
        if state not in OPEN_STATES or self.seen.again(record_id(record)):
            return
        priority = record.priority
        priority = priority if isinstance(priority, str) and priority in PRIORITIES else ""
        self._fold((state, queue, tenant.id, task_type, priority), tenant, record)
        self._offer_text((state, queue), record.started_at if state == "started" else record.enqueued_at)

    def _fold(
        self, group: tuple[str, str, str, str, str], tenant: Tenant, flags: TaskItem | TaskRecord
    ) -> None:
        """Count one task in ``group`` (state, queue, tenant id, type, priority)."""
        queue = group[1]
        self.tenants.setdefault(tenant.id, tenant)
        self.groups[group] += 1
        if _has_blockers(flags):  # per tenant only where there is one: zeros would multiply series
            self.blocked[queue, tenant.id] += 1
        self.cancel_requested[queue] += flags.cancel_requested is True
        self.reassigned[queue] += _assign_count(flags) > 1

    def _offer(self, where: tuple[str, str], since: float | None) -> bool:
        """Keep ``since`` if it is the oldest start of ``where`` yet; tell whether it was."""
        if since is None or since >= self.oldest.get(where, math.inf):
            return False
        self.oldest[where] = since
        self._oldest_text.pop(where, None)
        return True

    def _offer_text(self, where: tuple[str, str], text: Text) -> None:
        """Offer a start as the API wrote it, parsed only if it may be the oldest yet.

        Beside the oldest start its string is kept when it has the API's own shape: a string
        of that shape and length sorts as its time, so one that sorts after cannot win.
        """
        if not isinstance(text, str) or not text:
            return  # unset: the item's time would be None
        best = self._oldest_text.get(where)
        if best is not None and not_before(text, best):
            return
        if self._offer(where, parse_time(text)) and canonical(text):
            self._oldest_text[where] = text


def _has_blockers(flags: TaskItem | TaskRecord) -> bool:
    if isinstance(flags, TaskRecord):
        return type(flags.blockers) is list and len(flags.blockers) > 0
    return flags.has_blockers


def _assign_count(flags: TaskItem | TaskRecord) -> int:
    count = flags.assign_count
    return count if type(count) is int else 0


def scan_open_tasks(client: Api, paging: Paging) -> OpenTaskScan:
    """Walk every open task once (lod=long: blockers are not in short)."""
    scan = OpenTaskScan()
    for raw in walk_raw(client, TASKS.resource, OPEN_FILTER, lod="long", paging=paging):
        if type(raw) is TaskRecord:
            scan.add_record(raw)
        else:
            scan.add(parse_task(raw))
    return scan


def open_task_weights(scan: OpenTaskScan, labeler: Labeler) -> OpenWork:
    """Open tasks per raw tenant, queue and type; tenants the filter drops weigh nothing."""
    weights: OpenWork = {"tenant_id": Counter(), "queue": Counter(), "task_type": Counter()}
    kept = labeler.tenant_filter.keeps
    for (_, queue, tenant, task_type, _), n in scan.groups.items():
        weights["tenant_id"][tenant] += n if kept(scan.tenants.get(tenant)) else 0
        weights["queue"][queue] += n
        weights["task_type"][task_type] += n
    return weights


def label_open_tasks(scan: OpenTaskScan, labeler: Labeler) -> OpenTasks:
    """Label one walk of open tasks."""
    by_group: Counter[Key] = Counter()
    for (state, queue, tenant, task_type, priority), n in scan.groups.items():
        tenant_label = labeler.tenant(scan.tenants.get(tenant))
        if tenant_label is not None:
            key = series(
                catalogue.OPEN_TASKS,
                state=state,
                queue=labeler.value("queue", queue),
                tenant_id=tenant_label,
                task_type=labeler.value("task_type", task_type),
                priority=labeler.value("priority", priority),
            )
            by_group[key] += n
    oldest: dict[Key, float] = {}
    for (state, queue), since in scan.oldest.items():
        where = series(catalogue.TASK_OLDEST, state=state, queue=labeler.value("queue", queue))
        oldest[where] = min(since, oldest.get(where, since))
    blocked: Counter[Key] = Counter()
    for (queue, tenant), n in scan.blocked.items():
        tenant_label = labeler.tenant(scan.tenants.get(tenant))
        if tenant_label is not None:
            blocked[
                series(catalogue.TASKS_BLOCKED, queue=labeler.value("queue", queue), tenant_id=tenant_label)
            ] += n
    return OpenTasks(
        by_group=dict(by_group),
        oldest=oldest,
        blocked=dict(blocked),
        cancel_requested=_per_queue(scan.cancel_requested, labeler),
        reassigned=_per_queue(scan.reassigned, labeler),
    )


def _per_queue(counts: Mapping[str, int], labeler: Labeler) -> dict[str, int]:
    labelled: Counter[str] = Counter()
    for queue, n in counts.items():
        labelled[labeler.value("queue", queue)] += n
    return dict(labelled)


def _part(spec: catalogue.MetricSpec, part: Callable[[OpenTasks], Mapping[Key, float]]) -> Family:
    def build(snapshot: Snapshot) -> Metric:
        tasks = snapshot.result(OPEN_TASKS, OpenTasks)
        merge = min if spec is catalogue.TASK_OLDEST else operator.add
        return simple(spec, part(tasks) if tasks else {}, snapshot.dropped_labels, merge)

    return spec, build


class OpenTaskSource(Source):
    """Every open task, grouped by state, queue, tenant, type and priority."""

    name: ClassVar[str] = OPEN_TASKS
    families: ClassVar[tuple[Family, ...]] = (
        _part(catalogue.OPEN_TASKS, lambda t: every_open_state(t.by_group)),
        _part(catalogue.TASK_OLDEST, lambda t: t.oldest),
        _part(catalogue.TASKS_BLOCKED, lambda t: floats(t.blocked)),
        _part(
            catalogue.TASKS_CANCEL_REQUESTED,
            lambda t: by_label(catalogue.TASKS_CANCEL_REQUESTED, "queue", t.cancel_requested),
        ),
        _part(
            catalogue.TASKS_REASSIGNED, lambda t: by_label(catalogue.TASKS_REASSIGNED, "queue", t.reassigned)
        ),
    )

    def requests(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:
        """Walk the open tasks, one job."""
        return {self.name: lambda: scan_open_tasks(poll.client, poll.paging)}

    def open_work(self, replies: Mapping[Hashable, object], labeler: Labeler) -> OpenWork:
        """Weigh the walk's raw values, to seed the caps."""
        scan = replies[self.name]
        return open_task_weights(scan, labeler) if isinstance(scan, OpenTaskScan) else {}

    def fold(self, replies: Mapping[Hashable, object], poll: Poll) -> Folded:
        """Label the walk."""
        scan = replies[self.name]
        if not isinstance(scan, OpenTaskScan):
            raise TypeError(type(scan).__name__)
        return Folded(label_open_tasks(scan, poll.labeler), scan.skipped)
