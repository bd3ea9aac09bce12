"""One scale, end to end: simulator, exporter process, a cold and a steady poll cycle.

The first cycle walks everything the exporter has not seen (the baseline); the second,
one poll interval later, is the steady state every later cycle repeats. The steady
cycle's requests, bytes, wall time, CPU and the exporter's peak RSS are what the table
reports; the simulator's ground truth gives the request formula they are held against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench import procstat
from bench.cycles import Cycle, CycleWatcher, WatchedExporter
from bench.exporter_process import ExporterOptions, running_exporter
from bench.reference_walk import reference_wall_seconds
from bench.replay import Credentials, Replay, replay
from exporter.config import ApiSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from bench.scales import Plan, Scale
    from simulator import RunningSimulator
    from simulator.truth import Kind

KINDS: tuple[Kind, ...] = ("tasks", "activities")
_DEFAULTS = ApiSettings()  # the exporter runs with its default concurrency and token margin
_EXTRA_WAIT_SECONDS = 120.0  # how much longer than a poll interval a cycle may take to show up


@dataclass(frozen=True)
class CycleFigures:
    """What one cycle cost the API, the clock and the exporter."""

    requests: int
    response_bytes: int
    by_kind: dict[str, int]
    by_resource: dict[str, int]
    longest_chain: int
    wall_seconds: float
    chain_seconds: float  # longest chain x latency: the floor with unlimited concurrency and a free server
    sum_seconds: float  # every request x latency: the cost with no concurrency at all
    reference_seconds: float  # a bare client sending the same requests with the same concurrency
    cpu_seconds: float  # the poll: requests, parsing, grouping, the snapshot
    render_cpu_seconds: float  # the first scrape after the poll, which renders its exposition


@dataclass(frozen=True)
class RequestFormula:
    """The issue's bound: count queries + one page per limit of open and of newly completed items."""

    count_queries: int
    open_items: Mapping[str, int]
    completed_since_last: Mapping[str, int]
    limit: int
    allowed_requests: int  # counts + max(1, ceil(n/limit)) per listing: an empty listing still costs a page


@dataclass(frozen=True)
class ScaleResult:
    """Everything measured at one scale."""

    scale: str
    label: str
    varies: str
    history: int
    open_tasks: int
    tenants: int
    completion_rate: float
    cold: CycleFigures
    steady: CycleFigures
    formula: RequestFormula
    requests_per_hour: float
    bytes_per_hour: float
    items_per_cycle: int
    exporter_cpu_ms_per_1k_items: float
    json_decode_ms_per_1k_items: float
    json_and_models_ms_per_1k_items: float  # json.loads + exporter.models parsing of every item
    peak_rss_bytes: int
    exporter_up: float  # acronis_up after the steady cycle: 1 means both cycles were good
    exposed_series: int


def run_scale(
    sim: RunningSimulator, scale: Scale, plan: Plan, *, on_idle: Callable[[], None] = lambda: None
) -> ScaleResult:
    """Run the exporter against `sim` for a cold and a steady cycle; measure both.

    `on_idle` runs once the cold cycle is over, while the exporter waits a poll interval
    for the steady one: the suite builds the next simulator then.
    """
    with running_exporter(_options(sim, scale, plan)) as exporter:
        watcher = CycleWatcher(sim.requests, WatchedExporter(exporter.pid, exporter.log_path, exporter.url))
        cold = watcher.next_cycle(timeout=plan.poll_interval + _EXTRA_WAIT_SECONDS)
        on_idle()
        steady = watcher.next_cycle(timeout=plan.poll_interval + _EXTRA_WAIT_SECONDS)
        exporter.check_alive()
        peak_rss = procstat.usage(exporter.pid).peak_rss_bytes
        up, series = _exporter_view(exporter.url)
        formula = _formula(sim, steady, cold, plan.page_size)
    # The exporter is stopped first: its next poll must not overlap the replay and the reference.
    measured = _Measured(
        cold=cold,
        steady=steady,
        formula=formula,
        replayed=_replay_without_latency(sim, steady, plan.latency),
        reference_seconds=_reference(sim, steady),
        peak_rss=peak_rss,
        up=up,
        series=series,
        tokens_per_hour=3600 / (sim.config.token_lifetime - _DEFAULTS.token_refresh_margin),
    )
    return _result(scale, plan, measured)


def _options(sim: RunningSimulator, scale: Scale, plan: Plan) -> ExporterOptions:
    return ExporterOptions(
        api_url=sim.url,
        client_id=sim.config.client_id,
        client_secret=sim.config.client_secret,
        poll_interval=plan.poll_interval,
        page_size=plan.page_size,
        max_tenants=scale.tenant_cap,
    )


