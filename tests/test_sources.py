from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from exporter.completions import CompletionTracker
from exporter.errors import PaginationError
from exporter.models import parse_time
from exporter.sources import (
    TASKS,
    Paging,
    assemble_counts,
    count_queries,
    newest_completion,
    queue_count_queries,
    scan_open_activities,
    scan_open_tasks,
    walk_completions,
)
from exporter.vocabulary import OPEN_STATES
from simulator.timefmt import to_ns
from tests.support.client_harness import simulator_client
from tests.support.processes import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from exporter.client import Resource, TaskManagerClient
    from exporter.sources import CountKey, Params
    from exporter.sources.counts import Counts
    from simulator import ManualClock, RunningSimulator
    from simulator.requestlog import RequestRecord

    Connect = Callable[..., tuple[RunningSimulator, TaskManagerClient]]


@pytest.fixture
def connect(simulator_factory: Callable[..., RunningSimulator], clock: ManualClock) -> Iterator[Connect]:
    """Start a simulator (settings by keyword) and return it with a client pointed at it."""
    clients: list[TaskManagerClient] = []

    def start(**overrides: Any) -> tuple[RunningSimulator, TaskManagerClient]:  # noqa: ANN401  config fields
        sim = simulator_factory(**overrides)
        client = simulator_client(sim, clock.now)
        clients.append(client)
        return sim, client

    yield start
    for client in clients:
        client.close()


def count_all(client: TaskManagerClient, queries: dict[CountKey, Params], resource: Resource) -> Counts:
    """Answer every count query the way the poller's jobs do."""
    return assemble_counts({key: client.count(resource, params) for key, params in queries.items()})


def logged(sim: RunningSimulator, suffix: str) -> list[RequestRecord]:
    """Return the logged requests to paths ending in `suffix` (the log is written just after replying)."""

    def found() -> list[RequestRecord] | None:
        return [entry for entry in sim.requests.entries() if entry.path.endswith(suffix)] or None

    return wait_until(found, timeout=10, what=f"a logged request to {suffix}")


class TestCounts:
    """Counts per state, result code and queue equal the simulator's tables."""

    @pytest.mark.parametrize("shape", ["count", "total", "size"])
    def test_state_counts_match_whatever_key_the_api_uses(self, connect: Connect, shape: str) -> None:
        """Whether the API answers count, total or size, every state's total is right."""
        sim, client = connect(count_shape=shape)
        for resource in ("tasks", "activities"):
            counts = count_all(client, count_queries(), resource)
            assert dict(counts.by_state) == sim.truth.counts_by_state(resource)
            assert sum(counts.completed_by_result.values()) == counts.by_state["completed"]

    def test_queue_counts_match_open_items(self, connect: Connect) -> None:
        """Open tasks per queue, counted with repeated state keys, equal the open items."""
        sim, client = connect()
        open_by_queue = Counter(item.queue for item in sim.truth.open_items("tasks"))
        counts = count_all(client, queue_count_queries([*open_by_queue, "empty-queue"]), "tasks")
        assert dict(counts.open_by_queue) == {**open_by_queue, "empty-queue": 0}


