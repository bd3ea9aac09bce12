"""Snapshots of a chosen size, for timing /metrics without a poll in front of it.

Scrape latency depends on how many series the exposition holds, not on how they were
polled, so the scrape benchmark publishes a synthetic ``Snapshot`` into a real
``SnapshotStore``. Its shape follows a real poll: every tenant has open tasks in each open
state across two queues, blocked tasks, completions by result code, open and completed
activities and a tenant_info series; queues carry the histograms and oldest-task gauges.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING

from exporter import catalogue
from exporter.catalogue import DURATION_BUCKETS, QUEUE_WAIT_BUCKETS
from exporter.grouping import Completions
from exporter.labels import series
from exporter.selfmetrics import SOURCES
from exporter.snapshot import HistogramData, Snapshot, SourceStatus, TenantInfo
from exporter.sources.counts import Counts
from exporter.sources.open_activities import OpenActivities
from exporter.sources.open_tasks import OpenTasks
from exporter.vocabulary import OPEN_STATES, RESULT_CODES, TASK_STATES

if TYPE_CHECKING:
    from collections.abc import Callable

    from exporter.labels import Labels

QUEUES = tuple(f"queue-{number:02d}" for number in range(10))
_TASK_TYPES = ("WinScan", "TpScan", "NGMP_FullScan", "backup")
_ACTIVITY_TYPES = ("backup", "replication")
_QUEUES_PER_TENANT = 2
_RESULTS_PER_TENANT = ("ok", "error")
_FIRST_TENANT_ID = 1_496_262


def snapshot_for_series(target: int, count_series: Callable[[Snapshot], int]) -> Snapshot:
    """Return a snapshot whose exposition holds about `target` series.

    `count_series` renders a snapshot and counts its samples; one probe fixes the
    per-tenant slope, since every tenant adds the same number of series.
    """
    fixed = count_series(build_snapshot(0))
    per_tenant = count_series(build_snapshot(10)) - fixed
    tenants = max(0, round((target - fixed) / (per_tenant / 10)))
    return build_snapshot(tenants)


def build_snapshot(tenant_count: int) -> Snapshot:
    """Build a snapshot with `tenant_count` tenants, every source fresh."""
    taken_at = time.time()
    tenants = [str(_FIRST_TENANT_ID + number) for number in range(tenant_count)]
    return Snapshot(
        taken_at=taken_at,
        sources={
            name: SourceStatus(name, ok=True, duration_seconds=0.5, last_success=taken_at) for name in SOURCES
        },
        results=_results(tenants, taken_at),
        tenants={tenant: _tenant(tenant) for tenant in tenants},
    )


def _results(tenants: list[str], taken_at: float) -> dict[str, object]:
    """Every source's result, keyed by source name as the poller keys them."""
    completions = _completions(tenants, taken_at)
    open_activities = {
        series(catalogue.OPEN_ACTIVITIES, state=state, tenant_id=tenant, activity_type=_ACTIVITY_TYPES[0]): 1
        for tenant in tenants
        for state in OPEN_STATES[::2]
    }
    return {
        "task_counts": Counts(
            by_state=dict.fromkeys(TASK_STATES, 1_000),
            completed_by_result=dict.fromkeys(RESULT_CODES, 100),
            open_by_queue=dict.fromkeys(QUEUES, 100),
        ),
        "activity_counts": Counts(
            by_state=dict.fromkeys(TASK_STATES, 500), completed_by_result=dict.fromkeys(RESULT_CODES, 50)
        ),
        "open_tasks": _open_tasks(tenants, taken_at),
        "open_activities": OpenActivities(by_group=open_activities),
        "completed_tasks": completions,
        "completed_activities": completions,
    }


def _queues_of(index: int) -> tuple[str, ...]:
    return tuple(QUEUES[(index + offset) % len(QUEUES)] for offset in range(_QUEUES_PER_TENANT))


def _open_tasks(tenants: list[str], taken_at: float) -> OpenTasks:
    groups: dict[Labels, int] = {}
    blocked: dict[Labels, int] = {}
    for index, tenant in enumerate(tenants):
        task_type = _TASK_TYPES[index % len(_TASK_TYPES)]
        for queue, state in itertools.product(_queues_of(index), OPEN_STATES):
            key = series(
                catalogue.OPEN_TASKS,
                state=state,
                queue=queue,
                tenant_id=tenant,
                task_type=task_type,
                priority="normal",
            )
            groups[key] = 1 + index % 7
        blocked[series(catalogue.TASKS_BLOCKED, queue=_queues_of(index)[0], tenant_id=tenant)] = 1
    return OpenTasks(
        by_group=groups,
        oldest={
            series(catalogue.TASK_OLDEST, state=state, queue=queue): taken_at - 3_600
            for state in OPEN_STATES
            for queue in QUEUES
        },
        blocked=blocked,
        cancel_requested=dict.fromkeys(QUEUES, 1),
        reassigned=dict.fromkeys(QUEUES, 2),
    )


def _completions(tenants: list[str], taken_at: float) -> Completions:
    tasks: dict[Labels, int] = {}
    activities: dict[Labels, int] = {}
    for index, tenant in enumerate(tenants):
        task_type = _TASK_TYPES[index % len(_TASK_TYPES)]
        for queue, result in itertools.product(_queues_of(index), _RESULTS_PER_TENANT):
            key = series(
                catalogue.TASKS_COMPLETED,
                tenant_id=tenant,
                queue=queue,
                task_type=task_type,
                result_code=result,
            )
            tasks[key] = 10 + index % 13
        for result in _RESULTS_PER_TENANT:
            key = series(
                catalogue.ACTIVITIES_COMPLETED,
                tenant_id=tenant,
                activity_type=_ACTIVITY_TYPES[1],
                result_code=result,
            )
            activities[key] = 5 + index % 3
    return Completions(
        tasks=tasks,
        task_duration={
            series(catalogue.TASK_DURATION, queue=queue, result_code=result): _histogram(DURATION_BUCKETS)
            for queue in QUEUES
            for result in RESULT_CODES
        },
        task_queue_wait={
            series(catalogue.TASK_QUEUE_WAIT, queue=queue): _histogram(QUEUE_WAIT_BUCKETS) for queue in QUEUES
        },
        activities=activities,
        activity_duration={
            series(catalogue.ACTIVITY_DURATION, result_code=result): _histogram(DURATION_BUCKETS)
            for result in RESULT_CODES
        },
        watermarks={"tasks": taken_at - 60, "activities": taken_at - 60},
    )


def _histogram(bounds: tuple[float, ...]) -> HistogramData:
    counts = tuple(index % 5 for index in range(len(bounds) + 1))
    return HistogramData(bounds=bounds, counts=counts, total=float(sum(counts)) * 42.0)


def _tenant(tenant: str) -> TenantInfo:
    return TenantInfo(
        id=tenant,
        name=f"Customer {tenant}",
        locator=f"/1/{_FIRST_TENANT_ID}/{tenant}/",
        uuid=f"00000000-0000-4000-8000-{int(tenant):012d}",
        parent_id=str(_FIRST_TENANT_ID),
    )
