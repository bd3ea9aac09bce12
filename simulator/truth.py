"""The ground truth tests compare the exporter against: completions, open items, tenants.

Read straight from the simulator's tables, so it is exactly what the API could
serve. Times are float Unix seconds on the simulator's clock. Window bounds are
exclusive below and inclusive above: `written_after < written_at <= written_until`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from simulator import catalog
from simulator.timefmt import to_ns, to_seconds

if TYPE_CHECKING:
    from simulator.population import TenantRecord, World
    from simulator.store import Store

Kind = Literal["tasks", "activities"]


@dataclass(frozen=True)
class Completion:
    """One completion as it became visible in the API."""

    kind: str
    id: str
    tenant_id: str
    queue: str  # "" for activities
    type: str
    result_code: str
    enqueued_at: float  # createdAt for activities
    started_at: float | None
    completed_at: float
    written_at: float  # simulator time it became visible (completed_at + late-write delay)


@dataclass(frozen=True)
class OpenItem:
    """A task or activity that has not completed yet."""

    id: str
    state: str
    tenant_id: str
    queue: str
    type: str
    priority: str
    enqueued_at: float
    started_at: float | None
    cancel_requested: bool
    has_blockers: bool
    assign_count: int


COMPLETION_KEYS = tuple(f.name for f in fields(Completion))
_START = {"tasks": "enqueued_at", "activities": "created_at"}
_OPEN_COLUMNS = {
    "tasks": (
        "id, state, tenant_id, queue, type, priority, enqueued_at, started_at, cancel_requested, blocked,"
        " assign_count"
    ),
    "activities": "id, state, tenant_id, '', type, '', created_at, started_at, 0, 0, 0",
}


def _completion(kind: str, r: tuple[Any, ...]) -> Completion:
    started = to_seconds(r[6]) if r[6] else None
    return Completion(
        kind,
        str(r[0]),
        str(r[1]),
        r[2],
        r[3],
        r[4],
        to_seconds(r[5]),
        started,
        to_seconds(r[7]),
        to_seconds(r[8]),
    )


def _open_item(r: tuple[Any, ...]) -> OpenItem:
    started = to_seconds(r[7]) if r[7] else None
    return OpenItem(
        str(r[0]), r[1], str(r[2]), r[3], r[4], r[5], to_seconds(r[6]), started, bool(r[8]), bool(r[9]), r[10]
    )


class Truth:
    """What really happened, for tests to assert against."""

    def __init__(self, store: Store, world: World) -> None:
        self._store = store
        self._world = world

    def completions(
        self,
        kind: Kind = "tasks",
        written_after: float | None = None,
        written_until: float | None = None,
        completed_after: float | None = None,
        completed_until: float | None = None,
    ) -> list[Completion]:
        """Return every completion in the windows, ordered by written_at then id (deleted ones too)."""
        where, args = ["state = 'completed'"], []
        for column, low, high in (
            ("written_at", written_after, written_until),
            ("completed_at", completed_after, completed_until),
        ):
            if low is not None:
                where.append(f"{column} > ?")
                args.append(to_ns(low))
            if high is not None:
                where.append(f"{column} <= ?")
                args.append(to_ns(high))
        queue = "queue" if kind == "tasks" else "''"
        sql = (
            f"SELECT id, tenant_id, {queue}, type, result_code, {_START[kind]}, started_at, completed_at,"  # noqa: S608  names are ours
            f" written_at FROM {kind} WHERE {' AND '.join(where)} ORDER BY written_at, id"
        )
        return [_completion(kind, row) for row in self._store.read(sql, args)]

    def count_completions(  # noqa: PLR0913  the window bounds of completions(), plus grouping
        self,
        kind: Kind = "tasks",
        by: tuple[str, ...] = ("tenant_id", "queue", "result_code"),
        *,
        written_after: float | None = None,
        written_until: float | None = None,
        completed_after: float | None = None,
        completed_until: float | None = None,
    ) -> Counter[tuple[str, ...]]:
        """Count completions in the windows grouped by any tuple of Completion fields."""
        unknown = set(by) - set(COMPLETION_KEYS)
        if unknown:
            raise ValueError(f"cannot group by {sorted(unknown)}; choose from {COMPLETION_KEYS}")
        items = self.completions(kind, written_after, written_until, completed_after, completed_until)
        return Counter(tuple(str(getattr(item, key)) for key in by) for item in items)

    def open_items(self, kind: Kind = "tasks") -> list[OpenItem]:
        """Return every non-deleted task or activity that is not completed, by id."""
        sql = (
            f"SELECT {_OPEN_COLUMNS[kind]} FROM {kind} WHERE state != 'completed' AND deleted = 0 ORDER BY id"  # noqa: S608  names are ours
        )
        return [_open_item(row) for row in self._store.read(sql)]

    def tenants(self) -> list[TenantRecord]:
        """Return every tenant, root first."""
        return list(self._world.tenants)

    def counts_by_state(self, kind: Kind = "tasks") -> dict[str, int]:
        """Count non-deleted items in each of the five states (zeros included)."""
        rows = self._store.read(f"SELECT state, COUNT(*) FROM {kind} WHERE deleted = 0 GROUP BY state")  # noqa: S608  names are ours
        counts = dict.fromkeys(catalog.STATES, 0)
        counts.update(dict(rows))
        return counts

    def last_outcomes(
        self,
        role: Literal["resource", "policy"],
        *,
        written_until: float | None = None,
        completed_until: float | None = None,
        deleted: bool = False,
    ) -> dict[tuple[str, str, str], float]:
        """Return (tenant_id, resource or policy id, result_code) -> the newest completedAt of its tasks.

        Only what the API still retains, unless ``deleted``; ``written_until`` leaves out
        completions not yet visible then, ``completed_until`` those completed later.
        """
        where = [f"state = 'completed' AND {role}_ref >= 0" + ("" if deleted else " AND deleted = 0")]
        args: list[int] = []
        for column, until in (("written_at", written_until), ("completed_at", completed_until)):
            if until is not None:
                where.append(f"{column} <= ?")
                args.append(to_ns(until))
        sql = (
            f"SELECT tenant_id, {role}_ref, result_code, MAX(completed_at) FROM tasks"  # noqa: S608  names are ours
            f" WHERE {' AND '.join(where)} GROUP BY tenant_id, {role}_ref, result_code"
        )
        links = self._world.resources if role == "resource" else self._world.policies
        return {
            (str(tenant), links[ref].id, code): to_seconds(at)
            for tenant, ref, code, at in self._store.read(sql, args)
        }

    def links(self, role: Literal["resource", "policy"]) -> dict[str, tuple[str, str]]:
        """Return every resource's (or policy's) id -> (name, type)."""
        links = self._world.resources if role == "resource" else self._world.policies
        return {link.id: (link.name, link.type) for link in links}
