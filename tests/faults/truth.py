"""Exporter counters against the simulator's ground truth: no completion lost or counted twice.

The exporter counts completions written after it started (its first walk is a baseline),
so the truth to compare with is every completion whose ``written_at`` is later than the
simulator time at which the exporter process started. The rig keeps the simulator's
clock still until a test moves it, so that instant is exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.faults.rig import ACTIVITY_SOURCES, TASK_SOURCES
from tests.support.processes import WaitTimeoutError, wait_until

if TYPE_CHECKING:
    from collections.abc import Mapping

    from exporter.simulator.truth import Kind
    from tests.faults.exposition import Exposition
    from tests.faults.rig import Rig

Group = tuple[str, ...]

# Ground-truth field names and the exporter's label names, in the same order.
KEYS: dict[Kind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tasks": (
        ("tenant_id", "queue", "type", "result_code"),
        ("tenant_id", "queue", "task_type", "result_code"),
    ),
    "activities": (("tenant_id", "type", "result_code"), ("tenant_id", "activity_type", "result_code")),
}
COUNTER = {"tasks": "acronis_tasks_completed_total", "activities": "acronis_activities_completed_total"}
DURATION = {
    "tasks": "acronis_task_duration_seconds_count",
    "activities": "acronis_activity_duration_seconds_count",
}


def expected(rig: Rig, kind: Kind) -> dict[Group, int]:
    """Return the completions the current exporter process should have counted, by label group."""
    fields, _ = KEYS[kind]
    truth = rig.sim.truth.count_completions(kind, by=fields, written_after=rig.counted_since)
    return dict(truth)


def counted(exposition: Exposition, kind: Kind) -> dict[Group, int]:
    """Return what the exporter's completion counter says, by label group."""
    _, labels = KEYS[kind]
    return {group: int(value) for group, value in exposition.by(COUNTER[kind], labels).items()}


def differences(want: Mapping[Group, int], have: Mapping[Group, int]) -> list[str]:
    """Describe every group whose count differs, one line each (empty when equal)."""
    return [
        f"{group}: truth {want.get(group, 0)}, exporter {have.get(group, 0)}"
        for group in sorted(set(want) | set(have))
        if want.get(group, 0) != have.get(group, 0)
    ]


def assert_counts_exact(rig: Rig, *, timeout: float = 30.0) -> None:
    """Wait for the exporter to catch up, then require its counters to equal the truth, and stay so.

    The second check, one full poll later, is what catches a double count: a re-listed
    completion counted again would show up there.
    """
    kinds: tuple[Kind, ...] = ("tasks", "activities")
    last: dict[Kind, list[str]] = {}

    def caught_up() -> bool:
        exposition = rig.scrape()
        for kind in kinds:
            last[kind] = differences(expected(rig, kind), counted(exposition, kind))
        return not any(last.values())

    try:
        wait_until(caught_up, timeout=timeout, what="completion counters equal to the ground truth")
    except WaitTimeoutError as error:
        raise AssertionError(f"{error}\n{_report(last)}") from None
    exposition = rig.wait_polled((*TASK_SOURCES, *ACTIVITY_SOURCES))
    for kind in kinds:
        diff = differences(expected(rig, kind), counted(exposition, kind))
        assert diff == [], f"{kind} counters drifted one poll after matching:\n" + "\n".join(diff)
    assert sum(expected(rig, "tasks").values()) > 0, (
        "the scenario completed nothing: the check proves nothing"
    )


def _report(last: Mapping[Kind, list[str]]) -> str:
    return "\n".join(f"{kind}:\n  " + "\n  ".join(lines) for kind, lines in last.items() if lines)
