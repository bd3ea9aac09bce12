"""The whole benchmark: every scale of a plan, the naive baseline and the scrape latency.

Scales run one after another, each against a simulator of its own built for it (the
million-task one once). The next scale's simulator is built while the current exporter
idles between its cold and steady cycles, which the plan's order keeps short: the
million-task build (about a minute) comes first, before any exporter runs. The naive
lister walks a simulator after the exporter is done with it.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from bench import naive, procstat, scrape_latency
from bench.scenario import ScaleResult, run_scale
from simulator import SimulatorConfig, start_simulator

if TYPE_CHECKING:
    from collections.abc import Callable

    from bench.naive import NaiveResult
    from bench.scales import Plan, Scale
    from bench.scrape_latency import ScrapeLatencyRow
    from simulator import RunningSimulator

SEED = 7  # the same workload on every run, so runs compare


@dataclass(frozen=True)
class SuiteResult:
    """Everything one run measured, and where and when."""

    plan: Plan
    started_at: str  # ISO 8601, UTC
    duration_seconds: float
    machine: dict[str, str | int]
    scales: list[ScaleResult] = field(default_factory=list)
    naive: list[NaiveResult] = field(default_factory=list)
    scrape_latency: list[ScrapeLatencyRow] = field(default_factory=list)


def run_suite(plan: Plan, progress: Callable[[str], None]) -> SuiteResult:
    """Run every part of `plan`, reporting progress as it goes."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    scales, naive_runs = _run_scales(plan, progress)
    progress("/metrics: concurrent scrapers against the exporter's server and the default renderer")
    scrapes = scrape_latency.run(plan)
    return SuiteResult(
        plan=plan,
        started_at=started_at,
        duration_seconds=time.monotonic() - started,
        machine=procstat.machine_description(),
        scales=scales,
        naive=naive_runs,
        scrape_latency=scrapes,
    )


def _run_scales(plan: Plan, progress: Callable[[str], None]) -> tuple[list[ScaleResult], list[NaiveResult]]:
    """Measure each scale in turn, and the naive lister once per history size it names."""
    scales, naive_runs = [], []
    naive_pending = set(plan.naive_histories)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="simulator-build") as pool:
        pipeline = _Pipeline(plan, progress, pool)
        pipeline.start(plan.scales[0])
        for scale, following in zip(plan.scales, (*plan.scales[1:], None), strict=True):
            with pipeline.take() as sim:
                progress(f"{scale.name}: exporter polling every {plan.poll_interval:g}s, cold then steady")
                scales.append(run_scale(sim, scale, plan, on_idle=partial(pipeline.start, following)))
                if scale.history in naive_pending:
                    naive_pending.discard(scale.history)
                    progress(f"{scale.name}: naive baseline lists all {scale.history} tasks")
                    naive_runs.append(naive.measure(sim, page_size=plan.page_size, latency=plan.latency))
    return scales, naive_runs


class _Pipeline:
    """Builds the next scale's simulator in the background while the current one is measured."""

    def __init__(self, plan: Plan, progress: Callable[[str], None], pool: ThreadPoolExecutor) -> None:
        self._plan = plan
        self._progress = progress
        self._pool = pool
        self._next: Future[RunningSimulator] | None = None

    def start(self, scale: Scale | None) -> None:
        """Start building the simulator for `scale` (nothing after the last scale)."""
        if scale is not None:
            self._progress(f"{scale.name}: building a simulator with {scale.label}")
            self._next = self._pool.submit(start_simulator, _simulator_config(scale, self._plan))

    def take(self) -> RunningSimulator:
        """Wait for the simulator started last and hand it over."""
        if self._next is None:
            raise RuntimeError("no simulator is being built")
        built, self._next = self._next, None
        return built.result()


def _simulator_config(scale: Scale, plan: Plan) -> SimulatorConfig:
    return SimulatorConfig(
        tasks=scale.history,
        open_tasks=scale.open_tasks,
        tenants=scale.tenants,
        completion_rate=scale.completion_rate,
        latency=plan.latency,
        live=True,  # completions happen on the wall clock, as the exporter's watermark expects
        seed=SEED,
    )
