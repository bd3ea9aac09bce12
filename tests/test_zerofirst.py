"""Zero-first holding and per-family render isolation, through the real Exposition and parser."""

from __future__ import annotations

import dataclasses

from prometheus_client.parser import text_string_to_metric_families

from exporter.exposition import Exposition, self_registry
from exporter.grouping import Completions
from exporter.snapshot import Snapshot, SnapshotStore, TenantInfo
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
        first = _taken(hand_built_snapshot(), wall=1000.0, monotonic=50.0)
        store = SnapshotStore(initial=first)
        exposition = Exposition(store, self_registry())
        held = values(exposition.data().decode(), COMPLETED)
        assert held
        assert set(held.values()) == {0.0}
        store.publish(_taken(first, wall=1030.0, monotonic=80.0))  # half an interval: still held
        assert set(values(exposition.data().decode(), COMPLETED).values()) == {0.0}
        store.publish(_taken(first, wall=1060.0, monotonic=110.0))
        assert sum(values(exposition.data().decode(), COMPLETED).values()) == _total(first)

    def test_a_wall_clock_stepped_back_shows_no_counter_as_new_again(self) -> None:
        """NTP steps the clock back an hour between two polls: the counters keep their values, never 0."""
        first = _taken(hand_built_snapshot(), wall=10_000.0, monotonic=50.0)
        store = SnapshotStore(initial=first)
        exposition = Exposition(store, self_registry())
        exposition.data()
        store.publish(_taken(first, wall=10_060.0, monotonic=110.0))
        assert sum(values(exposition.data().decode(), COMPLETED).values()) == _total(first)
        store.publish(_taken(first, wall=10_120.0 - 3600.0, monotonic=170.0))
        stepped = values(exposition.data().decode(), COMPLETED)
        assert 0.0 not in stepped.values()
        assert sum(stepped.values()) == _total(first)


def _taken(snapshot: Snapshot, *, wall: float, monotonic: float) -> Snapshot:
    """Return ``snapshot`` as taken at these readings of the wall and monotonic clocks, one poll a minute."""
    return dataclasses.replace(snapshot, taken_at=wall, taken_monotonic=monotonic, poll_interval_seconds=60.0)


def _total(snapshot: Snapshot) -> float:
    completions = snapshot.result("completed_tasks", Completions)
    assert completions is not None
    return float(sum(completions.tasks.values()))


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
