from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import HttpUrl, SecretStr
from structlog.testing import capture_logs

from exporter.app import build
from exporter.collector import TaskManagerCollector
from exporter.config import ApiSettings, MetricsSettings, PollSettings, Settings
from exporter.grouping import Completions
from exporter.snapshot import SnapshotStore
from exporter.sources.counts import Counts
from exporter.sources.open_activities import OpenActivities
from exporter.sources.open_tasks import OpenTasks
from exporter.vocabulary import OTHER, RESULT_CODES, TASK_STATES
from tests.support.processes import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from exporter.app import Exporter
    from exporter.client import TaskManagerClient
    from exporter.labels import Labels
    from exporter.poller import Poller
    from exporter.snapshot import Snapshot
    from simulator import ManualClock, RunningSimulator

T = TypeVar("T")
V = TypeVar("V")
STEP = 30.0  # simulated seconds between polls
OVERLAP = 120.0
# A workload that changes every poll but keeps each poll to a handful of requests.
WORKLOAD: dict[str, Any] = {"completion_rate": 0.2, "late_write_max": 60.0}


@dataclass
class Rig:
    """A poller wired to a simulator over real HTTP, on the simulator's manual clock."""

    sim: RunningSimulator
    poller: Poller
    store: SnapshotStore
    registry: CollectorRegistry
    clock: ManualClock
    client: TaskManagerClient
    started_at: float = field(default=0.0)

    def first(self) -> Snapshot:
        """Run the first poll and remember when it happened (completions count from here)."""
        self.started_at = self.clock.now()
        return self.poller.poll_once()

    def cycle(self, seconds: float = STEP) -> Snapshot:
        """Let the workload evolve for `seconds`, then poll once."""
        self.sim.workload.advance(seconds)
        return self.poller.poll_once()

    def requests_sent(self, endpoint: str | None = None) -> float:
        """Count the HTTP requests the exporter has sent (to one endpoint, or to any)."""
        return sum(
            sample.value
            for family in self.registry.collect()
            if family.name == "acronis_exporter_api_requests"
            for sample in family.samples
            if sample.name.endswith("_total") and endpoint in (None, sample.labels["endpoint"])
        )

    def counter(self, name: str, **labels: str) -> float:
        """Read one of the exporter's own counters."""
        return self.registry.get_sample_value(name, labels) or 0.0


def settings_for(
    sim: RunningSimulator, *, api: dict[str, Any], poll: dict[str, Any], metrics: dict[str, Any]
) -> Settings:
    """Return settings pointed at `sim`: small pages, no retries or backoff, so faults show at once."""
    api_settings = ApiSettings(
        url=HttpUrl(sim.url),
        client_id=sim.config.client_id,
        client_secret=SecretStr(sim.config.client_secret),
        **{
            "page_size": 50,
            "max_pages": 40,
            "max_retries": 0,
            "backoff_initial": 0.0,
            "backoff_max": 0.0,
            "concurrency": 4,
            **api,
        },
    )
    poll_settings = PollSettings(**{"interval": 5.0, "completion_overlap": OVERLAP, **poll})
    # Every dimension on, so that each one is checked against the ground truth.
    metrics_settings = MetricsSettings(**{"drop_labels": [], **metrics})
    return Settings(api=api_settings, poll=poll_settings, metrics=metrics_settings)


@pytest.fixture
def rig_factory(
    simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
) -> Iterator[Callable[..., Rig]]:
    """Build rigs: simulator settings by keyword, plus `api=`, `poll=` and `metrics=` settings."""
    exporters: list[Exporter] = []

    def build_rig(
        *,
        api: dict[str, Any] | None = None,
        poll: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        **sim: Any,  # noqa: ANN401  any SimulatorConfig field
    ) -> Rig:
        simulator = simulator_factory(**{**WORKLOAD, **sim})
        settings = settings_for(simulator, api=api or {}, poll=poll or {}, metrics=metrics or {})
        exporter = build(settings, clock=clock.now, monotonic=clock.now)
        exporters.append(exporter)
        return Rig(simulator, exporter.poller, exporter.store, exporter.registry, clock, exporter.client)

    yield build_rig
    for exporter in exporters:
        exporter.close()


