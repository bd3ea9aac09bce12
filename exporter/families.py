"""The families /metrics renders: the poll's own, built here, and each registered source's.

Every source module declares the families it produces (``Source.families``); this module
adds the families about the poll itself (``acronis_up``, per-source status, folding,
skipped items) and orders them all as ``catalogue.ALL`` lists them. One
builder per family, so that a family failing to render costs only itself.

* Labels named in ``snapshot.dropped_labels`` disappear from every family's label list
  (rendering.py; the snapshot already holds ``""`` for them, equal keys are merged).
* Capped labels fold into ``__other__``, which ``acronis_tenant_info`` and
  ``acronis_queue_open_tasks`` name too: no family loses what was folded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from exporter import catalogue
from exporter.rendering import by_one, floats, simple
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
    info = {(t.id, t.name, t.locator, t.uuid, t.parent_id): 1.0 for t in snapshot.tenants.values()}
    info[OTHER, FOLDED_TENANT_NAME, "", "", ""] = 1.0
    info[UNKNOWN, UNKNOWN_TENANT_NAME, "", "", ""] = 1.0
    return simple(catalogue.TENANT_INFO, info, merge=max)


# --- poll status -----------------------------------------------------------------------


def _up(snapshot: Snapshot) -> Metric:
    return simple(catalogue.UP, {(): 1.0 if snapshot.up else 0.0})


def _by_source(spec: catalogue.MetricSpec, value: Callable[[SourceStatus], float | None]) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        values = {(s.name,): value(s) for s in snapshot.sources.values()}
        return simple(spec, {key: v for key, v in values.items() if v is not None})

    return build


def _watermark(snapshot: Snapshot) -> Metric:
    done = snapshot.completions
    return simple(catalogue.WATERMARK, by_one(done.watermarks) if done else {})


def _tenants_folded(snapshot: Snapshot) -> Metric:
    # Before the first poll there is nothing to have folded: no series rather than a false 0.
    return simple(catalogue.TENANTS_FOLDED, {(): float(snapshot.tenants_folded)} if snapshot.sources else {})


def _label_values_folded(snapshot: Snapshot) -> Metric:
    folded = by_one(snapshot.label_values_folded) if snapshot.sources else {}
    return simple(catalogue.LABEL_VALUES_FOLDED, folded)


def _poll_interval(snapshot: Snapshot) -> Metric:
    interval = snapshot.poll_interval_seconds
    return simple(catalogue.POLL_INTERVAL, {(): interval} if interval > 0 else {})  # 0: not from a poller


POLL_FAMILIES: tuple[Family, ...] = (
    (catalogue.TENANT_INFO, _tenant_info),
    (catalogue.UP, _up),
    (catalogue.SOURCE_UP, _by_source(catalogue.SOURCE_UP, lambda s: float(s.ok))),
    (catalogue.SOURCE_LAST_SUCCESS, _by_source(catalogue.SOURCE_LAST_SUCCESS, lambda s: s.last_success)),
    (catalogue.SOURCE_DURATION, _by_source(catalogue.SOURCE_DURATION, lambda s: s.duration_seconds)),
    (catalogue.WATERMARK, _watermark),
    (catalogue.TENANTS_FOLDED, _tenants_folded),
    (catalogue.LABEL_VALUES_FOLDED, _label_values_folded),
    (catalogue.POLL_INTERVAL, _poll_interval),
    (
        catalogue.ITEMS_SKIPPED,
        lambda snapshot: simple(catalogue.ITEMS_SKIPPED, floats(snapshot.items_skipped)),
    ),
)


def _in_exposition_order(families: Iterable[Family]) -> tuple[Family, ...]:
    """Order every family as the catalogue lists them; a family it does not list is a bug, caught here."""
    position = {spec.name: index for index, spec in enumerate(catalogue.ALL)}
    return tuple(sorted(families, key=lambda family: position[family[0].name]))


# Every family /metrics renders: the poll's own, then each registered source's.
FAMILIES: tuple[Family, ...] = _in_exposition_order(
    (*POLL_FAMILIES, *(family for source in REGISTRY for family in source.families))
)
