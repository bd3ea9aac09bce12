"""The ``open_activities`` source: one walk of every open activity, aggregated, then labelled."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final

from exporter import catalogue
from exporter.labels import Key, series
from exporter.models import parse_activity
from exporter.rendering import every_open_state, simple
from exporter.sources.base import Folded, Source
from exporter.sources.listing import ACTIVITIES, OPEN_FILTER, SeenIds, walk_raw
from exporter.typed_decode import ActivityRecord
from exporter.typed_items import open_activity_fields, record_id
from exporter.vocabulary import OPEN_STATES

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping

    from prometheus_client.metrics_core import Metric

    from exporter.cardinality import Labeler
    from exporter.models import ActivityItem, Tenant
    from exporter.snapshot import Snapshot
    from exporter.sources.base import Api, Family, OpenWork, Paging, Poll

OPEN_ACTIVITY_FIELDS: Final = ("state", "tenant", "type")
OPEN_ACTIVITIES: Final = "open_activities"


@dataclass(frozen=True)
class OpenActivities:
    """The result of ``open_activities``: the activities not yet completed."""

    by_group: Mapping[Key, int]  # series of catalogue.OPEN_ACTIVITIES


@dataclass
class OpenActivityScan:
    """Open activities aggregated by raw (state, tenant, type)."""

    groups: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    listed: int = 0
    seen: SeenIds = field(default_factory=SeenIds, repr=False)

    def add(self, item: ActivityItem) -> None:
        """Fold one open activity in, or count why it was skipped."""
        self.listed += 1
        reason = item.problem(OPEN_ACTIVITY_FIELDS)
        if reason is not None:
            self.skipped[reason] += 1
            return
        if item.state not in OPEN_STATES or item.tenant is None or self.seen.again(item.id):
            return
        self._fold(item.state, item.tenant, item.type or "")

    def add_record(self, record: ActivityRecord) -> None:
        """Fold one activity the fast path read, as ``add(activity_item(record))`` would, building no item."""
        self.listed += 1
        fields = open_activity_fields(record)
        if isinstance(fields, str):
            self.skipped[fields] += 1
            return
        state, tenant, activity_type = fields
        if state in OPEN_STATES and not self.seen.again(record_id(record)):
            self._fold(state, tenant, activity_type)

    def _fold(self, state: str, tenant: Tenant, activity_type: str) -> None:
        self.tenants.setdefault(tenant.id, tenant)
        self.groups[state, tenant.id, activity_type] += 1


def scan_open_activities(client: Api, paging: Paging) -> OpenActivityScan:
    """Walk every open activity once."""
    scan = OpenActivityScan()
    for raw in walk_raw(client, ACTIVITIES.resource, OPEN_FILTER, lod="short", paging=paging):
        if type(raw) is ActivityRecord:
            scan.add_record(raw)
        else:
            scan.add(parse_activity(raw))
    return scan


def label_open_activities(scan: OpenActivityScan, labeler: Labeler) -> OpenActivities:
    """Label one walk of open activities."""
    by_group: Counter[Key] = Counter()
    for (state, tenant, activity_type), n in scan.groups.items():
        tenant_label = labeler.tenant(scan.tenants.get(tenant))
        if tenant_label is not None:
            labelled = labeler.value("activity_type", activity_type)
            by_group[
                series(catalogue.OPEN_ACTIVITIES, state=state, tenant_id=tenant_label, activity_type=labelled)
            ] += n
    return OpenActivities(by_group=dict(by_group))


def _open_activities(snapshot: Snapshot) -> Metric:
    activities = snapshot.result(OPEN_ACTIVITIES, OpenActivities)
    values = every_open_state(activities.by_group) if activities else {}
    return simple(catalogue.OPEN_ACTIVITIES, values, snapshot.dropped_labels)


class OpenActivitySource(Source):
    """Every open activity, grouped by state, tenant and type."""

    name: ClassVar[str] = OPEN_ACTIVITIES
    activities: ClassVar[bool] = True
    families: ClassVar[tuple[Family, ...]] = ((catalogue.OPEN_ACTIVITIES, _open_activities),)

    def requests(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:
        """Walk the open activities, one job."""
        return {self.name: lambda: scan_open_activities(poll.client, poll.paging)}

    def open_work(self, replies: Mapping[Hashable, object], labeler: Labeler) -> OpenWork:
        """Weigh the walk's raw tenants and types, to seed the caps."""
        scan = replies[self.name]
        if not isinstance(scan, OpenActivityScan):
            return {}
        weights: OpenWork = {"tenant_id": Counter(), "activity_type": Counter()}
        kept = labeler.tenant_filter.keeps
        for (_, tenant, activity_type), n in scan.groups.items():
            weights["tenant_id"][tenant] += n if kept(scan.tenants.get(tenant)) else 0
            weights["activity_type"][activity_type] += n
        return weights

    def fold(self, replies: Mapping[Hashable, object], poll: Poll) -> Folded:
        """Label the walk."""
        scan = replies[self.name]
        if not isinstance(scan, OpenActivityScan):
            raise TypeError(type(scan).__name__)
        return Folded(label_open_activities(scan, poll.labeler), scan.skipped)