@pytest.fixture
def rig(rig_factory: Callable[..., Rig]) -> Rig:
    """Return a rig over the default small workload."""
    return rig_factory()


def completions_truth(rig: Rig) -> Counter[tuple[str, ...]]:
    """Tasks that became visible since the first poll, as the task counter keys them."""
    return rig.sim.truth.count_completions(
        "tasks", by=("tenant_id", "queue", "type", "result_code"), written_after=rig.started_at
    )


def activities_truth(rig: Rig) -> Counter[tuple[str, ...]]:
    """Activities that became visible since the first poll, as the activity counter keys them."""
    return rig.sim.truth.count_completions(
        "activities", by=("tenant_id", "type", "result_code"), written_after=rig.started_at
    )


def result(snapshot: Snapshot, source: str, kind: type[T]) -> T:
    """Return ``source``'s last good result from the snapshot (it must have one)."""
    value = snapshot.result(source, kind)
    assert value is not None, f"{source} has no {kind.__name__} result"
    return value


def task_counts(snapshot: Snapshot) -> Counts:
    """Return the task_counts source's result."""
    return result(snapshot, "task_counts", Counts)


def activity_counts(snapshot: Snapshot) -> Counts:
    """Return the activity_counts source's result."""
    return result(snapshot, "activity_counts", Counts)


def open_tasks(snapshot: Snapshot) -> OpenTasks:
    """Return the open_tasks source's result."""
    return result(snapshot, "open_tasks", OpenTasks)


def open_activities(snapshot: Snapshot) -> OpenActivities:
    """Return the open_activities source's result."""
    return result(snapshot, "open_activities", OpenActivities)


def completions(snapshot: Snapshot) -> Completions:
    """Return the completed_tasks source's result (the task side of the totals is its own)."""
    return result(snapshot, "completed_tasks", Completions)


def activity_completions(snapshot: Snapshot) -> Completions:
    """Return the completed_activities source's result (the activity side of the totals is its own)."""
    return result(snapshot, "completed_activities", Completions)


def by_names(values: Mapping[Labels, V], *names: str) -> dict[tuple[str, ...], V]:
    """Key each series by the values of ``names``, in that order, as the simulator's truth keys them."""
    return {key.pick(names): value for key, value in values.items()}


def task_totals(done: Completions) -> dict[tuple[str, ...], int]:
    """Key the task counter's series as ``completions_truth`` does."""
    return by_names(done.tasks, "tenant_id", "queue", "task_type", "result_code")


def activity_totals(done: Completions) -> dict[tuple[str, ...], int]:
    """Key the activity counter's series as ``activities_truth`` does."""
    return by_names(done.activities, "tenant_id", "activity_type", "result_code")


def nonzero(counts: Any) -> dict[Any, int]:  # noqa: ANN401  any mapping of counts
    """Drop zero entries, which the snapshot keeps for series that should exist."""
    return {key: value for key, value in counts.items() if value}


