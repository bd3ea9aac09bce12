"""A hand-built snapshot with at least one series in every family, shared by rendering tests."""

from __future__ import annotations

from exporter.catalogue import DURATION_BUCKETS, QUEUE_WAIT_BUCKETS
from exporter.selfmetrics import SOURCES
from exporter.snapshot import (
    Completions,
    Counts,
    HistogramData,
    OpenActivities,
    OpenTasks,
    Snapshot,
    SourceStatus,
    TenantInfo,
)

T = 1_790_000_000.0


def histogram(bounds: tuple[float, ...], counts: dict[int, int], total: float) -> HistogramData:
    """Build per-bucket counts from {bucket index: observations}."""
    return HistogramData(bounds, tuple(counts.get(i, 0) for i in range(len(bounds) + 1)), total)


def source_statuses(failed: frozenset[str] = frozenset()) -> dict[str, SourceStatus]:
    """Return every source's status at T: those in ``failed`` failed with http_5xx a minute after success."""
    return {
        name: SourceStatus(
            name,
            ok=name not in failed,
            duration_seconds=0.25,
            last_success=T - 60.0 if name in failed else T,
            error_reason="http_5xx" if name in failed else None,
        )
        for name in SOURCES
    }


def hand_built_snapshot() -> Snapshot:
    """Return a snapshot with at least one series in every family, task_type and priority dropped."""
    return Snapshot(
        taken_at=T,
        sources=source_statuses(),
        task_counts=Counts(
            by_state={"enqueued": 12, "assigned": 3, "started": 7, "completed": 1840},
            completed_by_result={"ok": 1700, "error": 90, "warning": 50},
            open_by_queue={"backup": 15, "scan": 7},
        ),
        activity_counts=Counts(by_state={"started": 4, "completed": 990}, completed_by_result={"ok": 990}),
        open_tasks=OpenTasks(
            by_group={
                ("enqueued", "backup", "1496265", "", ""): 9,
                ("started", "backup", "1496265", "", ""): 4,
                ("enqueued", "scan", "__other__", "", ""): 3,
                ("assigned", "scan", "1496266", "", ""): 3,
                ("started", "scan", "1496266", "", ""): 3,
            },
            oldest={("enqueued", "backup"): T - 3600.0, ("started", "scan"): T - 120.5},
            blocked={("backup", "1496265"): 2},
            cancel_requested={"scan": 1},
            reassigned={"backup": 1},
        ),
        open_activities=OpenActivities(by_group={("started", "1496265", ""): 4}),
        completions=Completions(
            tasks={("1496265", "backup", "", "ok"): 25, ("1496266", "scan", "", "error"): 2},
            task_duration={
                ("backup", "ok"): histogram(DURATION_BUCKETS, {3: 5, 5: 15, 8: 5}, 9800.5),
                ("scan", "error"): histogram(DURATION_BUCKETS, {14: 2}, 200000.0),
            },
            task_queue_wait={("backup",): histogram(QUEUE_WAIT_BUCKETS, {0: 20, 2: 5}, 61.25)},
            activities={("1496265", "", "ok"): 7},
            activity_duration={("ok",): histogram(DURATION_BUCKETS, {1: 7}, 21.0)},
            watermarks={"tasks": T - 30.0, "activities": T - 45.0},
        ),
        tenants={
            "1496265": TenantInfo("1496265", "John Doe", "/1/1496262/1496265/", "c3a1-uuid", "1496262"),
            "1496266": TenantInfo("1496266", 'Quote "and" backslash \\', "/1/1496266/"),
        },
        tenants_folded=4,
        label_values_folded={"tenant_id": 4, "queue": 0},
        items_skipped={("open_tasks", "missing_field"): 3},
        dropped_labels=frozenset({"task_type", "priority", "activity_type"}),
    )
