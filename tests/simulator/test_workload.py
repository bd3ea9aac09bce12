"""The workload: determinism, the open-task mix, late writes, live mode and the ground truth."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .helpers import Api, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import ManualClock, RunningSimulator


def snapshot(sim: RunningSimulator) -> list[tuple[str, str, float]]:
    """Return every completion's id, result and completion time."""
    return [(c.id, c.result_code, c.completed_at) for c in sim.truth.completions()]


class TestDeterminism:
    """Same seed, same clock readings, same data."""

    def test_same_seed_same_history(self, simulator_factory: Callable[..., RunningSimulator]) -> None:
        """Two simulators with one seed generate identical histories."""
        assert snapshot(simulator_factory()) == snapshot(simulator_factory())

    def test_slicing_time_does_not_change_the_result(self) -> None:
        """advance(60) twice equals advance(120) once (separate clocks)."""
        from simulator import ManualClock, SimulatorConfig, start_simulator  # noqa: PLC0415  local setup

        config = SimulatorConfig(tasks=300, open_tasks=40, tenants=12, seed=11)
        with (
            start_simulator(config, clock=ManualClock()) as one,
            start_simulator(config, clock=ManualClock()) as two,
        ):
            one.workload.advance(60)
            one.workload.advance(60)
            two.workload.advance(120)
            assert snapshot(one) == snapshot(two)
            assert one.truth.open_items() == two.truth.open_items()


class TestMix:
    """The shape of the generated workload."""

    @pytest.mark.slow  # thousands of simulated tasks
    def test_open_tasks_and_completion_rate(self, simulator_factory: Callable[..., RunningSimulator]) -> None:
        """open_tasks tasks are open at start, and about rate x seconds complete in a window."""
        sim = simulator_factory(tasks=3000, open_tasks=300, completion_rate=5.0)
        assert len(sim.truth.open_items()) == 300
        start = sim.clock.now()
        sim.workload.advance(600)
        done = len(sim.truth.completions(written_after=start))
        assert 2000 < done < 4000
        assert 150 < len(sim.truth.open_items()) < 600

    @pytest.mark.slow  # thousands of simulated tasks
    def test_realistic_mix(self, simulator_factory: Callable[..., RunningSimulator]) -> None:
        """Results are mostly ok with every code present; some tasks have assignCount > 1."""
        sim = simulator_factory(tasks=20_000, open_tasks=2000, tenants=40)
        codes = sim.truth.count_completions(by=("result_code",))
        total = sum(codes.values())
        assert codes[("ok",)] > 0.8 * total
        assert {code for (code,) in codes} == {"ok", "warning", "error", "cancelled", "timedout", "abandoned"}
        open_items = sim.truth.open_items()
        assert any(item.has_blockers for item in open_items)
        assert any(item.cancel_requested for item in open_items)
        assert any(item.assign_count > 1 for item in open_items)
        assert {item.state for item in open_items} == {"enqueued", "assigned", "started", "paused"}

    def test_tenant_hierarchy(self, simulator: RunningSimulator) -> None:
        """Tenants form a tree under root 1 with locators of ids, and some lack a uuid."""
        tenants = {t.id: t for t in simulator.truth.tenants()}
        assert tenants["1"].locator == "/1/"
        for tenant in tenants.values():
            if tenant.parent_id is not None:
                assert tenant.locator == f"{tenants[tenant.parent_id].locator}{tenant.id}/"

    def test_activities_follow_their_tasks(self, api: Api, simulator: RunningSimulator) -> None:
        """Every activity's task exists, and completed tasks' activities are completed."""
        simulator.workload.advance(120)
        tasks = {t["id"]: t for t in api.walk("/tasks", [], limit=1000)}
        for activity in api.walk("/activities", [], limit=1000):
            task = tasks[activity["taskId"]]
            if task["state"] == "completed":
                assert activity["state"] == "completed"
            assert activity["createdAt"] == task["startedAt"]


class TestLateWrites:
    """Completions that become visible after their completedAt."""

    def test_completed_at_is_backdated(
        self, simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
    ) -> None:
        """With late_write_max, completions are written up to that long after their completedAt."""
        sim = simulator_factory(late_write_max=30.0)
        start = clock.now()
        sim.workload.advance(600)
        late = [c.written_at - c.completed_at for c in sim.truth.completions(written_after=start)]
        assert max(late) <= 30.0
        assert max(late) > 5.0

    def test_late_completion_is_invisible_until_written(
        self, simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
    ) -> None:
        """A window listed before a late write misses it; the truth's written_at says when it appeared."""
        sim = simulator_factory(late_write_max=60.0)
        client = Api(sim)
        start = clock.now()
        sim.workload.advance(300)
        listed_at = clock.now()
        first = {
            i["idString"] for i in client.walk("/tasks", [("completedAt", f"gt({int(start)})")], limit=200)
        }
        sim.workload.advance(60)
        written_later = {
            c.id for c in sim.truth.completions(written_after=listed_at, completed_until=listed_at)
        }
        client.close()
        assert written_later
        assert not written_later & first


class TestLiveMode:
    """A wall clock with the background ticker."""

    def test_live_workload_moves_by_itself(self, simulator_factory: Callable[..., RunningSimulator]) -> None:
        """With live=True on the wall clock, completions appear without any request."""
        sim = simulator_factory(wall_clock=True, live=True, completion_rate=50.0, tick_interval=0.05)
        before = len(sim.truth.completions())
        assert wait_until(lambda: len(sim.truth.completions()) > before, timeout=20)

    def test_paused_workload_holds_still_until_resumed(
        self, api: Api, simulator: RunningSimulator, clock: ManualClock
    ) -> None:
        """While paused, neither time nor requests change the data; resume applies what fell due."""
        before = snapshot(simulator)
        simulator.workload.pause()
        clock.advance(600)
        api.get("/tasks", params=[("lod", "count")])
        assert simulator.workload.catch_up() == 0
        assert snapshot(simulator) == before
        simulator.workload.resume()
        after = snapshot(simulator)
        assert set(before) < set(after)


class TestTruth:
    """Ground-truth queries."""

    def test_windows_and_grouping(self, simulator: RunningSimulator, clock: ManualClock) -> None:
        """count_completions over a written window sums to the number of completions in it."""
        start = clock.now()
        simulator.workload.advance(200)
        window = simulator.truth.completions(written_after=start, written_until=clock.now())
        grouped = simulator.truth.count_completions(by=("tenant_id", "type"), written_after=start)
        assert sum(grouped.values()) == len(window) > 0
        assert all(start < c.written_at <= clock.now() for c in window)

    def test_activity_completions(self, simulator: RunningSimulator) -> None:
        """Activity completions have an empty queue and a createdAt."""
        items = simulator.truth.completions(kind="activities")
        assert items
        assert {c.queue for c in items} == {""}

    def test_bad_grouping_key(self, simulator: RunningSimulator) -> None:
        """Grouping by an unknown field is a ValueError."""
        with pytest.raises(ValueError, match="cannot group"):
            simulator.truth.count_completions(by=("colour",))