class TestGroundTruth:
    """After an evolving workload every family equals what the simulator really holds."""

    def test_counts_equal_the_simulator(self, rig: Rig) -> None:
        """Totals per state, per result code and per queue match the simulator's tables."""
        rig.first()
        for _ in range(3):
            snapshot = rig.cycle()
        assert dict(task_counts(snapshot).by_state) == rig.sim.truth.counts_by_state("tasks")
        assert dict(activity_counts(snapshot).by_state) == rig.sim.truth.counts_by_state("activities")
        assert set(task_counts(snapshot).completed_by_result) == set(RESULT_CODES)
        completed = rig.sim.truth.counts_by_state("tasks")["completed"]
        assert sum(task_counts(snapshot).completed_by_result.values()) == completed
        open_by_queue = Counter(item.queue for item in rig.sim.truth.open_items("tasks"))
        assert nonzero(task_counts(snapshot).open_by_queue) == dict(open_by_queue)

    def test_open_work_equals_the_simulator(self, rig: Rig) -> None:
        """Open groups, oldest, blocked, cancel-requested and reassigned match the open items."""
        rig.first()
        for _ in range(3):
            snapshot = rig.cycle()
        items = rig.sim.truth.open_items("tasks")
        walked = open_tasks(snapshot)
        groups = Counter((i.state, i.queue, i.tenant_id, i.type, i.priority) for i in items)
        assert by_names(walked.by_group, "state", "queue", "tenant_id", "task_type", "priority") == dict(
            groups
        )
        oldest: dict[tuple[str, str], float] = {}
        for item in items:
            since = item.started_at if item.state == "started" else item.enqueued_at
            assert since is not None
            oldest[item.state, item.queue] = min(since, oldest.get((item.state, item.queue), since))
        assert by_names(walked.oldest, "state", "queue") == pytest.approx(oldest)
        assert by_names(walked.blocked, "queue", "tenant_id") == dict(
            Counter((i.queue, i.tenant_id) for i in items if i.has_blockers)
        )
        assert nonzero(walked.cancel_requested) == dict(Counter(i.queue for i in items if i.cancel_requested))
        assert nonzero(walked.reassigned) == dict(Counter(i.queue for i in items if i.assign_count > 1))
        activities = Counter((i.state, i.tenant_id, i.type) for i in rig.sim.truth.open_items("activities"))
        open_groups = open_activities(snapshot).by_group
        assert by_names(open_groups, "state", "tenant_id", "activity_type") == dict(activities)

    def test_tenants_carry_names_locators_and_parents(self, rig: Rig) -> None:
        """Every tenant seen is described as the simulator knows it."""
        snapshot = rig.first()
        known = {tenant.id: tenant for tenant in rig.sim.truth.tenants()}
        assert snapshot.tenants
        for tenant_id, info in snapshot.tenants.items():
            record = known[tenant_id]
            assert (info.name, info.locator, info.uuid) == (record.name, record.locator, record.uuid or "")
            assert info.parent_id == (record.parent_id or "")

    def test_every_source_reports_success(self, rig: Rig) -> None:
        """A clean poll marks all six sources up with a last-success time on the API's clock."""
        snapshot = rig.first()
        assert snapshot.up
        assert set(snapshot.sources) == {
            "task_counts",
            "activity_counts",
            "open_tasks",
            "open_activities",
            "completed_tasks",
            "completed_activities",
        }
        assert all(status.last_success == rig.clock.now() for status in snapshot.sources.values())


class TestCompletions:
    """Completion counters are exact: every completion since start, once."""

    @pytest.mark.slow
    def test_counters_equal_ground_truth_after_fifty_cycles_with_late_writes(self, rig: Rig) -> None:
        """Fifty overlapping windows with late writes count every completion exactly once."""
        first = rig.first()
        assert sum(completions(first).tasks.values()) == 0
        for _ in range(50):
            snapshot = rig.cycle()
        late = [
            c
            for c in rig.sim.truth.completions("tasks", written_after=rig.started_at)
            if c.written_at > c.completed_at + 1
        ]
        assert late, "the workload must include late writes for this test to mean anything"
        assert task_totals(completions(snapshot)) == dict(completions_truth(rig))
        assert activity_totals(activity_completions(snapshot)) == dict(activities_truth(rig))

    def test_histogram_counts_equal_the_counters(self, rig: Rig) -> None:
        """Every counted completion with a start time is observed once in the duration histograms."""
        rig.first()
        for _ in range(8):
            snapshot = rig.cycle()
        tasks, activities = completions(snapshot), activity_completions(snapshot)
        truth = rig.sim.truth.completions("tasks", written_after=rig.started_at)
        started = Counter((c.queue, c.result_code) for c in truth if c.started_at is not None)
        durations = {key: h.count for key, h in tasks.task_duration.items()}
        assert by_names(durations, "queue", "result_code") == dict(started)
        waited = Counter((c.queue,) for c in truth if c.started_at is not None)
        assert by_names({key: h.count for key, h in tasks.task_queue_wait.items()}, "queue") == dict(waited)
        done = rig.sim.truth.completions("activities", written_after=rig.started_at)
        ran = Counter((c.result_code,) for c in done if c.started_at is not None)
        ran_for = {key: h.count for key, h in activities.activity_duration.items()}
        assert by_names(ran_for, "result_code") == dict(ran)

    def test_watermark_follows_the_api_clock(self, rig: Rig) -> None:
        """W is the newest completedAt the API reported, never the exporter's own time."""
        rig.first()
        snapshot = rig.cycle()
        newest = max(c.completed_at for c in rig.sim.truth.completions("tasks"))
        assert completions(snapshot).watermarks["tasks"] == pytest.approx(newest, abs=1e-6)


