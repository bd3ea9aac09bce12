"""Completion counting against the API host's clock: a fast clock stepped back, ids dated far ahead.

The simulator over HTTP, a real client, the real walk and tracker: each test changes the
API's own data (its store) and its Date header the way a misbehaving host would.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from exporter.completions import CompletionTracker
from exporter.errors import ApiError
from exporter.rfc3339 import parse_time
from exporter.sources import Paging, walk_completions
from exporter.sources.listing import TASKS
from simulator.timefmt import to_ns
from tests.support.client_harness import simulator_client

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from exporter.client import TaskManagerClient
    from simulator import ManualClock, RunningSimulator

OVERLAP = 300.0
FAST = 3600.0  # the host's clock an hour fast: far past the overlap
FAR = parse_time("2200-01-01T00:00:00Z") or 0.0  # as far as the store's int64 nanoseconds reach
PAGING = Paging(page_size=100, max_pages=50)


@pytest.fixture
def api(
    simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
) -> Iterator[tuple[RunningSimulator, TaskManagerClient]]:
    """Start a simulator completing a task every two seconds, and a client pointed at it."""
    sim = simulator_factory(completion_rate=0.5)
    client = simulator_client(sim, clock.now)
    yield sim, client
    client.close()


class Poller:
    """One kind's tracker, polled as the daemon does: walk, commit, tally what was counted."""

    def __init__(self, sim: RunningSimulator, client: TaskManagerClient) -> None:
        self.sim, self.client = sim, client
        self.tracker = CompletionTracker(overlap=OVERLAP, fields=TASKS.completion_fields)
        self.counted: Counter[str] = Counter()
        self.started = sim.clock.now()
        self.poll()  # the baseline

    def poll(self) -> None:
        """Walk and commit once."""
        result = walk_completions(self.client, TASKS, self.tracker, PAGING)
        self.tracker.commit(result)
        self.counted.update(item.id for item in result.counted if item.id is not None)

    def truth(self) -> set[str]:
        """Return the ids of the tasks the API wrote completed since the baseline."""
        return {str(c.id) for c in self.sim.truth.completions("tasks", written_after=self.started)}


def stamp_fast(sim: RunningSimulator, since: float) -> None:
    """Date what completed after ``since`` on the host's fast clock (the time it was written stays)."""
    with sim._simulator.store.write() as conn:  # the API's own data, as the fast host wrote it
        conn.execute(
            "UPDATE tasks SET completed_at = completed_at + ?, updated_at = updated_at + ?"
            " WHERE state = 'completed' AND completed_at > ?",
            (to_ns(FAST), to_ns(FAST), to_ns(since)),
        )


class TestClockSteppedBack:
    """After the API's clock ran fast and was stepped back, every completion is still counted once."""

    def test_every_completion_after_the_step_is_counted_once(
        self, api: tuple[RunningSimulator, TaskManagerClient]
    ) -> None:
        """Three polls an hour fast, then ten after the step back: the counts equal the truth."""
        sim, client = api
        poller = Poller(sim, client)
        sim.workload.advance(60)
        poller.poll()
        sim.faults.skew_date(FAST)
        for _ in range(3):
            since = sim.clock.now()
            sim.workload.advance(60)
            stamp_fast(sim, since)
            poller.poll()
        sim.faults.skew_date(0.0)  # NTP steps the host's clock back
        for _ in range(10):
            sim.workload.advance(60)
            poller.poll()
        truth = poller.truth()
        assert len(truth) > 100
        assert set(poller.counted) == truth, f"{len(truth - set(poller.counted))} completions never counted"
        assert max(poller.counted.values()) == 1, "a completion was counted twice"

    def test_a_step_behind_forgotten_completions_fails_instead_of_losing_them(
        self, api: tuple[RunningSimulator, TaskManagerClient]
    ) -> None:
        """Right after the baseline a step back of an hour cannot be told from what was decided: clock."""
        sim, client = api
        poller = Poller(sim, client)
        sim.workload.advance(30)
        poller.poll()
        sim.faults.skew_date(-FAST)
        sim.workload.advance(30)
        with pytest.raises(ApiError) as caught:
            poller.poll()
        assert caught.value.reason == "clock"


class TestIdsDatedFarAhead:
    """Ids dated far past the API's time cannot make the tracker's memory grow without end."""

    def test_fresh_ids_dated_2200_each_poll_are_not_remembered_forever(
        self, api: tuple[RunningSimulator, TaskManagerClient]
    ) -> None:
        """Each poll the API lists 20 fresh ids dated 2200 and drops the last ones: memory stays flat."""
        sim, client = api
        poller = Poller(sim, client)
        store = sim._simulator.store
        remembered = []
        for _ in range(10):
            sim.workload.advance(30)
            with store.write() as conn:  # the last far ones vanish; 20 long-forgotten ones come back as 2200
                conn.execute("UPDATE tasks SET deleted = 1 WHERE completed_at > ?", (to_ns(FAR - 1e6),))
                conn.execute(
                    "UPDATE tasks SET completed_at = ?, updated_at = ?, written_at = ? WHERE id IN"
                    " (SELECT id FROM tasks WHERE state = 'completed' AND deleted = 0"
                    " ORDER BY completed_at, id LIMIT 20)",
                    (to_ns(FAR), to_ns(FAR), to_ns(sim.clock.now())),
                )
            poller.poll()
            remembered.append(poller.tracker.remembered)
        assert remembered[-1] < remembered[2] + 60, f"remembered ids grow by about 20 a poll: {remembered}"

    def test_completions_ahead_past_the_page_budget_are_not_left_uncounted_silently(
        self, api: tuple[RunningSimulator, TaskManagerClient]
    ) -> None:
        """A hundred completions dated 2200 past a window of about 150, a budget of 200: the rest is told."""
        sim, client = api
        poller = Poller(sim, client)
        with sim._simulator.store.write() as conn:  # long-forgotten completions come back dated 2200
            conn.execute(
                "UPDATE tasks SET completed_at = ?, updated_at = ?, written_at = ? WHERE id IN"
                " (SELECT id FROM tasks WHERE state = 'completed' AND deleted = 0"
                " ORDER BY completed_at, id LIMIT 100)",
                (to_ns(FAR), to_ns(FAR), to_ns(sim.clock.now())),
            )
        small = Paging(page_size=10, max_pages=20)
        with capture_logs() as logs:
            for _ in range(3):
                sim.workload.advance(10)
                result = walk_completions(client, TASKS, poller.tracker, small)
                poller.tracker.commit(result)
                poller.counted.update(item.id for item in result.counted if item.id is not None)
        far = {str(c.id) for c in sim.truth.completions("tasks") if c.completed_at >= FAR}
        uncounted = far - set(poller.counted)
        warned = [entry for entry in logs if entry["event"] == "completions_ahead_fill_page_budget"]
        assert uncounted, "the scenario left nothing uncounted, so it proves nothing"
        assert warned, f"{len(uncounted)} completions dated ahead were never counted, and nothing said so"
        assert all(entry["resource"] == "tasks" for entry in warned)