@dataclass(frozen=True)
class _Measured:
    """The raw measurements of one scale, before they become the reported figures."""

    cold: Cycle
    steady: Cycle
    formula: RequestFormula
    replayed: Replay
    reference_seconds: float
    peak_rss: int
    up: float
    series: int
    tokens_per_hour: float


def _result(scale: Scale, plan: Plan, measured: _Measured) -> ScaleResult:
    steady = measured.steady
    cycles_per_hour = 3600 / plan.poll_interval
    return ScaleResult(
        scale=scale.name,
        label=scale.label,
        varies=scale.varies,
        history=scale.history,
        open_tasks=scale.open_tasks,
        tenants=scale.tenants,
        completion_rate=scale.completion_rate,
        cold=_figures(measured.cold, plan, reference=math.nan),  # only the steady cycle is replayed
        steady=_figures(steady, plan, reference=measured.reference_seconds),
        formula=measured.formula,
        requests_per_hour=steady.traffic.requests * cycles_per_hour + measured.tokens_per_hour,
        bytes_per_hour=steady.traffic.response_bytes * cycles_per_hour,
        items_per_cycle=steady.items,
        # Each figure per its own item count: the replay runs a moment later and may see a few more.
        exporter_cpu_ms_per_1k_items=_per_1k(steady.cpu_seconds, steady.items),
        json_decode_ms_per_1k_items=_per_1k(measured.replayed.decode_cpu_seconds, measured.replayed.items),
        json_and_models_ms_per_1k_items=_per_1k(measured.replayed.parse_cpu_seconds, measured.replayed.items),
        peak_rss_bytes=measured.peak_rss,
        exporter_up=measured.up,
        exposed_series=measured.series,
    )


def _per_1k(cpu_seconds: float, items: int) -> float:
    """Milliseconds of CPU per 1,000 items."""
    return cpu_seconds / max(items, 1) * 1_000_000


def _figures(cycle: Cycle, plan: Plan, *, reference: float) -> CycleFigures:
    traffic = cycle.traffic
    return CycleFigures(
        requests=traffic.requests,
        response_bytes=traffic.response_bytes,
        by_kind=traffic.by_kind,
        by_resource=traffic.by_resource,
        longest_chain=traffic.longest_chain,
        wall_seconds=cycle.wall_seconds,
        chain_seconds=traffic.longest_chain * plan.latency,
        sum_seconds=traffic.requests * plan.latency,
        reference_seconds=reference,
        cpu_seconds=cycle.cpu_seconds,
        render_cpu_seconds=cycle.render_cpu_seconds,
    )


def _formula(sim: RunningSimulator, steady: Cycle, previous: Cycle, limit: int) -> RequestFormula:
    open_items: dict[str, int] = {kind: len(sim.truth.open_items(kind)) for kind in KINDS}
    completed: dict[str, int] = {
        kind: len(
            sim.truth.completions(
                kind, written_after=previous.started_unix, written_until=steady.started_unix
            )
        )
        for kind in KINDS
    }
    count_queries = steady.traffic.by_kind.get("count", 0)
    pages = sum(max(1, math.ceil(n / limit)) for n in (*open_items.values(), *completed.values()))
    return RequestFormula(count_queries, open_items, completed, limit, count_queries + pages)


def _replay_without_latency(sim: RunningSimulator, cycle: Cycle, latency: float) -> Replay:
    sim.faults.latency(0.0)  # the replay measures bytes and decoding, not waiting
    try:
        credentials = Credentials(sim.config.client_id, sim.config.client_secret)
        return replay(sim.url, credentials, cycle.traffic.walks())
    finally:
        sim.faults.latency(latency)


def _reference(sim: RunningSimulator, cycle: Cycle) -> float:
    """Wall time of the same requests from a bare client, longest walks first."""
    credentials = Credentials(sim.config.client_id, sim.config.client_secret)
    return reference_wall_seconds(sim.url, credentials, cycle.traffic.walks(), _DEFAULTS.concurrency)


def _exporter_view(url: str) -> tuple[float, int]:
    """Read acronis_up and the number of series from one scrape, after the CPU window."""
    text = httpx.get(f"{url}/metrics", timeout=30.0).text
    up, series = math.nan, 0
    for family in text_string_to_metric_families(text):
        series += len(family.samples)
        if family.name == "acronis_up":
            up = family.samples[0].value
    return up, series
