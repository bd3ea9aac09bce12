"""The sharding recipe of docs/sharding.md, end to end: shards add up to the unsharded exporter.

One simulator holds a deep tenant tree (root → partners → sub-partners and folders →
customers → units; the root and the partners own tasks too). One exporter polls it with
the root's token; one shard per child of the root polls it with a token scoped to that
child (`--api.tenant-id`); one more shard, `root`, polls with the root's token but keeps
only the root tenant's own series (`--metrics.tenant-allow`). All are real processes over
real HTTP, scraped by a real Prometheus with each sharded target labelled `shard`.

The workload runs on a manual clock: it stands still while every exporter takes its
baseline, moves in steps, and stands still again until every exporter has polled the
still data, so all exporters count the same completions. Then, with the doc's PromQL,
every tenant-level family summed over the shards equals the unsharded exporter's, series
by series, each tenant in exactly one shard, and both equal the simulator's ground truth.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from exporter.vocabulary import OPEN_STATES, OTHER, UNKNOWN
from simulator import ManualClock, SimulatorConfig, start_simulator
from simulator.population import ROOT_TENANT_ID
from tests.support.processes import start_exporter, wait_until
from tests.support.prometheus import start_prometheus
from tests.support.prometheus_e2e import prometheus_e2e_marks

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from simulator import RunningSimulator
    from simulator.truth import Kind
    from tests.support.processes import ExporterProcess
    from tests.support.prometheus import PrometheusServer, Sample

pytestmark = prometheus_e2e_marks()
DEEP = SimulatorConfig(
    tasks=800, open_tasks=120, tenants=40, seed=11, tenant_tree="deep", completion_rate=2.0
)
INTERVAL = 2  # seconds between polls: also how long zero-first holds a new series at 0
ROOT = str(ROOT_TENANT_ID)
ROOT_SHARD = "root"  # the shard that keeps only the root tenant's own series
TENANT_FAMILIES = {  # family → the labels it is compared by (task_type, priority are dropped)
    "acronis_open_tasks": ("tenant_id", "state", "queue"),
    "acronis_open_activities": ("tenant_id", "state"),
    "acronis_tasks_blocked": ("tenant_id", "queue"),
    "acronis_tasks_completed_total": ("tenant_id", "queue", "result_code"),
    "acronis_activities_completed_total": ("tenant_id", "result_code"),
}
Figures = dict[tuple[str, ...], float]


@dataclass(frozen=True)
class Run:
    """Prometheus after the run, the simulator, and when the workload began to move."""

    prometheus: PrometheusServer
    simulator: RunningSimulator
    baseline: float  # simulator time of the exporters' baselines
    at: float  # when every query is evaluated: every target's last scrape then was good and late

    def query(self, promql: str) -> list[Sample]:
        """Evaluate `promql` at `at`, so a scrape failing later under load changes nothing."""
        return self.prometheus.query(promql, at=self.at)

    def figures(self, family: str, job: str, by: tuple[str, ...], matchers: str = "") -> Figures:
        """`sum by (by) (family{job, matchers})`, as {label values: value}, zeros left out."""
        samples = self.query(f'sum by ({", ".join(by)}) ({family}{{job="{job}"{matchers}}})')
        return {tuple(s.labels.get(label, "") for label in by): s.value for s in samples if s.value}


def exporter_args(url: str, *extra: str) -> list[str]:
    """Arguments every exporter of the test shares: the API, the interval, no tenant folding."""
    return [
        *("--api.url", url, "--api.client-id", DEEP.client_id, "--poll.interval", str(INTERVAL)),
        *("--metrics.max-tenants", "1000", *extra),
    ]


def polls_after(exporter: ExporterProcess, seen: int, more: int) -> None:
    """Wait until `exporter` has logged `more` poll_finished lines beyond the first `seen`."""
    wait_until(
        lambda: len(exporter.events("poll_finished")) >= seen + more,
        timeout=120.0,
        what=f"{more} more polls of {exporter.url}",
    )


def settle(exporters: list[ExporterProcess], polls: int) -> None:
    """Wait until each exporter finished `polls` polls after now; the last ones saw still data."""
    counts = [len(e.events("poll_finished")) for e in exporters]
    for exporter, seen in zip(exporters, counts, strict=True):
        polls_after(exporter, seen, polls)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Run everything, move the workload, let every exporter poll the still data, scrape it."""
    clock = ManualClock(start=time.time())
    env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": DEEP.client_secret}
    with start_simulator(DEEP, clock=clock) as simulator, ExitStack() as stack:
        children = [t for t in simulator.truth.tenants() if t.parent_id == ROOT]
        shards = {f"child-{c.id}": ["--api.tenant-id", str(c.uuid)] for c in children}
        shards[ROOT_SHARD] = ["--metrics.tenant-allow", ROOT]

        def launch(name: str, extra: list[str]) -> ExporterProcess:
            workdir: Path = tmp_path_factory.mktemp(name)
            return stack.enter_context(
                start_exporter(exporter_args(simulator.url, *extra), env=env, workdir=workdir)
            )

        unsharded = launch("unsharded", [])
        sharded = {name: launch(name, extra) for name, extra in shards.items()}
        exporters = [unsharded, *sharded.values()]
        baseline = clock.now()  # every exporter is ready: its baseline walk saw the data as of now
        for _ in range(2):  # completions land over several polls, some of them mid-walk
            simulator.workload.advance(60.0)
            settle(exporters, 1)
        settle(exporters, 2)  # the second poll after the last step started after it
        scrape_configs = [
            {"job_name": "unsharded", "static_configs": [{"targets": [f"127.0.0.1:{unsharded.port}"]}]},
            {
                "job_name": "sharded",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{e.port}"], "labels": {"shard": name}}
                    for name, e in sharded.items()
                ],
            },
        ]
        prometheus = stack.enter_context(
            start_prometheus(scrape_configs=scrape_configs, workdir=tmp_path_factory.mktemp("prometheus"))
        )
        prometheus.wait_for_targets_up(count=len(exporters))
        settle(exporters, 2)  # two polls after the first scrape: a poll interval, the zero-first hold
        held_until = time.time()
        at = wait_until(
            lambda: all_scraped_well_after(prometheus, held_until, len(exporters)),
            timeout=60.0,
            what="a moment when every target's last scrape was good and after the zero-first hold",
        )
        yield Run(prometheus, simulator, baseline, at)