class TestFailures:
    """A failed source keeps its last good values while the others refresh."""

    def test_failed_sources_keep_last_good_values_and_say_why(self, rig: Rig) -> None:
        """503s on /activities fail the activity sources with http_5xx; the task sources refresh."""
        before = rig.first()
        rig.sim.faults.fail(503, times=None, path_prefix="/api/task_manager/v2/activities")
        rig.sim.workload.advance(STEP)
        with capture_logs() as logs:
            after = rig.poller.poll_once()
        rig.sim.faults.clear()
        activity_sources = {"activity_counts", "open_activities", "completed_activities"}
        assert {name for name, status in after.sources.items() if not status.ok} == activity_sources
        for name in activity_sources:
            assert after.sources[name].error_reason == "http_5xx"
            assert after.sources[name].last_success == before.sources[name].last_success
            assert rig.counter("acronis_exporter_refresh_failures_total", source=name, reason="http_5xx") == 1
            assert rig.counter("acronis_exporter_refreshes_total", source=name) == 2
        assert after.sources["task_counts"].last_success == rig.clock.now()
        assert not after.up
        assert activity_counts(after) == activity_counts(before)
        assert open_activities(after) == open_activities(before)
        assert activity_completions(after).activities == activity_completions(before).activities
        assert (
            activity_completions(after).watermarks["activities"]
            == activity_completions(before).watermarks["activities"]
        )
        warnings = sorted((e["source"], e["reason"]) for e in logs if e["event"] == "source_refresh_failed")
        assert warnings == sorted((name, "http_5xx") for name in activity_sources)
        recovered = rig.cycle()
        assert recovered.up
        assert activity_totals(activity_completions(recovered)) == dict(activities_truth(rig))

    def test_a_refusing_api_fails_every_source_after_one_request(
        self, rig_factory: Callable[..., Rig]
    ) -> None:
        """A 403 dooms the whole poll: every source fails as forbidden and nothing more is sent."""
        rig = rig_factory(api={"concurrency": 1})
        rig.first()
        sent = rig.requests_sent()
        rig.sim.faults.fail(403, times=None)
        refused = rig.cycle()
        rig.sim.faults.clear()
        assert {status.error_reason for status in refused.sources.values()} == {"forbidden"}
        assert rig.requests_sent() - sent == 1

    def test_a_failed_source_sends_no_more_of_its_requests(self, rig_factory: Callable[..., Rig]) -> None:
        """A source's first count goes alone: when it fails, the source's other counts are not sent."""
        rig = rig_factory()
        rig.first()
        before = rig.requests_sent(endpoint="/activities")
        rig.sim.faults.fail(503, times=None, path_prefix="/api/task_manager/v2/activities")
        failed = rig.cycle()
        rig.sim.faults.clear()
        assert failed.sources["activity_counts"].error_reason == "http_5xx"
        assert failed.sources["task_counts"].ok
        assert rig.requests_sent(endpoint="/activities") - before == 3  # one per activity source

    def test_failed_completion_walk_counts_nothing_until_it_recovers(
        self, rig_factory: Callable[..., Rig]
    ) -> None:
        """A walk that breaks mid-way leaves W and the counters alone; the next poll catches up exactly."""
        rig = rig_factory(poll={"activities": False}, api={"page_size": 10, "max_pages": 5})
        rig.first()
        good = rig.cycle()
        # A window over the page budget is no failure: it is worked off over polls (test_backlog.py).
        for _ in range(2):
            rig.sim.workload.advance(STEP)
            rig.sim.faults.repeat_cursor(times=100)
            broken = rig.poller.poll_once()
            rig.sim.faults.clear()
            assert broken.sources["completed_tasks"].error_reason == "pagination"
            assert completions(broken) == completions(good)
        recovered = rig.cycle()
        assert task_totals(completions(recovered)) == dict(completions_truth(rig))

    def test_corrupt_items_are_skipped_counted_and_recovered(self, rig_factory: Callable[..., Rig]) -> None:
        """Items broken for three polls are skipped and counted as such, then counted once readable."""
        rig = rig_factory(poll={"activities": False}, api={"page_size": 100})
        rig.first()
        rig.cycle()
        # Every page is corrupted for exactly three polls; the open tasks fit on one page, so
        # each poll skips its first three open tasks, however often the completions are walked.
        assert sum(open_tasks(rig.cycle()).by_group.values()) < 100
        rig.sim.faults.corrupt_items(mode="null", count=3, times=None)
        for _ in range(3):
            corrupted = rig.cycle()
            assert corrupted.up
        rig.sim.faults.clear()
        assert corrupted.items_skipped["completed_tasks", "null_field"] > 0
        assert corrupted.items_skipped["open_tasks", "null_field"] == 9
        healed = rig.cycle()
        assert task_totals(completions(healed)) == dict(completions_truth(rig))

    def test_unknown_enums_are_skipped_with_their_reason(self, rig_factory: Callable[..., Rig]) -> None:
        """Items with a state or result code outside the enums are skipped as unknown_enum."""
        rig = rig_factory(poll={"activities": False}, api={"page_size": 100})
        rig.first()
        rig.sim.faults.corrupt_items(mode="unknown_enum", count=2, times=2)
        snapshot = rig.cycle()
        assert {reason for _, reason in snapshot.items_skipped} == {"unknown_enum"}
        healed = rig.cycle()
        assert task_totals(completions(healed)) == dict(completions_truth(rig))


