"""The issue's targets, each held against the figures of one run: PASS, MISS or N/A.

Every verdict carries the measured figure and, on a miss, by how much; the reasons a
target is missed belong in bench/RESULTS.md, where a person has read the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from bench.scenario import ScaleResult
    from bench.scrape_latency import ScrapeLatencyRow
    from bench.suite import SuiteResult

Status = Literal["PASS", "MISS", "N/A"]

RSS_LIMIT_BYTES = 150 * 1_000_000  # "under 150 MB"
RSS_TARGET_SCALE = "open-20k-tenants-5k-cap-100"  # the exporter as shipped: 100 tenants keep series
RSS_EVERY_TENANT_SCALE = "open-20k-tenants-5k"  # --metrics.max-tenants 5000: 110k series
SCRAPE_P99_LIMIT_MS = 10.0
SCRAPE_CPU_LIMIT_MS = 0.4  # issue 16: the serving process's CPU per scrape
SCRAPE_P99_SERIES = 10_000
_BACK_TO_BACK = "back to back"  # the verdicts use the harshest load; paced rows are context
CPU_RATIO_LIMIT = 1.0  # issue 16 (issue 5 allowed 2x)
WALL_SLACK = 1.5  # a cycle may take this many times its critical path and still be "about" it
HISTORY_BYTES_SPREAD = 1.25  # steady bytes may differ this much across histories (completions vary)
RSS_HISTORY_SPREAD = 1.15


@dataclass(frozen=True)
class Verdict:
    """One target against the run."""

    id: str
    target: str
    measured: str
    status: Status


def evaluate(result: SuiteResult) -> list[Verdict]:
    """Hold every target against `result`."""
    scales = result.scales
    return [
        _history_independence(scales),
        _per_scale("requests_within_formula", _FORMULA, scales, _within_formula),
        _per_scale("cycle_about_longest_chain", _CHAIN, scales, _about_chain),
        _per_scale("cpu_within_twice_decode", _CPU, scales, _within_decode),
        _rss_target(scales, RSS_TARGET_SCALE, "rss_under_150mb", "the default tenant cap (100)"),
        _rss_target(scales, RSS_EVERY_TENANT_SCALE, "rss_under_150mb_every_tenant", "every tenant kept"),
        _rss_history(scales),
        _scrape_p99(result.scrape_latency),
        _scrape_cpu(result.scrape_latency),
        _faster_than_default(result.scrape_latency),
    ]


_FORMULA = "steady requests per cycle <= counts + ceil(open/limit) + ceil(completed since last cycle/limit)"
_CHAIN = (
    f"steady cycle wall time <= {WALL_SLACK}x a bare client's sending the same requests with the same "
    "concurrency (the longest chain, as far as the server allows), not the sum of all requests"
)
_CPU = f"exporter CPU per 1k items <= {CPU_RATIO_LIMIT:g}x json.loads of the same bytes"


def _within_formula(scale: ScaleResult) -> tuple[bool, str]:
    return scale.steady.requests <= scale.formula.allowed_requests, (
        f"{scale.steady.requests} req (allowed {scale.formula.allowed_requests})"
    )


def _about_chain(scale: ScaleResult) -> tuple[bool, str]:
    cycle = scale.steady
    return cycle.wall_seconds <= WALL_SLACK * cycle.reference_seconds, (
        f"{cycle.wall_seconds:.2f}s vs bare {cycle.reference_seconds:.2f}s, chain {cycle.chain_seconds:.2f}s,"
        f" sum {cycle.sum_seconds:.2f}s"
    )


def _within_decode(scale: ScaleResult) -> tuple[bool, str]:
    return _cpu_ratio(scale) <= CPU_RATIO_LIMIT, f"{_cpu_ratio(scale):.1f}x"


def _cpu_ratio(scale: ScaleResult) -> float:
    return scale.exporter_cpu_ms_per_1k_items / max(scale.json_decode_ms_per_1k_items, 1e-9)


def _per_scale(
    target_id: str,
    target: str,
    scales: Sequence[ScaleResult],
    check: Callable[[ScaleResult], tuple[bool, str]],
) -> Verdict:
    """PASS when every scale passes; the measured text names each scale's figure."""
    if not scales:
        return Verdict(target_id, target, "no scale ran", "N/A")
    outcomes = [(scale.scale, *check(scale)) for scale in scales]
    measured = "; ".join(f"{name}: {text}{'' if ok else ' MISS'}" for name, ok, text in outcomes)
    return Verdict(target_id, target, measured, "PASS" if all(ok for _, ok, _ in outcomes) else "MISS")


def _history_scales(scales: Sequence[ScaleResult]) -> list[ScaleResult]:
    """Return the baseline and the scales that differ from it in history only."""
    baseline = next((s for s in scales if s.varies == "-"), None)
    if baseline is None:
        return []
    same = [
        s
        for s in scales
        if (s.open_tasks, s.tenants, s.completion_rate)
        == (baseline.open_tasks, baseline.tenants, baseline.completion_rate)
    ]
    return sorted(same, key=lambda s: s.history)


