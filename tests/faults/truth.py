"""The exporter's figures against the simulator's ground truth: nothing invented, lost or doubled.

Three comparisons: completion counters, the open-work breakdown and the lod=count totals
per state. The exporter counts completions written after it started (its first walk is a baseline),
so the truth to compare with is every completion whose ``written_at`` is later than the
simulator time at which the exporter process started. The rig keeps the simulator's
clock still until a test moves it, so that instant is exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.faults.rig import ACTIVITY_SOURCES, PATIENCE, RECHECK_PAUSE, TASK_SOURCES
from tests.support.processes import WaitTimeoutError, wait_until

if TYPE_CHECKING:
    from collections.abc import Mapping

    from simulator.truth import Kind
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
OPEN_KEYS: dict[Kind, tuple[str, ...]] = {
    "tasks": ("state", "tenant_id", "queue"),
    "activities": ("state", "tenant_id"),
}
KINDS: tuple[Kind, ...] = ("tasks", "activities")
COUNTER = {"tasks": "acronis_tasks_completed_total", "activities": "acronis_activities_completed_total"}
OPEN = {"tasks": "acronis_open_tasks", "activities": "acronis_open_activities"}
STATES = {"tasks": "acronis_tasks", "activities": "acronis_activities"}


def shown(exposition: Exposition, family: str, fields: Group, labels: Group) -> tuple[Group, Group]:
    """Keep the (field, label) pairs whose label the family shows: dropped labels are left out."""
    present = {name for sample_labels, _ in exposition.matching(family) for name in sample_labels}
    kept = [(f, label) for f, label in zip(fields, labels, strict=True) if not present or label in present]
    return tuple(f for f, _ in kept), tuple(label for _, label in kept)


def expected(rig: Rig, kind: Kind, fields: Group) -> dict[Group, int]:
    """Return the completions the current exporter process should have counted, grouped by ``fields``."""
    truth = rig.sim.truth.count_completions(kind, by=fields, written_after=rig.counted_since)
    return dict(truth)


def counted(exposition: Exposition, kind: Kind, labels: Group) -> dict[Group, int]:
    """Return what the exporter's completion counter says, grouped by ``labels``."""
    return {group: int(value) for group, value in exposition.by(COUNTER[kind], labels).items()}


def open_expected(rig: Rig, kind: Kind, fields: Group) -> dict[Group, int]:
    """Return the open items the simulator holds right now, grouped by ``fields``."""
    groups: dict[Group, int] = {}
    for item in rig.sim.truth.open_items(kind):
        group = tuple(str(getattr(item, f)) for f in fields)
        groups[group] = groups.get(group, 0) + 1
    return groups


def open_counted(exposition: Exposition, kind: Kind, labels: Group) -> dict[Group, int]:
    """Return the open items the exporter shows, grouped by ``labels``."""
    return {group: int(value) for group, value in exposition.by(OPEN[kind], labels).items()}


def state_counts(exposition: Exposition, kind: Kind) -> dict[Group, int]:
    """Return the lod=count totals per state the exporter shows."""
    return {group: int(value) for group, value in exposition.by(STATES[kind], ("state",)).items()}


def all_differences(rig: Rig, exposition: Exposition) -> dict[str, list[str]]:
    """Compare completions, open work and state counts of both kinds with the truth."""
    found: dict[str, list[str]] = {}
    for kind in KINDS:
        fields, labels = shown(exposition, COUNTER[kind], *KEYS[kind])
        found[f"{kind} completed"] = differences(
            expected(rig, kind, fields), counted(exposition, kind, labels)
        )
        fields, labels = shown(exposition, OPEN[kind], OPEN_KEYS[kind], OPEN_KEYS[kind])
        found[f"{kind} open"] = differences(
            open_expected(rig, kind, fields), open_counted(exposition, kind, labels)
        )
        by_state = rig.sim.truth.counts_by_state(kind)
        truth_states: dict[Group, int] = {(state,): n for state, n in by_state.items() if n}
        found[f"{kind} by state"] = differences(truth_states, state_counts(exposition, kind))
    return {what: lines for what, lines in found.items() if lines}


def differences(want: Mapping[Group, int], have: Mapping[Group, int]) -> list[str]:
    """Describe every group whose count differs, one line each (empty when equal)."""
    return [
        f"{group}: truth {want.get(group, 0)}, exporter {have.get(group, 0)}"
        for group in sorted(set(want) | set(have))
        if want.get(group, 0) != have.get(group, 0)
    ]


def assert_counts_exact(rig: Rig, *, timeout: float = PATIENCE) -> None:
    """Wait for the exporter to catch up; then every figure must equal the truth, and stay so.

    Completion counters, open work and lod=count totals are compared. The second check,
    one full poll later, is what catches a double count: a re-listed completion counted
    again would show up there.
    """
    last: dict[str, list[str]] = {}

    def caught_up() -> bool:
        last.clear()
        last.update(all_differences(rig, rig.scrape()))
        return not last

    try:
        wait_until(
            caught_up, timeout=timeout, what="exporter figures equal to the ground truth", pause=RECHECK_PAUSE
        )
    except WaitTimeoutError as error:
        raise AssertionError(f"{error}\n{_report(last)}") from None
    drift = all_differences(rig, rig.wait_polled((*TASK_SOURCES, *ACTIVITY_SOURCES)))
    assert drift == {}, "figures drifted one poll after matching:\n" + _report(drift)
    completed = len(rig.sim.truth.completions("tasks", written_after=rig.counted_since))
    assert completed > 0, "nothing completed, so the comparison proves nothing"


def _report(found: Mapping[str, list[str]]) -> str:
    return "\n".join(f"{what}:\n  " + "\n  ".join(lines) for what, lines in found.items())