class TestCardinality:
    """Caps fold surplus values into __other__ and never change their mind."""

    def test_tenant_cap_folds_and_stays_stable(self, rig_factory: Callable[..., Rig]) -> None:
        """With a cap of three tenants, the same three keep their series on every poll."""
        rig = rig_factory(metrics={"max_tenants": 3})
        first = rig.first()
        kept = {key["tenant_id"] for key in open_tasks(first).by_group} - {OTHER}
        assert len(kept) == 3
        assert first.tenants_folded > 0
        assert set(first.tenants) == kept
        for _ in range(6):
            snapshot = rig.cycle()
            labels = {key["tenant_id"] for key in completions(snapshot).tasks} | {
                key["tenant_id"] for key in activity_completions(snapshot).activities
            }
            assert labels <= kept | {OTHER}
            assert set(snapshot.tenants) == kept
        assert sum(completions(snapshot).tasks.values()) == sum(completions_truth(rig).values())

    def test_the_largest_tenants_win_the_slots_on_the_first_poll(
        self, rig_factory: Callable[..., Rig]
    ) -> None:
        """The first poll gives the slots to the tenants with the most open work."""
        rig = rig_factory(metrics={"max_tenants": 2})
        snapshot = rig.first()
        open_per_tenant = Counter(item.tenant_id for item in rig.sim.truth.open_items("tasks"))
        open_per_tenant.update(item.tenant_id for item in rig.sim.truth.open_items("activities"))
        heaviest = sorted(open_per_tenant.items(), key=lambda pair: (-pair[1], pair[0]))[:2]
        assert set(snapshot.tenants) == {tenant for tenant, _ in heaviest}

    def test_queue_cap_limits_the_counted_queues(self, rig_factory: Callable[..., Rig]) -> None:
        """Only capped queues get their own open count and series; the rest fold."""
        rig = rig_factory(metrics={"max_queues": 2})
        snapshot = rig.first()
        assert len(task_counts(snapshot).open_by_queue) <= 2
        assert snapshot.label_values_folded["queue"] > 0

    def test_denied_tenants_are_left_out_of_tenant_families(self, rig_factory: Callable[..., Rig]) -> None:
        """A denied tenant has no series in tenant-labelled families and takes no slot under the cap."""
        probe = rig_factory()
        busiest = Counter(i.tenant_id for i in probe.sim.truth.open_items("tasks")).most_common(1)[0][0]
        rig = rig_factory(metrics={"tenant_deny": [busiest], "max_tenants": 2})
        snapshot = rig.first()
        assert busiest not in {key["tenant_id"] for key in open_tasks(snapshot).by_group}
        assert busiest not in snapshot.tenants
        assert len(snapshot.tenants) == 2  # the denied tenant took no slot

    def test_dropped_labels_are_aggregated_away(self, rig_factory: Callable[..., Rig]) -> None:
        """drop_labels removes a dimension from the exposition; the series it told apart are summed."""
        rig = rig_factory(metrics={"drop_labels": ["tenant_id", "priority"]})
        rig.first()
        snapshot = rig.cycle()
        assert snapshot.dropped_labels == frozenset({"tenant_id", "priority"})
        registry = CollectorRegistry()
        registry.register(TaskManagerCollector(SnapshotStore(initial=snapshot)))
        rendered = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in family.samples
        }
        labels = {name for _, pairs in rendered for name, _ in pairs}
        assert not labels & {"tenant_id", "priority"}
        assert "acronis_tenant_info" not in {name for name, _ in rendered}
        truth = Counter((i.state, i.queue, i.type) for i in rig.sim.truth.open_items("tasks"))
        shown = {
            (dict(pairs)["state"], dict(pairs)["queue"], dict(pairs)["task_type"]): value
            for (name, pairs), value in rendered.items()
            if name == "acronis_open_tasks" and value
        }
        assert shown == dict(truth)


