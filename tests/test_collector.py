"""The collector renders a snapshot exactly, and never fails a scrape."""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.catalogue import DURATION_BUCKETS, TASK_DURATION
from exporter.collector import TaskManagerCollector
from exporter.families import FOLDED_TENANT_NAME, UNKNOWN_TENANT_NAME
from exporter.grouping import Completions
from exporter.labels import series
from exporter.snapshot import (
    HistogramData,
    Snapshot,
    SnapshotStore,
    SourceStatus,
)
from exporter.sources.open_tasks import OpenTasks
from exporter.vocabulary import OPEN_STATES, TASK_STATES
from tests.support.golden import assert_golden
from tests.support.scrape import parse_samples
from tests.support.snapshots import T, hand_built_snapshot, open_task, source_statuses, with_result


def render(snapshot: Snapshot) -> str:
    """Render one snapshot through a fresh registry, as /metrics does."""
    registry = CollectorRegistry()
    registry.register(TaskManagerCollector(SnapshotStore(initial=snapshot)))
    return generate_latest(registry).decode()


def samples(snapshot: Snapshot) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Parse the rendering back with the real parser: (sample name, labels) -> value."""
    return parse_samples(render(snapshot))


def families(snapshot: Snapshot) -> dict[str, list[str]]:
    """Family name -> the label names its first sample carries (le excluded)."""
    parsed = text_string_to_metric_families(render(snapshot))
    return {f.name: sorted(set(f.samples[0].labels) - {"le"}) for f in parsed if f.samples}


class TestGoldenExposition:
    """A known snapshot renders byte for byte the committed exposition."""

    def test_hand_built_snapshot_renders_the_golden_file(self, *, update_golden: bool) -> None:
        """Every family, label and value of the hand-built snapshot matches tests/golden/snapshot.prom."""
        assert_golden("snapshot.prom", render(hand_built_snapshot()), update=update_golden)

    def test_no_sample_carries_a_timestamp(self) -> None:
        """Cached data is exposed without sample timestamps, as the exporter guide asks."""
        parsed = text_string_to_metric_families(render(hand_built_snapshot()))
        assert all(sample.timestamp is None for family in parsed for sample in family.samples)


class TestValues:
    """Parsed back with the real parser, the exposition carries the snapshot's numbers."""

    def test_every_task_state_is_present_with_zero_for_missing_ones(self) -> None:
        """acronis_tasks has all five states; paused, absent from the snapshot, is 0."""
        values = samples(hand_built_snapshot())
        states = {state: values[("acronis_tasks", frozenset({("state", state)}))] for state in TASK_STATES}
        assert states == {"enqueued": 12, "assigned": 3, "started": 7, "paused": 0, "completed": 1840}

    def test_every_open_state_is_emitted_per_group(self) -> None:
        """Each (queue, tenant) group with open tasks shows all four open states."""
        values = samples(hand_built_snapshot())
        group = {("queue", "scan"), ("tenant_id", "1496266")}
        by_state = {s: values[("acronis_open_tasks", frozenset({*group, ("state", s)}))] for s in OPEN_STATES}
        assert by_state == {"enqueued": 0, "assigned": 3, "started": 3, "paused": 0}

    def test_counters_and_tenant_info_parse_back(self) -> None:
        """Completion counters and tenant names survive escaping and parsing."""
        values = samples(hand_built_snapshot())
        completed = frozenset({("tenant_id", "1496265"), ("queue", "backup"), ("result_code", "ok")})
        assert values[("acronis_tasks_completed_total", completed)] == 25
        names = {dict(labels)["tenant_name"] for name, labels in values if name == "acronis_tenant_info"}
        assert names == {"John Doe", 'Quote "and" backslash \\', FOLDED_TENANT_NAME, UNKNOWN_TENANT_NAME}

    def test_histogram_buckets_are_cumulative_and_end_at_the_count(self) -> None:
        """Bucket values never decrease, +Inf equals _count, and _sum is the snapshot's total."""
        values = samples(hand_built_snapshot())
        series = frozenset({("queue", "backup"), ("result_code", "ok")})
        buckets = [
            values[("acronis_task_duration_seconds_bucket", series | {("le", le)})]
            for le in [*(str(bound) for bound in DURATION_BUCKETS), "+Inf"]
        ]
        assert buckets == sorted(buckets)
        assert buckets[3] == 5
        assert buckets[5] == 20
        assert buckets[-1] == values[("acronis_task_duration_seconds_count", series)] == 25
        assert values[("acronis_task_duration_seconds_sum", series)] == 9800.5


