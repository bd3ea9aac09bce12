"""Turn a run into its JSON document and its tables, targets beside the figures.

The JSON holds one section per cost the issue names (rows ready to print), the verdicts,
the plan, the machine and the raw measurements. The tables are rendered from the JSON
alone, so ``python -m bench --render results.json`` re-prints any committed run.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from bench.targets import CPU_RATIO_LIMIT, RSS_EVERY_TENANT_SCALE, RSS_TARGET_SCALE, WALL_SLACK, evaluate

if TYPE_CHECKING:
    from bench.naive import NaiveResult
    from bench.scenario import ScaleResult
    from bench.suite import SuiteResult

SECTIONS = ("upstream", "poll_wall_time", "cpu", "memory", "scrape_latency", "naive_baseline")
MIB = 1024 * 1024


def to_document(result: SuiteResult, command: str) -> dict[str, Any]:
    """Build the JSON document of a run."""
    exporter_per_hour = {s.history: s for s in result.scales if s.varies in ("-", "history")}
    return {
        "generated_at": result.started_at,
        "command": command,
        "duration_seconds": round(result.duration_seconds, 1),
        "machine": result.machine,
        "plan": dataclasses.asdict(result.plan),
        "sections": {
            "upstream": [_upstream(s) for s in result.scales],
            "poll_wall_time": [_wall(s) for s in result.scales],
            "cpu": [_cpu(s) for s in result.scales],
            "memory": [_memory(s) for s in result.scales],
            "scrape_latency": [_rounded(dataclasses.asdict(row)) for row in result.scrape_latency],
            "naive_baseline": [_naive(n, exporter_per_hour.get(n.history)) for n in result.naive],
        },
        "targets": [dataclasses.asdict(verdict) for verdict in evaluate(result)],
        "raw": {
            "scales": [dataclasses.asdict(s) for s in result.scales],
            "naive": [dataclasses.asdict(n) for n in result.naive],
        },
    }


def _upstream(s: ScaleResult) -> dict[str, Any]:
    pages = s.steady.by_kind.get("first_page", 0) + s.steady.by_kind.get("next_page", 0)
    return {
        "scale": s.scale,
        "varies": s.varies,
        "workload": s.label,
        "cold_requests": s.cold.requests,
        "steady_requests": s.steady.requests,
        "count_queries": s.steady.by_kind.get("count", 0),
        "listing_pages": pages,
        "formula_allowed": s.formula.allowed_requests,
        "open_items": sum(s.formula.open_items.values()),
        "completed_since_last": sum(s.formula.completed_since_last.values()),
        "steady_kib": round(s.steady.response_bytes / 1024, 1),
        "requests_per_hour": round(s.requests_per_hour, 1),
        "mib_per_hour": round(s.bytes_per_hour / MIB, 1),
        "status": "PASS" if s.steady.requests <= s.formula.allowed_requests else "MISS",
    }


def _wall(s: ScaleResult) -> dict[str, Any]:
    return {
        "scale": s.scale,
        "steady_requests": s.steady.requests,
        "longest_chain": s.steady.longest_chain,
        "chain_s": round(s.steady.chain_seconds, 2),
        "sum_s": round(s.steady.sum_seconds, 2),
        "bare_client_s": round(s.steady.reference_seconds, 2),
        "steady_wall_s": round(s.steady.wall_seconds, 2),
        "cold_requests": s.cold.requests,
        "cold_chain_s": round(s.cold.chain_seconds, 2),
        "cold_sum_s": round(s.cold.sum_seconds, 2),
        "cold_wall_s": round(s.cold.wall_seconds, 2),
        "status": "PASS" if s.steady.wall_seconds <= WALL_SLACK * s.steady.reference_seconds else "MISS",
    }


def _cpu(s: ScaleResult) -> dict[str, Any]:
    ratio = s.exporter_cpu_ms_per_1k_items / max(s.json_decode_ms_per_1k_items, 1e-9)
    return {
        "scale": s.scale,
        "items_per_cycle": s.items_per_cycle,
        "steady_requests": s.steady.requests,
        "exporter_cpu_s": round(s.steady.cpu_seconds, 2),
        "render_cpu_s": round(s.steady.render_cpu_seconds, 2),
        "exporter_ms_per_1k": round(s.exporter_cpu_ms_per_1k_items, 1),
        "json_ms_per_1k": round(s.json_decode_ms_per_1k_items, 1),
        "json_models_ms_per_1k": round(s.json_and_models_ms_per_1k_items, 1),
        "ratio": round(ratio, 2),
        "cold_cpu_s": round(s.cold.cpu_seconds, 2),
        "status": "PASS" if ratio <= CPU_RATIO_LIMIT else "MISS",
    }


def _memory(s: ScaleResult) -> dict[str, Any]:
    return {
        "scale": s.scale,
        "workload": s.label,
        "peak_rss_mb": round(s.peak_rss_bytes / 1e6, 1),
        "exposed_series": s.exposed_series,
        "acronis_up": s.exporter_up,
        "target": "< 150 MB" if s.scale in (RSS_TARGET_SCALE, RSS_EVERY_TENANT_SCALE) else "",
    }


def _naive(n: NaiveResult, ours: ScaleResult | None) -> dict[str, Any]:
    ours_per_hour = ours.requests_per_hour if ours else float("nan")
    return {
        "history": n.history,
        "naive_requests_per_scrape": n.requests_per_scrape,
        "naive_requests_per_hour": round(n.requests_per_hour),
        "naive_mib_per_hour": round(n.bytes_per_hour / MIB),
        "naive_scrape_s_at_latency": round(n.scrape_seconds_at_latency, 1),
        "exporter_requests_per_hour": round(ours_per_hour, 1),
        "exporter_mib_per_hour": round(ours.bytes_per_hour / MIB, 1) if ours else float("nan"),
        "times_fewer_requests": round(n.requests_per_hour / ours_per_hour, 1) if ours else float("nan"),
    }


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {key: round(value, 2) if isinstance(value, float) else value for key, value in row.items()}


# --- tables ------------------------------------------------------------------------------

_COLUMNS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "upstream": (
        "Upstream load, steady state (per-hour = steady cycle x 3600 / poll interval, + token renewals)",
        [
            ("scale", "scale"), ("varies", "varies"), ("cold_requests", "cold req"),
            ("steady_requests", "req/cycle"), ("count_queries", "counts"), ("listing_pages", "pages"),
            ("formula_allowed", "target <="), ("completed_since_last", "completed"),
            ("steady_kib", "KiB/cycle"),
            ("requests_per_hour", "req/hour"), ("mib_per_hour", "MiB/hour"), ("status", ""),
        ],
    ),
    "poll_wall_time": (
        (
            "Poll cycle wall time, 50 ms per request (target: about the longest chain, not the sum; "
            "bare client = the same requests, same concurrency, nothing else done)"
        ),
        [
            ("scale", "scale"), ("steady_requests", "req"), ("longest_chain", "chain"),
            ("chain_s", "chain s"), ("sum_s", "sum s"), ("bare_client_s", "bare client s"),
            ("steady_wall_s", "wall s"),
            ("cold_requests", "cold req"), ("cold_chain_s", "cold chain s"), ("cold_sum_s", "cold sum s"),
            ("cold_wall_s", "cold wall s"), ("status", ""),
        ],
    ),
    "cpu": (
        (
            f"Exporter CPU per 1,000 items, steady poll (target: <= {CPU_RATIO_LIMIT:g}x json.loads "
            "of the same bytes; the render of the first scrape after the poll is shown apart)"
        ),
        [
            ("scale", "scale"), ("items_per_cycle", "items"), ("steady_requests", "req"),
            ("exporter_cpu_s", "poll CPU s"), ("render_cpu_s", "render CPU s"),
            ("exporter_ms_per_1k", "ms/1k"), ("json_ms_per_1k", "json ms/1k"),
            ("json_models_ms_per_1k", "json+models ms/1k"),
            ("ratio", "ratio"), ("cold_cpu_s", "cold CPU s"), ("status", ""),
        ],
    ),
    "memory": (
        "Exporter peak RSS (VmHWM) after the steady cycle",
        [
            ("scale", "scale"), ("workload", "workload"), ("peak_rss_mb", "peak MB"),
            ("exposed_series", "series"), ("acronis_up", "up"), ("target", "target"),
        ],
    ),
    "scrape_latency": (
        (
            "/metrics under concurrent scrapers (synthetic snapshot in a real SnapshotStore; timed after one "
            "warm-up scrape: the first scrape after each poll also waits render/poll ms)"
        ),
        [
            ("series", "series"), ("renderer", "renderer"), ("encoding", "encoding"), ("pace", "pace"),
            ("scrapers", "scrapers"), ("scrapes", "scrapes"), ("median_ms", "median ms"),
            ("p99_ms", "p99 ms"),
            ("response_bytes", "bytes"), ("server_cpu_ms_per_scrape", "server CPU ms/scrape"),
            ("client_cpu_ms_per_scrape", "client CPU ms/scrape"), ("client_busy", "client busy"),
            ("per_scrape_cpu_ms", "1-thread ms/scrape"), ("render_once_ms", "render/poll ms"),
        ],
    ),
    "naive_baseline": (
        "Naive baseline: list every task on every scrape (15 s scrape interval)",
        [
            ("history", "history"), ("naive_requests_per_scrape", "req/scrape"),
            ("naive_requests_per_hour", "naive req/hour"), ("naive_mib_per_hour", "naive MiB/hour"),
            ("naive_scrape_s_at_latency", "scrape s @50ms"), ("exporter_requests_per_hour", "ours req/hour"),
            ("exporter_mib_per_hour", "ours MiB/hour"), ("times_fewer_requests", "x fewer req"),
        ],
    ),
}  # fmt: skip


def render_markdown(document: dict[str, Any]) -> str:
    """Render the document's tables and verdicts as Markdown (also fine as plain text)."""
    machine = document["machine"]
    run = (
        f"Run of {document['generated_at']} ({document['plan']['name']} plan, "
        f"{document['duration_seconds']:.0f} s): `{document['command']}`"
    )
    host = f"Machine: {machine['cpu_model']}, {machine['cpus']} CPUs, {machine['memory_gib']} GiB"
    lines = [run, "", f"{host}; `{machine['uname']}`", ""]
    for section in SECTIONS:
        title, columns = _COLUMNS[section]
        lines += [f"### {title}", "", *_table(columns, document["sections"][section]), ""]
    lines += ["### Targets", ""]
    lines += _table(
        [("status", "status"), ("target", "target"), ("measured", "measured")], document["targets"]
    )
    return "\n".join(lines) + "\n"


def _table(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> list[str]:
    header = [title or "status" for _, title in columns]
    body = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *body, strict=False)]
    return [
        _row(header, widths),
        _row(["-" * width for width in widths], widths),
        *(_row(cells, widths) for cells in body),
    ]


def _row(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)
