"""The families /metrics renders: the poll's own, built here, and each registered source's.

Every source module declares the families it produces (``Source.families``); this module
adds the families about the poll itself (``acronis_up``, per-source status, folding,
skipped items) and orders them all as ``catalogue.ALL`` lists them. One
builder per family, so that a family failing to render costs only itself.

* Labels named in ``snapshot.dropped_labels`` disappear from every family's label list,
  and the series they alone told apart merge (rendering.py, the one place labels drop);
  the folding counts of a dropped label are not shown either.
* Capped labels fold into ``__other__``, which ``acronis_tenant_info`` and
  ``acronis_queue_open_tasks`` name too: no family loses what was folded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from exporter import catalogue
from exporter.labels import series
from exporter.rendering import by_label, simple
from exporter.sources import REGISTRY
from exporter.vocabulary import OTHER, UNKNOWN

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from prometheus_client.metrics_core import Metric

    from exporter.snapshot import Snapshot, SourceStatus
    from exporter.sources.base import Family

    Builder = Callable[[Snapshot], Metric]

# --- data families ----------------------------------------------------------------------

FOLDED_TENANT_NAME: Final = "(folded: tenants beyond --metrics.max-tenants)"
UNKNOWN_TENANT_NAME: Final = "(unknown: items that name no tenant)"


def _tenant_info(snapshot: Snapshot) -> Metric:
    """Every labelled tenant, plus rows for ``__other__`` and ``unknown`` so that joins keep them."""
    if "tenant_id" in snapshot.dropped_labels or not snapshot.sources:  # no poll, or nothing to join on
        return simple(catalogue.TENANT_INFO, {})
    rows = [(t.id, t.name, t.locator, t.uuid, t.parent_id) for t in snapshot.tenants.values()]
    rows += [(OTHER, FOLDED_TENANT_NAME, "", "", ""), (UNKNOWN, UNKNOWN_TENANT_NAME, "", "", "")]
    info = {
        series(
            catalogue.TENANT_INFO,
            tenant_id=tenant_id,
            tenant_name=name,
            locator=locator,
            tenant_uuid=uuid,
            parent_tenant_id=parent,
        ): 1.0
        for tenant_id, name, locator, uuid, parent in rows
    }
    return simple(catalogue.TENANT_INFO, info, merge=max)


# --- poll status -----------------------------------------------------------------------


ACRONIS_SOURCES: Final = frozenset(source.name for source in REGISTRY if source.api == "acronis")


def _up(snapshot: Snapshot) -> Metric:
    """Judge the Acronis sources alone, so that an Astra Control failure never reads as Acronis down."""
    acronis = [status for status in snapshot.sources.values() if status.name in ACRONIS_SOURCES]
    if snapshot.sources and not acronis:  # an Astra-only exporter: no Acronis API to judge
        return simple(catalogue.UP, {})
    up = bool(acronis) and all(status.ok for status in acronis)
    return simple(catalogue.UP, {series(catalogue.UP): 1.0 if up else 0.0})


def _by_source(spec: catalogue.MetricSpec, value: Callable[[SourceStatus], float | None]) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        values = {series(spec, source=s.name): value(s) for s in snapshot.sources.values()}
        return simple(spec, {key: v for key, v in values.items() if v is not None})

    return build


def _tenants_folded(snapshot: Snapshot) -> Metric:
    # Before the first poll there is nothing to have folded: no series rather than a false 0.
    if not snapshot.sources:
        return simple(catalogue.TENANTS_FOLDED, {})
    folded = 0 if "tenant_id" in snapshot.dropped_labels else snapshot.tenants_folded
    return simple(catalogue.TENANTS_FOLDED, {series(catalogue.TENANTS_FOLDED): float(folded)})


def _label_values_folded(snapshot: Snapshot) -> Metric:
    """Values folded per capped label; a dropped label shows none, as it has no series to fold into."""
    shown = {
        label: n for label, n in snapshot.label_values_folded.items() if label not in snapshot.dropped_labels
    }
    folded = by_label(catalogue.LABEL_VALUES_FOLDED, "label", shown) if snapshot.sources else {}
    return simple(catalogue.LABEL_VALUES_FOLDED, folded)


def _poll_interval(snapshot: Snapshot) -> Metric:
    interval = snapshot.poll_interval_seconds
    values = {series(catalogue.POLL_INTERVAL): interval} if interval > 0 else {}
    return simple(catalogue.POLL_INTERVAL, values)  # no series when not from a poller


def _items_skipped(snapshot: Snapshot) -> Metric:
    skipped = {
        series(catalogue.ITEMS_SKIPPED, source=source, reason=reason): float(n)
        for (source, reason), n in snapshot.items_skipped.items()
    }
    return simple(catalogue.ITEMS_SKIPPED, skipped)


POLL_FAMILIES: tuple[Family, ...] = (
    (catalogue.TENANT_INFO, _tenant_info),
    (catalogue.UP, _up),
    (catalogue.SOURCE_UP, _by_source(catalogue.SOURCE_UP, lambda s: float(s.ok))),
    (catalogue.SOURCE_LAST_SUCCESS, _by_source(catalogue.SOURCE_LAST_SUCCESS, lambda s: s.last_success)),
    (catalogue.SOURCE_DURATION, _by_source(catalogue.SOURCE_DURATION, lambda s: s.duration_seconds)),
    (catalogue.TENANTS_FOLDED, _tenants_folded),
    (catalogue.LABEL_VALUES_FOLDED, _label_values_folded),
    (catalogue.POLL_INTERVAL, _poll_interval),
    (catalogue.ITEMS_SKIPPED, _items_skipped),
)


def _in_exposition_order(families: Iterable[Family]) -> tuple[Family, ...]:
    """Order every family as the catalogue lists them; a family it does not list is a bug, caught here."""
    position = {spec.name: index for index, spec in enumerate(catalogue.ALL)}
    return tuple(sorted(families, key=lambda family: position[family[0].name]))


# Every family /metrics renders: the poll's own, then each registered source's.
FAMILIES: tuple[Family, ...] = _in_exposition_order(
    (*POLL_FAMILIES, *(family for source in REGISTRY for family in source.families))
)