def all_scraped_well_after(prometheus: PrometheusServer, since: float, targets: int) -> float | None:
    """Return a time at which every target's last scrape succeeded, after `since`; else None."""
    at = time.time()
    ups = prometheus.query("up", at=at)
    scraped = prometheus.query("timestamp(up)", at=at)
    good = len(ups) == targets and all(s.value == 1 for s in ups)
    return at if good and len(scraped) == targets and min(s.value for s in scraped) > since else None


def truth_figures(run: Run, family: str) -> Figures:
    """Return the simulator's ground truth for a tenant-level family, keyed like `Run.figures`."""
    truth, by = run.simulator.truth, TENANT_FAMILIES[family]
    kind: Kind = "activities" if "activities" in family else "tasks"
    if family.endswith("_completed_total"):
        counted = truth.count_completions(kind, by=by, written_after=run.baseline)
        return {key: float(n) for key, n in counted.items()}
    items = [i for i in truth.open_items(kind) if family != "acronis_tasks_blocked" or i.has_blockers]
    return {key: float(n) for key, n in Counter(tuple(getattr(i, k) for k in by) for i in items).items()}


@pytest.mark.parametrize("family", TENANT_FAMILIES)
class TestShardsAddUpToTheAccount:
    """Summed over the shards, every tenant-level family is the unsharded exporter's, and the truth."""

    def test_sum_over_shards_equals_unsharded(self, run: Run, family: str) -> None:
        """Summed by tenant_id and the rest over job="sharded", the figures are job="unsharded"'s."""
        by = TENANT_FAMILIES[family]
        unsharded = run.figures(family, "unsharded", by)
        assert unsharded, f"{family} has no non-zero series: the run proves nothing"
        assert run.figures(family, "sharded", by) == unsharded

    def test_unsharded_equals_the_truth(self, run: Run, family: str) -> None:
        """The unsharded exporter's figures are the simulator's ground truth."""
        assert run.figures(family, "unsharded", TENANT_FAMILIES[family]) == truth_figures(run, family)

    def test_each_tenant_is_in_one_shard(self, run: Run, family: str) -> None:
        """No tenant has series in two shards: nothing is counted twice."""
        per_tenant = f'count by (tenant_id) (count by (tenant_id, shard) ({family}{{job="sharded"}}))'
        assert [s.labels for s in run.query(f"{per_tenant} > 1")] == []

    def test_child_shards_miss_exactly_the_root_own_series(self, run: Run, family: str) -> None:
        """Without the root shard, the children cover everything but the root tenant's own items."""
        by = TENANT_FAMILIES[family]
        children = run.figures(family, "sharded", by, f', shard!="{ROOT_SHARD}"')
        unsharded = run.figures(family, "unsharded", by)
        assert children == {key: v for key, v in unsharded.items() if key[0] != ROOT}