class TestSettings:
    """Settings switch sources and queue discovery."""

    def test_activities_off_disables_the_activity_sources(self, rig_factory: Callable[..., Rig]) -> None:
        """With poll.activities false no activity source runs or reports."""
        rig = rig_factory(poll={"activities": False})
        snapshot = rig.first()
        assert set(snapshot.sources) == {"task_counts", "open_tasks", "completed_tasks"}
        assert not any(entry.path.endswith("/activities") for entry in rig.sim.requests.entries())

    def test_configured_queues_are_counted_even_when_empty(self, rig_factory: Callable[..., Rig]) -> None:
        """Queues named in settings are counted whether or not they have open work."""
        rig = rig_factory(poll={"queues": ["backup", "no-such-queue"]})
        snapshot = rig.first()
        assert set(task_counts(snapshot).open_by_queue) == {"backup", "no-such-queue"}
        assert task_counts(snapshot).open_by_queue["no-such-queue"] == 0

    def test_state_counts_cover_every_state(self, rig: Rig) -> None:
        """All five states are counted, zeros included."""
        snapshot = rig.first()
        assert tuple(task_counts(snapshot).by_state) == TASK_STATES


class TestLoop:
    """run() polls on schedule, survives bugs and stops promptly."""

    def test_run_polls_at_once_and_stops_promptly(self, rig: Rig) -> None:
        """The loop publishes a first snapshot, is healthy, and returns soon after stop is set."""
        stop = threading.Event()
        thread = threading.Thread(target=rig.poller.run, args=(stop,), daemon=True)
        thread.start()
        assert rig.poller.first_poll_done.wait(timeout=30)
        wait_until(rig.poller.healthy, timeout=10, what="a healthy loop")
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert not rig.poller.healthy()

    def test_poll_finished_is_one_line_per_poll(self, rig: Rig) -> None:
        """Each poll logs one poll_finished line with its duration, sources, items and requests."""
        with capture_logs() as logs:
            rig.first()
        finished = [e for e in logs if e["event"] == "poll_finished"]
        assert len(finished) == 1
        line = finished[0]
        assert (line["sources_ok"], line["sources_failed"]) == (6, 0)
        assert line["items"] > 0
        assert line["requests"] >= 2 * (len(TASK_STATES) + len(RESULT_CODES))
        assert line["duration_seconds"] >= 0

    def test_an_unexpected_error_fails_each_source_not_the_poll(
        self, rig_factory: Callable[..., Rig]
    ) -> None:
        """An error no check foresaw (a closed HTTP client) fails each source with reason internal.

        The poll itself goes on and publishes: acronis_up reads 0 and /readyz is answered.
        """
        rig = rig_factory(poll={"interval": 1.0, "jitter": 0.0})
        rig.client.close()
        with capture_logs() as logs:
            snapshot = rig.poller.poll_once()
        assert not snapshot.up
        assert {name: status.error_reason for name, status in snapshot.sources.items()} == dict.fromkeys(
            rig.poller.sources, "internal"
        )
        assert rig.poller.first_poll_done.is_set()
        assert rig.counter("acronis_exporter_poll_crashes_total") == 0
        crashed = {e["source"] for e in logs if e["event"] == "source_crashed"}
        assert crashed == set(rig.poller.sources)