class TestDroppedLabels:
    """Labels the operator dropped vanish from the label lists."""

    def test_dropped_labels_appear_in_no_family(self) -> None:
        """With task_type, priority and activity_type dropped, no family carries them."""
        rendered = families(hand_built_snapshot())
        assert rendered["acronis_open_tasks"] == ["queue", "state", "tenant_id"]
        assert rendered["acronis_tasks_completed"] == ["queue", "result_code", "tenant_id"]
        assert rendered["acronis_open_activities"] == ["state", "tenant_id"]

    def test_dropping_tenant_id_removes_it_and_the_tenant_info_family(self) -> None:
        """Without tenant_id there is nothing to join names on, so acronis_tenant_info is left out."""
        snapshot = dataclasses.replace(
            hand_built_snapshot(), dropped_labels=frozenset({"tenant_id", "task_type", "priority"})
        )
        rendered = families(snapshot)
        assert "acronis_tenant_info" not in rendered
        assert all("tenant_id" not in labels for labels in rendered.values())

    def test_series_that_become_equal_are_summed(self) -> None:
        """Keys differing only in a dropped label merge into one series holding their sum."""
        base = hand_built_snapshot()
        open_tasks = base.result("open_tasks", OpenTasks)
        assert open_tasks is not None
        merging = dataclasses.replace(
            open_tasks,
            by_group={
                open_task("enqueued", "backup", "t1", task_type="TpScan"): 2,
                open_task("enqueued", "backup", "t1", task_type="WinScan"): 5,
            },
        )
        values = samples(with_result(base, "open_tasks", merging))
        labels = frozenset({("state", "enqueued"), ("queue", "backup"), ("tenant_id", "t1")})
        assert values[("acronis_open_tasks", labels)] == 7


class TestFailedSources:
    """A failed source keeps its last good values and says so."""

    def test_failed_source_keeps_values_and_reports_source_up_zero(self) -> None:
        """Counts stay, source_up is 0 for the failed source only, acronis_up is 0."""
        snapshot = dataclasses.replace(
            hand_built_snapshot(), sources=source_statuses(frozenset({"task_counts"}))
        )
        values = samples(snapshot)
        assert values[("acronis_tasks", frozenset({("state", "enqueued")}))] == 12
        assert values[("acronis_exporter_source_up", frozenset({("source", "task_counts")}))] == 0
        assert values[("acronis_exporter_source_up", frozenset({("source", "open_tasks")}))] == 1
        assert values[("acronis_up", frozenset())] == 0
        last = values[
            ("acronis_exporter_last_success_timestamp_seconds", frozenset({("source", "task_counts")}))
        ]
        assert last == T - 60.0

    def test_last_success_is_omitted_before_the_first_success(self) -> None:
        """A source that never succeeded has source_up 0 and no last-success series."""
        never = SourceStatus("task_counts", ok=False, duration_seconds=1.0, last_success=None)
        values = samples(Snapshot(taken_at=T, sources={"task_counts": never}))
        assert values[("acronis_exporter_source_up", frozenset({("source", "task_counts")}))] == 0
        assert not any(name == "acronis_exporter_last_success_timestamp_seconds" for name, _ in values)
        assert not any(name == "acronis_tasks" for name, _ in values)


class TestRobustness:
    """Rendering never raises, whatever the snapshot holds."""

    def test_empty_store_renders_only_acronis_up_zero(self) -> None:
        """Before the first poll the only series is acronis_up 0."""
        registry = CollectorRegistry()
        registry.register(TaskManagerCollector(SnapshotStore()))
        values = {
            (s.name, frozenset(s.labels.items())): s.value
            for f in text_string_to_metric_families(generate_latest(registry).decode())
            for s in f.samples
        }
        assert values == {("acronis_up", frozenset()): 0.0}

    def test_malformed_histogram_is_skipped_and_the_rest_renders(self) -> None:
        """A histogram whose counts do not fit its bounds is left out; other series still render."""
        base = hand_built_snapshot()
        completions = base.result("completed_tasks", Completions)
        assert completions is not None
        broken = dataclasses.replace(
            completions,
            task_duration={
                series(TASK_DURATION, queue="backup", result_code="ok"): HistogramData((1.0, 2.0), (1,), 1.0),
                series(TASK_DURATION, queue="scan", result_code="ok"): HistogramData((1.0,), (1, 1), 3.0),
            },
        )
        values = samples(with_result(base, "completed_tasks", broken))
        scan_ok = frozenset({("queue", "scan"), ("result_code", "ok")})
        assert values[("acronis_task_duration_seconds_count", scan_ok)] == 2
        assert (
            "acronis_task_duration_seconds_count",
            scan_ok - {("queue", "scan")} | {("queue", "backup")},
        ) not in values
        assert values[("acronis_up", frozenset())] == 1

    def test_each_scrape_reads_the_latest_published_snapshot(self) -> None:
        """After publish() the next collection shows the new poll."""
        store = SnapshotStore(initial=hand_built_snapshot())
        registry = CollectorRegistry()
        registry.register(TaskManagerCollector(store))
        store.publish(Snapshot(taken_at=T + 60, sources=source_statuses(frozenset({"open_tasks"}))))
        text = generate_latest(registry).decode()
        assert "acronis_up 0.0" in text
        assert "acronis_tasks{" not in text
