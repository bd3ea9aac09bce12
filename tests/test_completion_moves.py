"""A completion whose completedAt the API changes after it was counted is still counted once.

The real walk (quick windows, band counts, full walks) and tracker run against the
simulator over HTTP on a manual clock; the API's change is written into the simulator's
own store, as a correction would leave it, so its ground truth is unchanged.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest

from exporter.completions import CompletionTracker
from exporter.sources import Paging, walk_completions
from exporter.sources.listing import TASKS
from simulator.timefmt import to_ns
from tests.support.client_harness import simulator_client

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from exporter.client import TaskManagerClient
    from simulator import ManualClock, RunningSimulator

OVERLAP = 300.0
STEP = 10.0  # seconds between polls: H moves by less than a move, so one poll lands between old and new
POLLS = 40  # far more than the overlap and the largest move: every old and new time passes H
# (seconds before the API's now: the completion moved, its new completedAt)
MOVES = {
    "later_inside_the_band": (OVERLAP - 40, OVERLAP - 70),  # below the quick window: no walk lists it moved
    "later_into_the_quick_window": (OVERLAP - 40, 0.0),  # listed again at once, by the next quick walk
    "earlier_inside_the_window": (120.0, 220.0),
    "earlier_below_the_horizon": (120.0, OVERLAP + 100),
}


@pytest.fixture
def client(clock: ManualClock) -> Iterator[Callable[[RunningSimulator], TaskManagerClient]]:
    """Return a factory of clients pointed at a simulator; all are closed at teardown."""
    clients: list[TaskManagerClient] = []

    def connect(sim: RunningSimulator) -> TaskManagerClient:
        clients.append(simulator_client(sim, clock.now))
        return clients[-1]

    yield connect
    for each in clients:
        each.close()


def move_completion(sim: RunningSimulator, *, completed_before: float, to_before: float) -> str:
    """Move the first completion done ``completed_before`` s ago or since to ``to_before`` s ago."""
    store = sim._simulator.store  # the API's own data, as a correction of completedAt would leave it
    now = sim.clock.now()
    ((row_id,),) = store.read(
        "SELECT id FROM tasks WHERE state = 'completed' AND deleted = 0 AND completed_at >= ?"
        " ORDER BY completed_at, id LIMIT 1",
        (to_ns(now - completed_before),),
    )
    with store.write() as conn:
        conn.execute(
            "UPDATE tasks SET completed_at = ?, updated_at = ? WHERE id = ?",
            (to_ns(now - to_before), to_ns(now), row_id),
        )
    return str(row_id)


@pytest.mark.parametrize("move", MOVES)
def test_a_completion_whose_completed_at_changes_is_counted_once(
    simulator_factory: Callable[..., RunningSimulator],
    client: Callable[[RunningSimulator], TaskManagerClient],
    move: str,
) -> None:
    """Every completion written since the baseline is counted exactly once, the moved one too."""
    sim = simulator_factory(completion_rate=0.5)
    api = client(sim)
    tracker = CompletionTracker(overlap=OVERLAP, fields=TASKS.completion_fields)
    paging = Paging(page_size=50, max_pages=100)
    started = sim.clock.now()
    counted: Counter[str] = Counter()

    def poll() -> None:
        result = walk_completions(api, TASKS, tracker, paging)
        tracker.commit(result)
        counted.update(item.id for item in result.counted if item.id is not None)

    poll()  # the baseline
    for _ in range(int(OVERLAP // STEP) + 2):  # the completion to move is counted, and walks are quick
        sim.workload.advance(STEP)
        poll()
    assert tracker.quick_window() is not None
    moved = move_completion(sim, completed_before=MOVES[move][0], to_before=MOVES[move][1])
    assert counted[moved] == 1
    for _ in range(POLLS):
        sim.workload.advance(STEP)
        poll()
    truth = Counter(done.id for done in sim.truth.completions("tasks", written_after=started))
    assert counted == truth, (
        f"counted twice: {sorted(+(counted - truth))}, missed: {sorted(+(truth - counted))}"
    )
