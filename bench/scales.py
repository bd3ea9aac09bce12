"""Which workloads the benchmark runs, and why not the full cross product.

The issue names four axes: history (10k, 100k, 1M tasks), open tasks (1k, 20k), tenants
(10, 5k) and completion rate (1/s, 50/s). Their full product is 24 simulators, far past
the 15-minute budget on a 2-core machine, so the suite varies one axis at a time around
a baseline, plus the one combination the memory target names (20k open, 5k tenants),
twice: with every tenant given its own series (``--metrics.max-tenants 5000``, the worst
case for memory) and with the exporter's default cap of 100 tenants.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """One simulated Acronis tenant tree, as the simulator is told to build it."""

    name: str
    history: int  # tasks in the database, completed ones included
    open_tasks: int  # tasks not yet completed
    tenants: int
    completion_rate: float  # tasks completed per second, in live mode
    varies: str  # the axis this scale moves away from the baseline, for the table
    tenant_cap: int | None = None  # --metrics.max-tenants; None keeps the exporter's default

    @property
    def label(self) -> str:
        """Short description for the table: 100k hist / 1k open / 10 ten / 1/s."""
        return (
            f"{_short(self.history)} hist / {_short(self.open_tasks)} open / "
            f"{_short(self.tenants)} ten / {self.completion_rate:g}/s"
            + (f" / cap {_short(self.tenant_cap)}" if self.tenant_cap else "")
        )


@dataclass(frozen=True)
class Plan:
    """Everything one run of the suite measures, and at what pace."""

    name: str
    scales: tuple[Scale, ...]
    poll_interval: float  # seconds between the exporter's polls
    latency: float  # the simulator's delay per request, seconds
    page_size: int  # the exporter's --api.page-size: the "limit" of the request formula
    naive_histories: tuple[int, ...]  # history sizes the naive lister walks
    series_targets: tuple[int, ...]  # /metrics sizes for the scrape-latency test
    scrapers: int  # concurrent scrapers hitting /metrics
    scrapes_per_scraper: int
    render_repeats: int  # timed calls of the default rendering, per size


BASELINE = Scale("baseline", 100_000, 1_000, 10, 1.0, "-")

FULL = Plan(
    name="full",
    # The million-task simulator first: its minute-long build then delays no other scale.
    scales=(
        Scale("history-1m", 1_000_000, 1_000, 10, 1.0, "history"),
        Scale("history-10k", 10_000, 1_000, 10, 1.0, "history"),
        BASELINE,
        Scale("open-20k", 100_000, 20_000, 10, 1.0, "open tasks"),
        Scale("tenants-5k", 100_000, 1_000, 5_000, 1.0, "tenants", tenant_cap=5_000),
        Scale("rate-50", 100_000, 1_000, 10, 50.0, "completion rate"),
        Scale("open-20k-tenants-5k", 100_000, 20_000, 5_000, 1.0, "memory target", tenant_cap=5_000),
        Scale("open-20k-tenants-5k-cap-100", 100_000, 20_000, 5_000, 1.0, "memory target, default cap"),
    ),
    # The exporter's default: per-hour figures are the steady cycle times 60, not a guess
    # at how a shorter cycle would scale.
    poll_interval=60.0,
    latency=0.05,  # the issue: 50 ms per request
    page_size=500,
    naive_histories=(10_000, 100_000, 1_000_000),
    series_targets=(10_000, 100_000),
    scrapers=20,
    scrapes_per_scraper=50,
    render_repeats=3,
)

# The smoke scale: the smallest history the issue names, polled every few seconds so the
# harness runs end to end quickly. Its figures prove the plumbing, not the targets.
QUICK = Plan(
    name="quick",
    scales=(Scale("quick", 10_000, 1_000, 10, 1.0, "-"),),
    poll_interval=3.0,
    latency=0.05,
    page_size=500,
    naive_histories=(10_000,),
    series_targets=(1_000,),
    scrapers=4,
    scrapes_per_scraper=5,
    render_repeats=2,
)


def _short(number: float) -> str:
    if number >= 1_000_000:
        return f"{number / 1_000_000:g}M"
    if number >= 1_000:
        return f"{number / 1_000:g}k"
    return f"{number:g}"
