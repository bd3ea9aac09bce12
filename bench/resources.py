"""What ``--metrics.resources`` costs: memory and series at 10k and 100k resources, and the look-back.

    python -m bench.resources            # both parts, about a minute on 2 cores
    python -m bench.resources --quick    # 1k resources and a small look-back, a few seconds

Part one folds a synthetic day of completions (one ``ok`` per resource, an ``error`` for
every third, 20 resources a tenant, a policy per 10 resources) through the real source and
labeler, with the cap at the scale (every resource its own series) and at the default
(1,000): peak and retained Python memory (tracemalloc), series, seconds. Part two runs the
start-up look-back walk against the simulator over HTTP: requests and seconds.
Figures are printed beside the targets; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
import tracemalloc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import HttpUrl, SecretStr

from exporter.app import build
from exporter.cardinality import Labeler
from exporter.config import ApiSettings, MetricsSettings, PollSettings, Settings
from exporter.grouping import CompletionTotals
from exporter.models import format_time
from exporter.pages import Page
from exporter.sources.base import Paging, Poll, Shared
from exporter.sources.resources import LastOutcomes, ResourceOutcomes
from simulator import ManualClock, SimulatorConfig, start_simulator

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

NOW = 1_790_000_000.0
PAGE = 500
RETAINED_TARGET_MIB = 64.0  # at 100k resources uncapped: a quarter of the chart's 256 MiB limit
LOOKBACK_SECONDS_TARGET = 60.0  # the look-back of a busy day within one default poll interval


class SyntheticDay:
    """An ``Api`` that lists one day of completions over ``resources`` resources, ``PAGE`` a page."""

    def __init__(self, resources: int) -> None:
        self.items = [item for index in range(resources) for item in _completions(index)]

    def count(self, resource: str, params: Sequence[tuple[str, str]] = ()) -> int:  # noqa: ARG002
        """Not used by the source."""
        return len(self.items)

    def iter_pages(  # noqa: PLR0913  as TaskManagerClient.iter_pages
        self,
        resource: str,  # noqa: ARG002
        params: Sequence[tuple[str, str]] = (),  # noqa: ARG002
        *,
        lod: str,  # noqa: ARG002
        limit: int | None = None,
        max_pages: int | None = None,
        partial: bool = False,  # noqa: ARG002
    ) -> Iterator[Page]:
        """Yield the day page by page (the first, a one-item probe, carries the API's time)."""
        size = limit or PAGE
        pages = range(0, min(len(self.items), size * (max_pages or 1_000_000)), size)
        for start in pages:
            more = start + size < len(self.items)
            yield Page(self.items[start : start + size], more=more, server_time=NOW)


def _completions(index: int) -> list[dict[str, Any]]:
    tenant = {"id": str(1000 + index // 20), "name": f"tenant {index // 20}", "locator": ""}
    resource = {"id": f"r-{index:08d}", "name": f"host-{index:08d}", "type": "resource.machine"}
    policy = {"id": f"p-{index // 10:08d}", "name": f"policy {index // 10}", "type": "policy.backup.machine"}
    codes = ("ok", "error") if index % 3 == 0 else ("ok",)
    return [
        {
            "id": index * 2 + n,
            "state": "completed",
            "result": {"code": code},
            "tenant": tenant,
            "type": "backup",
            "startedAt": format_time(NOW - 3600 - n),
            "completedAt": format_time(NOW - 1800 - n),
            "updatedAt": format_time(NOW - 1800 - n),
            "resource": resource,
            "policy": policy,
        }
        for n, code in enumerate(codes)
    ]


@dataclass(frozen=True)
class FoldRow:
    """One scale of part one."""

    resources: int
    cap: int
    series: int
    peak_mib: float
    retained_mib: float
    seconds: float


def fold_cost(resources: int, cap: int) -> FoldRow:
    """Walk and fold the synthetic day once through the real source, measuring it."""
    api = SyntheticDay(resources)
    settings = Settings(
        demo=True,
        metrics=MetricsSettings(resources=True, max_resources=cap, max_policies=cap, max_tenants=1_000_000),
    )
    source = ResourceOutcomes(settings, Shared(CompletionTotals()))
    paging = Paging(PAGE, 1_000_000)
    poll = Poll(api, paging, Labeler(settings.metrics), lambda *_: None)
    gc.collect()
    tracemalloc.start()
    began = time.perf_counter()
    replies = {key: job() for key, job in source.requests(poll).items()}
    result = source.fold(replies, poll).result
    seconds = time.perf_counter() - began
    del replies
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(result, LastOutcomes)  # noqa: S101  the source's own type
    series = (
        len(result.resources) + len(result.policies) + len(result.resource_names) + len(result.policy_names)
    )
    return FoldRow(resources, cap, series, peak / 2**20, retained / 2**20, seconds)


def lookback_cost(tasks: int) -> tuple[int, int, float]:
    """Run the start-up look-back against a 36-hour history: (completions in it, requests, seconds)."""
    config = SimulatorConfig(
        tasks=tasks, open_tasks=tasks // 50, tenants=200, seed=3, completion_rate=tasks / 129600
    )
    clock = ManualClock(start=NOW)
    with start_simulator(config, clock=clock) as simulator:
        api = ApiSettings(
            url=HttpUrl(simulator.url),
            client_id=config.client_id,
            client_secret=SecretStr(config.client_secret),
        )
        settings = Settings(
            api=api, poll=PollSettings(activities=False), metrics=MetricsSettings(resources=True)
        )
        exporter = build(settings, clock=clock.now, monotonic=clock.now, rng=random.Random(0))  # noqa: S311  jitter, not crypto
        try:
            requests = [0]

            def on_page(_: int) -> None:
                requests[0] += 1

            poll = Poll(
                exporter.client, Paging(PAGE, 2000, on_page), Labeler(settings.metrics), lambda *_: None
            )
            source = ResourceOutcomes(settings, Shared(CompletionTotals()))
            began = time.perf_counter()
            source.fold({key: job() for key, job in source.requests(poll).items()}, poll)
            seconds = time.perf_counter() - began
        finally:
            exporter.close()
        day = len(simulator.truth.completions("tasks", completed_after=NOW - 86400.0))
    return day, requests[0], seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Print both parts beside their targets."""
    parser = argparse.ArgumentParser(prog="python -m bench.resources", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k resources and a small look-back")
    quick = parser.parse_args(argv).quick
    scales = (1_000,) if quick else (10_000, 100_000)
    print("| resources | cap | series | peak MiB | retained MiB | fold s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for resources in scales:
        for cap in sorted({resources, 1000}, reverse=True):
            row = fold_cost(resources, cap)
            print(
                f"| {row.resources:,} | {row.cap:,} | {row.series:,} | {row.peak_mib:.1f} | "
                f"{row.retained_mib:.1f} | {row.seconds:.2f} |"
            )
    print(
        f"\ntarget: retained <= {RETAINED_TARGET_MIB:.0f} MiB at 100,000 resources uncapped; "
        "series <= 2 x cap x result codes + names at any scale (the cap bounds them)"
    )
    day, requests, seconds = lookback_cost(2_000 if quick else 30_000)
    print("\n| completions in the look-back | requests | seconds |")
    print("|---:|---:|---:|")
    print(f"| {day:,} | {requests} | {seconds:.2f} |")
    print(
        f"\ntarget: requests = 1 + ceil(completions / {PAGE}) (one page each);"
        f" seconds <= {LOOKBACK_SECONDS_TARGET:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