def _history_independence(scales: Sequence[ScaleResult]) -> Verdict:
    target = "steady requests and bytes per cycle do not grow with history (10k, 100k, 1M tasks)"
    same = _history_scales(scales)
    if len(same) < 2:
        return Verdict("independent_of_history", target, "fewer than two history sizes ran", "N/A")
    requests = [s.steady.requests for s in same]
    sizes = [s.steady.response_bytes for s in same]
    ok = max(requests) - min(requests) <= 1 and max(sizes) <= HISTORY_BYTES_SPREAD * min(sizes)
    measured = ", ".join(
        f"{s.history:,} hist: {s.steady.requests} req / {s.steady.response_bytes / 1024:,.0f} KiB"
        for s in same
    )
    return Verdict("independent_of_history", target, measured, "PASS" if ok else "MISS")


def _rss_target(scales: Sequence[ScaleResult], name: str, target_id: str, how: str) -> Verdict:
    target = f"peak RSS < 150 MB at 20,000 open tasks and 5,000 tenants, {how}"
    scale = next((s for s in scales if s.scale == name), None)
    if scale is None:
        return Verdict(target_id, target, f"scale {name} did not run", "N/A")
    rss = scale.peak_rss_bytes
    over = "" if rss < RSS_LIMIT_BYTES else f" ({rss / RSS_LIMIT_BYTES - 1:+.0%} over)"
    measured = f"{rss / 1e6:.0f} MB{over}, {scale.exposed_series:,} series"
    return Verdict(target_id, target, measured, "PASS" if rss < RSS_LIMIT_BYTES else "MISS")


def _rss_history(scales: Sequence[ScaleResult]) -> Verdict:
    target = "peak RSS grows with open tasks and label sets, not with history"
    same = _history_scales(scales)
    if len(same) < 2:
        return Verdict("rss_not_history", target, "fewer than two history sizes ran", "N/A")
    low, high = same[0], same[-1]
    ok = high.peak_rss_bytes <= RSS_HISTORY_SPREAD * low.peak_rss_bytes
    measured = ", ".join(f"{s.history:,} hist: {s.peak_rss_bytes / 1e6:.0f} MB" for s in (low, high))
    return Verdict("rss_not_history", target, measured, "PASS" if ok else "MISS")


def _harshest_10k(rows: Sequence[ScrapeLatencyRow]) -> ScrapeLatencyRow | None:
    return next(
        (
            r
            for r in rows
            if (r.series_target, r.renderer, r.encoding, r.pace)
            == (SCRAPE_P99_SERIES, "exporter", "gzip", _BACK_TO_BACK)
        ),
        None,
    )


def _scrape_cpu(rows: Sequence[ScrapeLatencyRow]) -> Verdict:
    target = f"server CPU per /metrics scrape <= {SCRAPE_CPU_LIMIT_MS:g} ms at 10,000 series, 20 scrapers"
    row = _harshest_10k(rows)
    if row is None:
        return Verdict("scrape_cpu_10k", target, "10,000 series were not measured", "N/A")
    ok = row.server_cpu_ms_per_scrape <= SCRAPE_CPU_LIMIT_MS
    measured = f"{row.server_cpu_ms_per_scrape:.2f} ms (rendering alone {row.per_scrape_cpu_ms:.3f} ms)"
    return Verdict("scrape_cpu_10k", target, measured, "PASS" if ok else "MISS")


def _scrape_p99(rows: Sequence[ScrapeLatencyRow]) -> Verdict:
    target = (
        f"/metrics p99 < {SCRAPE_P99_LIMIT_MS:g} ms at 10,000 series under 20 concurrent scrapers"
        " (asking for gzip, as Prometheus does)"
    )
    row = _harshest_10k(rows)
    if row is None:
        return Verdict("scrape_p99_10k", target, "10,000 series were not measured", "N/A")
    ok = row.p99_ms < SCRAPE_P99_LIMIT_MS
    over = "" if ok else f" ({row.p99_ms / SCRAPE_P99_LIMIT_MS:.1f}x the target)"
    return Verdict(
        "scrape_p99_10k",
        target,
        f"p99 {row.p99_ms:.1f} ms, median {row.median_ms:.1f} ms{over}",
        "PASS" if ok else "MISS",
    )


def _faster_than_default(rows: Sequence[ScrapeLatencyRow]) -> Verdict:
    target = "/metrics faster than prometheus_client's default rendering of the same series"
    pairs = []
    for row in rows:
        if (row.renderer, row.encoding, row.pace) != ("exporter", "gzip", _BACK_TO_BACK):
            continue
        default = next(
            (
                r
                for r in rows
                if (r.series_target, r.renderer, r.encoding) == (row.series_target, "default", "gzip")
            ),
            None,
        )
        if default is not None:
            pairs.append((row, default))
    if not pairs:
        return Verdict("faster_than_default", target, "no size measured both renderers", "N/A")
    ok = all(_faster(ours, theirs) for ours, theirs in pairs)
    measured = "; ".join(
        f"{ours.series:,} series: median {ours.median_ms:.1f} vs {_ms(theirs.median_ms)}, "
        f"p99 {ours.p99_ms:.1f} vs {_ms(theirs.p99_ms)}"
        for ours, theirs in pairs
    )
    return Verdict("faster_than_default", target, measured, "PASS" if ok else "MISS")


def _faster(ours: ScrapeLatencyRow, theirs: ScrapeLatencyRow) -> bool:
    if math.isnan(theirs.median_ms):  # the default finished no scrape in the whole run
        return not math.isnan(ours.median_ms)
    return ours.median_ms < theirs.median_ms and ours.p99_ms < theirs.p99_ms


def _ms(value: float) -> str:
    return "no scrape finished" if math.isnan(value) else f"{value:.1f} ms"
