"""A hand-built snapshot with at least one series in every family, shared by rendering tests."""

from __future__ import annotations

import dataclasses

from exporter import catalogue
from exporter.catalogue import DURATION_BUCKETS, QUEUE_WAIT_BUCKETS
from exporter.grouping import Completions
from exporter.labels import Labels, series
from exporter.selfmetrics import SOURCES
from exporter.snapshot import HistogramData, Snapshot, SourceStatus, TenantInfo
from exporter.sources.counts import Counts
from exporter.sources.open_activities import OpenActivities
from exporter.sources.open_tasks import OpenTasks

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


def with_result(snapshot: Snapshot, source: str, result: object) -> Snapshot:
    """Return ``snapshot`` with ``source``'s last good result replaced."""
    return dataclasses.replace(snapshot, results={**snapshot.results, source: result})


def open_task(state: str, queue: str, tenant: str, task_type: str = "", priority: str = "") -> Labels:
    """Return the key of an acronis_open_tasks series (priority and task_type dropped by default)."""
    return series(
        catalogue.OPEN_TASKS,
        state=state,
        queue=queue,
        tenant_id=tenant,
        task_type=task_type,
        priority=priority,
    )


def _open_tasks() -> OpenTasks:
    return OpenTasks(
        by_group={
            open_task("enqueued", "backup", "1496265"): 9,
            open_task("started", "backup", "1496265"): 4,
            open_task("enqueued", "scan", "__other__"): 3,
            open_task("assigned", "scan", "1496266"): 3,
            open_task("started", "scan", "1496266"): 3,
        },
        oldest={
            series(catalogue.TASK_OLDEST, state="enqueued", queue="backup"): T - 3600.0,
            series(catalogue.TASK_OLDEST, state="started", queue="scan"): T - 120.5,
        },
        blocked={series(catalogue.TASKS_BLOCKED, queue="backup", tenant_id="1496265"): 2},
        cancel_requested={"scan": 1},
        reassigned={"backup": 1},
    )


def _completions() -> Completions:
    def task(tenant: str, queue: str, result: str) -> Labels:
        return series(
            catalogue.TASKS_COMPLETED, tenant_id=tenant, queue=queue, task_type="", result_code=result
        )

    def duration(queue: str, result: str) -> Labels:
        return series(catalogue.TASK_DURATION, queue=queue, result_code=result)

    return Completions(
        tasks={task("1496265", "backup", "ok"): 25, task("1496266", "scan", "error"): 2},
        task_duration={
            duration("backup", "ok"): histogram(DURATION_BUCKETS, {3: 5, 5: 15, 8: 5}, 9800.5),
            duration("scan", "error"): histogram(DURATION_BUCKETS, {14: 2}, 200000.0),
        },
        task_queue_wait={
            series(catalogue.TASK_QUEUE_WAIT, queue="backup"): histogram(
                QUEUE_WAIT_BUCKETS, {0: 20, 2: 5}, 61.25
            )
        },
        activities={
            series(catalogue.ACTIVITIES_COMPLETED, tenant_id="1496265", activity_type="", result_code="ok"): 7
        },
        activity_duration={
            series(catalogue.ACTIVITY_DURATION, result_code="ok"): histogram(DURATION_BUCKETS, {1: 7}, 21.0)
        },
        watermarks={"tasks": T - 30.0, "activities": T - 45.0},
    )


def hand_built_snapshot() -> Snapshot:
    """Return a snapshot with at least one series in every family, task_type and priority dropped."""
    open_activity = series(catalogue.OPEN_ACTIVITIES, state="started", tenant_id="1496265", activity_type="")
    completions = _completions()
    return Snapshot(
        taken_at=T,
        sources=source_statuses(),
        results={
            "task_counts": Counts(
                by_state={"enqueued": 12, "assigned": 3, "started": 7, "completed": 1840},
                completed_by_result={"ok": 1700, "error": 90, "warning": 50},
                open_by_queue={"backup": 15, "scan": 7},
            ),
            "activity_counts": Counts(
                by_state={"started": 4, "completed": 990}, completed_by_result={"ok": 990}
            ),
            "open_tasks": _open_tasks(),
            "open_activities": OpenActivities(by_group={open_activity: 4}),
            "completed_tasks": completions,
            "completed_activities": completions,
        },
        tenants={
            "1496265": TenantInfo("1496265", "John Doe", "/1/1496262/1496265/", "c3a1-uuid", "1496262"),
            "1496266": TenantInfo("1496266", 'Quote "and" backslash \\', "/1/1496266/"),
        },
        tenants_folded=4,
        label_values_folded={"tenant_id": 4, "queue": 0},
        items_skipped={("open_tasks", "missing_field"): 3},
        dropped_labels=frozenset({"task_type", "priority", "activity_type"}),
    )
