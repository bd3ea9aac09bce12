"""Zero-first holding and per-family render isolation, through the real Exposition and parser."""

from __future__ import annotations

import dataclasses

from prometheus_client.parser import text_string_to_metric_families

from exporter.exposition import Exposition, self_registry
from exporter.grouping import Completions
from exporter.snapshot import SnapshotStore, TenantInfo
from tests.support.snapshots import hand_built_snapshot

COMPLETED = "acronis_tasks_completed_total"


def values(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Values of the samples called ``name``, by label set."""
    return {
        frozenset(s.labels.items()): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


class TestZeroFirst:
    """A new counter series shows 0 for one poll interval, then its full cumulative value."""

    def test_new_series_is_zero_until_exposed_for_a_poll_interval(self) -> None:
        """First publish: all 0; a publish one interval later: the snapshot's exact counts."""
        first = dataclasses.replace(hand_built_snapshot(), taken_at=1000.0, poll_interval_seconds=60.0)
        store = SnapshotStore(initial=first)
        exposition = Exposition(store, self_registry())
        held = values(exposition.data().decode(), COMPLETED)
        assert held
        assert set(held.values()) == {0.0}
        store.publish(dataclasses.replace(first, taken_at=1030.0))  # half an interval: still held
        assert set(values(exposition.data().decode(), COMPLETED).values()) == {0.0}
        store.publish(dataclasses.replace(first, taken_at=1060.0))
        released = values(exposition.data().decode(), COMPLETED)
        completions = first.result("completed_tasks", Completions)
        assert completions is not None
        assert sum(released.values()) == sum(completions.tasks.values())


class TestRenderIsolation:
    """A family that cannot be rendered costs itself, never the scrape."""

    def test_unencodable_family_is_left_out_and_counted(self) -> None:
        """A lone surrogate in a tenant name drops acronis_tenant_info only, and is counted."""
        base = hand_built_snapshot()
        broken = TenantInfo(id="1", name="bad \udcff name", locator="/1/")
        store = SnapshotStore(initial=dataclasses.replace(base, tenants={**base.tenants, "1": broken}))
        body = Exposition(store, self_registry()).body().decode()
        names = {family.name for family in text_string_to_metric_families(body)}
        assert "acronis_tenant_info" not in names
        assert {"acronis_tasks", "acronis_tasks_completed", "acronis_up"} <= names
        failures = values(body, "acronis_exporter_render_failures_total")
        assert failures[frozenset({("metric", "acronis_tenant_info")})] == 1.0