class TestOpenWork:
    """One walk of the open listing folds into the right raw aggregates."""

    def test_walk_over_small_pages_with_top_level_cursors_sees_every_open_task(
        self, connect: Connect
    ) -> None:
        """Seven-item pages and the reference's cursor placement still yield every open task once."""
        sim, client = connect(cursor_placement="top")
        pages: list[int] = []
        scan = scan_open_tasks(client, Paging(page_size=7, max_pages=100, on_page=pages.append))
        items = sim.truth.open_items("tasks")
        assert scan.groups == Counter((i.state, i.queue, i.tenant_id, i.type, i.priority) for i in items)
        assert sum(pages) == scan.listed == len(items)
        assert len(pages) == -(-len(items) // 7)

    def test_open_listing_asks_for_blockers_and_every_open_state(self, connect: Connect) -> None:
        """The first page names the four open states as repeated keys and asks for lod=long."""
        sim, client = connect()
        scan_open_tasks(client, Paging(page_size=500, max_pages=10))
        first = logged(sim, "/tasks")[0]
        assert [value for key, value in first.query if key == "state"] == list(OPEN_STATES)
        assert ("lod", "long") in first.query

    def test_open_activities_group_by_state_tenant_and_type(self, connect: Connect) -> None:
        """Open activities fold into (state, tenant, type)."""
        sim, client = connect()
        scan = scan_open_activities(client, Paging(page_size=50, max_pages=100))
        truth = Counter((i.state, i.tenant_id, i.type) for i in sim.truth.open_items("activities"))
        assert scan.groups == truth

    def test_broken_items_are_skipped_with_their_reason(self, connect: Connect) -> None:
        """Items with null tenant, queue or type are counted as skipped, not as work."""
        sim, client = connect()
        sim.faults.corrupt_items(mode="missing", count=4, times=1)
        scan = scan_open_tasks(client, Paging(page_size=500, max_pages=10))
        assert scan.skipped == {"missing_field": 4}
        assert sum(scan.groups.values()) == len(sim.truth.open_items("tasks")) - 4


class TestCompletionWalks:
    """The completion window is asked for on the API's clock and walked in full or not at all."""

    def test_newest_completion_is_the_api_newest_completed_at(self, connect: Connect) -> None:
        """W0 is the latest completedAt the API holds, found with one small ordered page."""
        sim, client = connect()
        tracker = CompletionTracker(overlap=600.0, fields=TASKS.completion_fields)
        newest = newest_completion(client, TASKS, Paging(page_size=50, max_pages=10), tracker)
        assert newest == pytest.approx(max(c.completed_at for c in sim.truth.completions("tasks")), abs=1e-6)
        probe = logged(sim, "/tasks")[-1]
        assert ("order", "desc(completedAt)") in probe.query

    def test_write_later_than_the_quick_window_is_counted_exactly_once(self, connect: Connect) -> None:
        """A completion written 200 s late, below the quick window but inside the overlap, counts once."""
        sim, client = connect(completion_rate=0.5)
        tracker = CompletionTracker(overlap=300.0, fields=TASKS.completion_fields)
        paging = Paging(page_size=50, max_pages=100)
        for _ in range(2):  # the baseline, then a walk that had nothing late in it
            tracker.commit(walk_completions(client, TASKS, tracker, paging))
            sim.workload.advance(60)
        quick = tracker.quick_window()
        assert quick is not None
        late_at = sim.clock.now() - 200
        assert tracker.watermark is not None
        assert tracker.watermark - 300 < late_at < quick[1]
        late_id = write_late(sim, completed_at=late_at)
        first = walk_completions(client, TASKS, tracker, paging)
        tracker.commit(first)
        assert [item.id for item in first.counted].count(late_id) == 1
        sim.workload.advance(60)
        later = [walk_completions(client, TASKS, tracker, paging) for _ in range(2)]
        for walk in later:
            tracker.commit(walk)
        assert all(late_id not in {item.id for item in walk.counted} for walk in later)
        assert tracker.quick_window() is not None  # narrower again, now reaching past that lateness
        assert tracker.quick_window()[1] < late_at  # type: ignore[index]

    def test_quick_walk_lists_near_the_watermark_and_counts_the_rest(self, connect: Connect) -> None:
        """With writes on time, a walk lists just below W (RFC 3339 ns) and counts the rest of the overlap."""
        sim, client = connect(completion_rate=0.5)
        tracker = CompletionTracker(overlap=300.0, fields=TASKS.completion_fields)
        paging = Paging(page_size=50, max_pages=100)
        started = sim.clock.now()
        tracker.commit(walk_completions(client, TASKS, tracker, paging))
        sim.workload.advance(120)
        watermark = tracker.watermark
        assert watermark is not None
        before = len(sim.requests.entries())
        walk = walk_completions(client, TASKS, tracker, paging)
        windows = [
            entry.query for entry in sim.requests.entries()[before:] if "completedAt" in dict(entry.query)
        ]
        listed = dict(windows[0])["completedAt"].removeprefix("gt(").removesuffix(")")
        assert len(listed.split(".")[1]) == len("000000000Z")  # RFC 3339 with nanoseconds
        assert watermark - 300 < (parse_time(listed) or 0.0) < watermark
        whole = next(query for query in windows if dict(query).get("lod") == "count")  # then the part kept
        counted_band = [value for key, value in whole if key == "completedAt"]
        assert parse_time(counted_band[0].removeprefix("gt(").removesuffix(")")) == pytest.approx(
            watermark - 300
        )
        assert len(walk.counted) == len(sim.truth.completions("tasks", written_after=started))

    def test_quiet_api_costs_one_page_and_one_count_and_still_sees_a_late_write(
        self, connect: Connect
    ) -> None:
        """With nothing new a walk is one quick page and one count; a late write then still counts once."""
        sim, client = connect(completion_rate=1e-6)
        tracker = CompletionTracker(overlap=300.0, fields=TASKS.completion_fields)
        paging = Paging(page_size=50, max_pages=100)
        tracker.commit(walk_completions(client, TASKS, tracker, paging))
        sim.workload.advance(60)
        before = len(sim.requests.entries())
        quiet = walk_completions(client, TASKS, tracker, paging)
        tracker.commit(quiet)
        sent = [dict(entry.query).get("lod", "") for entry in sim.requests.entries()[before:]]
        assert (quiet.counted, sorted(sent)) == ((), ["count", "short"])
        assert tracker.watermark is not None
        late_id = write_late(sim, completed_at=tracker.watermark - 100)
        first = walk_completions(client, TASKS, tracker, paging)
        tracker.commit(first)
        assert [item.id for item in first.counted] == [late_id]
        again = walk_completions(client, TASKS, tracker, paging)
        assert again.counted == ()

    def test_repeated_cursor_fails_the_walk_and_changes_nothing(self, connect: Connect) -> None:
        """A cursor that comes back again raises PaginationError before anything is committed."""
        sim, client = connect()
        tracker = CompletionTracker(overlap=3600.0, fields=TASKS.completion_fields)
        sim.faults.repeat_cursor(times=1)
        with pytest.raises(PaginationError):
            walk_completions(client, TASKS, tracker, Paging(page_size=5, max_pages=1000))
        assert not tracker.baselined
        assert tracker.watermark is None


def write_late(sim: RunningSimulator, *, completed_at: float) -> str:
    """Turn the oldest completion (long forgotten) into one written now but dated ``completed_at``."""
    store = sim._simulator.store  # the API's own data, as a late writer would leave it
    ((row_id,),) = store.read(
        "SELECT id FROM tasks WHERE state = 'completed' AND deleted = 0 ORDER BY completed_at, id LIMIT 1"
    )
    at, now = to_ns(completed_at), to_ns(sim.clock.now())
    with store.write() as conn:
        conn.execute(
            "UPDATE tasks SET completed_at = ?, updated_at = ?, written_at = ? WHERE id = ?",
            (at, at + 4_000_000, now, row_id),
        )
    return str(row_id)