class TestTenantInfo:
    """acronis_tenant_info: the shards' rows together are the unsharded rows, each tenant once."""

    LABELS = ("tenant_id", "tenant_name", "locator", "tenant_uuid", "parent_tenant_id")

    def rows(self, run: Run, job: str) -> Counter[tuple[str, ...]]:
        """Each tenant's info row (folded and unknown buckets aside), counted over the job's targets."""
        samples = run.query(f'acronis_tenant_info{{job="{job}", tenant_id!~"{OTHER}|{UNKNOWN}"}}')
        return Counter(tuple(s.labels.get(label, "") for label in self.LABELS) for s in samples)

    def test_shards_rows_are_the_unsharded_rows_once_each(self, run: Run) -> None:
        """Every tenant row of the unsharded exporter appears in exactly one shard."""
        unsharded = self.rows(run, "unsharded")
        assert len(unsharded) > 10
        assert self.rows(run, "sharded") == unsharded

    def test_rows_are_the_simulator_tenants(self, run: Run) -> None:
        """Names, locators, uuids and parents are the simulator's, and the root's own row is there."""
        tenants = {t.id: t for t in run.simulator.truth.tenants()}
        rows = self.rows(run, "unsharded")
        for tenant_id, name, locator, uuid, parent in rows:
            record = tenants[tenant_id]
            assert (name, locator, uuid, parent) == (
                record.name,
                record.locator,
                record.uuid or "",
                record.parent_id or "",
            )
        assert ROOT in {row[0] for row in rows}

    def test_the_docs_name_join_gives_the_unsharded_answer(self, run: Run) -> None:
        """docs/sharding.md's join: open tasks per tenant name, over the shards, as unsharded."""

        def by_name(job: str) -> dict[str, float]:
            names = f'max by (tenant_id, tenant_name) (acronis_tenant_info{{job="{job}"}})'
            tasks = f'sum by (tenant_id) (acronis_open_tasks{{job="{job}"}})'
            query = f"{tasks} * on (tenant_id) group_left (tenant_name) {names}"
            return {
                f"{s.labels['tenant_id']} {s.labels.get('tenant_name')}": s.value for s in run.query(query)
            }

        assert by_name("sharded") == by_name("unsharded")
        assert len(by_name("unsharded")) > 10


class TestAccountWideFamilies:
    """Families without tenant_id: the root shard sees the account, the children their subtrees."""

    def test_root_shard_counts_the_whole_account(self, run: Run) -> None:
        """acronis_tasks (lod=count) of the root shard equals the unsharded exporter's."""
        root = run.figures("acronis_tasks", "sharded", ("state",), f', shard="{ROOT_SHARD}"')
        assert root == run.figures("acronis_tasks", "unsharded", ("state",))

    def test_root_shard_histograms_cover_the_whole_account(self, run: Run) -> None:
        """acronis_task_duration_seconds has no tenant_id: the root shard observes every completion."""
        family, by = "acronis_task_duration_seconds_count", ("queue", "result_code")
        root = run.figures(family, "sharded", by, f', shard="{ROOT_SHARD}"')
        assert root
        assert root == run.figures(family, "unsharded", by)

    def test_child_shards_count_all_but_the_root_own_open_tasks(self, run: Run) -> None:
        """Summed over the children, open tasks per state miss exactly the root tenant's own."""
        states = "|".join(OPEN_STATES)
        matchers = f', shard!="{ROOT_SHARD}", state=~"{states}"'
        children = run.figures("acronis_tasks", "sharded", ("state",), matchers)
        whole = run.figures("acronis_tasks", "unsharded", ("state",), f', state=~"{states}"')
        root_own = Counter(i.state for i in run.simulator.truth.open_items() if i.tenant_id == ROOT)
        assert root_own, "the root owns no open task: the gap is not exercised"
        assert children == {(s,): n - root_own[s] for (s,), n in whole.items() if n - root_own[s]}
