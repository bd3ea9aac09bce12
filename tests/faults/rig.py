"""The fault rig: simulator, network gate, exporter subprocess and a real Prometheus, wired up.

Each fault module shares one rig; the clock-skew module and the soak (``bench/soak.py``)
start their own. The simulator runs in this process on a manual clock, so a
test flips its faults, reads its request log and ground truth, and moves time itself:
completions only happen when the test calls ``advance``, which makes "the counters
equal the ground truth" an exact, race-free comparison. The exporter runs as operators
run it (the console script, its own process) with a 1 s poll, short timeouts and short
backoffs; it reaches the simulator through a ``NetGate`` so the API can also vanish, and
a ``BodyRewriter`` so a test can send what no simulator fault does.
Prometheus scrapes the exporter every second for as long as the rig runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from exporter.selfmetrics import SOURCES
from simulator import ManualClock, RunningSimulator, SimulatorConfig, start_simulator
from tests.faults.exposition import Exposition
from tests.faults.netgate import NetGate
from tests.faults.rewriter import BodyRewriter
from tests.support.processes import ExporterProcess, free_port, pause_for, start_exporter, wait_until
from tests.support.prometheus import PrometheusServer, start_prometheus

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

    from simulator.requestlog import RequestRecord

JOB = "exporter"
CLIENT_ID = "fault-suite-client"
# Distinctive, so that a search of everything the run produced cannot miss a leak.
CLIENT_SECRET = "cs-FAULTSUITE-7f3a9c1e-never-log-me"  # noqa: S105 - a canary, not a credential
POLL_INTERVAL = 1.0
API_TIMEOUT = 1.0
BACKOFF_MAX = 0.5
RETRY_AFTER_MAX = 3.0
# How long a check waits for the exporter: polls stretch on a loaded 2-core CI machine, and a
# wait whose condition holds ends at once, so only a failing check pays for the length.
PATIENCE = 60.0
# How often a wait re-checks the exporter: what it waits for changes at most once a poll
# (1 s). Each check scrapes and parses /metrics in this process, which also serves the
# simulator, so wait_until's default 50 ms spent most of a core starving the very polls
# it waited for; five checks a poll still see a change within a fifth of a poll.
RECHECK_PAUSE = pause_for(0.2)
# Eight requests in flight and one counted queue keep a poll short even when every
# request times out, so the slow-API scenario stays within seconds.
CONCURRENCY = 8
# Several pages per listing, so cursor faults have cursors to break; a window of
# 60 s of completions (120 at 2/s) stays well inside MAX_PAGES.
PAGE_SIZE = 30
MAX_PAGES = 20
COMPLETION_OVERLAP = 60.0

SIMULATOR = SimulatorConfig(
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
    tasks=600,
    open_tasks=80,
    tenants=8,
    seed=11,
    completion_rate=2.0,
)

# Short everything, so a fault shows within a poll or two and the suite stays fast.
EXPORTER_FLAGS: tuple[str, ...] = (
    "--api.client-id", CLIENT_ID,
    "--poll.interval", f"{POLL_INTERVAL:g}",
    "--poll.jitter", "0",
    "--api.timeout", f"{API_TIMEOUT:g}",
    "--api.connect-timeout", "1",
    "--api.max-retries", "2",
    "--api.backoff-initial", "0.1",
    "--api.backoff-max", f"{BACKOFF_MAX:g}",
    "--api.retry-after-max", f"{RETRY_AFTER_MAX:g}",
    "--api.concurrency", str(CONCURRENCY),
    "--poll.queues", "backup",
    "--api.page-size", str(PAGE_SIZE),
    "--api.max-pages", str(MAX_PAGES),
    "--poll.completion-overlap", f"{COMPLETION_OVERLAP:g}",
    "--log.format", "json",
    "--log.level", "debug",
)  # fmt: skip

TASK_SOURCES = ("task_counts", "open_tasks", "completed_tasks")
ACTIVITY_SOURCES = ("activity_counts", "open_activities", "completed_activities")


@dataclass
class Rig:
    """Everything one fault module drives, and the questions it asks of them."""

    sim: RunningSimulator
    clock: ManualClock
    gate: NetGate
    prometheus: PrometheusServer
    rewriter: BodyRewriter
    workdir: Path
    exporter_args: list[str]
    exporter: ExporterProcess = field(init=False)
    counted_since: float = 0.0  # simulator time the current exporter process started counting at
    steady_rate: float = 0.0  # API requests per second while nothing is wrong
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    # --- the exporter --------------------------------------------------------------------
    def start_exporter(self, *, port: int | None = None) -> ExporterProcess:
        """Start an exporter process against the gate and wait until it published a poll."""
        self.counted_since = self.clock.now()  # the clock is still until the test moves it
        self.exporter = start_exporter(self.exporter_args, workdir=self.workdir, port=port)
        return self.exporter

    def scrape(self) -> Exposition:
        """GET /metrics and parse it."""
        response = self._client.get(self.exporter.url + "/metrics")
        response.raise_for_status()
        return Exposition.parse(response.text)

    def wait_metrics(
        self, condition: Callable[[Exposition], bool], *, what: str, timeout: float = PATIENCE
    ) -> Exposition:
        """Scrape until ``condition`` holds; return that scrape."""
        last: list[Exposition | None] = [None]

        def attempt() -> Exposition | None:
            exposition = last[0] = self.scrape()
            return exposition if condition(exposition) else None

        try:
            return wait_until(attempt, timeout=timeout, what=what, pause=RECHECK_PAUSE)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{describe_sources(last[0])}") from None

    def wait_polled(self, sources: Sequence[str] = SOURCES, *, timeout: float = PATIENCE) -> Exposition:
        """Wait until every source in ``sources`` refreshed after this call; return that scrape."""
        since = time.time()

        def fresh(exposition: Exposition) -> bool:
            return all(last_success(exposition, source) > since for source in sources)

        return self.wait_metrics(fresh, what=f"a successful poll of {', '.join(sources)}", timeout=timeout)

    def wait_attempted(self, sources: Sequence[str], *, timeout: float = PATIENCE) -> Exposition:
        """Wait until each source settled another refresh attempt after this call; return that scrape."""
        before = self.scrape()

        def attempted(exposition: Exposition) -> bool:
            return all(refreshes(exposition, source) > refreshes(before, source) for source in sources)

        return self.wait_metrics(attempted, what=f"another refresh of {', '.join(sources)}", timeout=timeout)

    def wait_healthy(self, *, timeout: float = PATIENCE) -> Exposition:
        """Wait for a poll after this call in which every source succeeded (acronis_up 1)."""
        self.wait_polled(timeout=timeout)
        return self.wait_metrics(lambda e: e.value("acronis_up") == 1, what="acronis_up 1", timeout=timeout)

    # --- the simulated API ---------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move simulated time (and the workload with it) forward."""
        self.sim.workload.advance(seconds)

    def requests_between(self, start: float, end: float) -> list[RequestRecord]:
        """Return the API requests that arrived in [start, end) (monotonic seconds)."""
        return [entry for entry in self.sim.requests.entries() if start <= entry.at < end]

    def request_rate(self, start: float, end: float) -> float:
        """Return API requests per second in [start, end)."""
        return len(self.requests_between(start, end)) / max(end - start, 1e-9)

    def measure_steady_rate(self, polls: int = 6) -> float:
        """Measure requests per second over ``polls`` healthy polls and remember it."""
        self.wait_healthy()
        start = time.monotonic()
        for _ in range(polls):
            self.wait_polled()
        self.steady_rate = self.request_rate(start, time.monotonic())
        return self.steady_rate

    def close(self) -> None:
        """Stop everything the rig started, the exporter first."""
        with contextlib.suppress(AttributeError):
            self.exporter.stop()
        self.prometheus.stop()
        self.gate.stop()
        self.rewriter.stop()
        self.sim.stop()
        self._client.close()


def last_success(exposition: Exposition, source: str) -> float:
    """Return the source's last-success timestamp (0 before its first success)."""
    return exposition.value("acronis_exporter_last_success_timestamp_seconds", source=source) or 0.0


def refreshes(exposition: Exposition, source: str) -> float:
    """Return the refreshes of ``source`` attempted so far."""
    return exposition.value("acronis_exporter_refreshes_total", source=source) or 0.0


def source_up(exposition: Exposition, source: str) -> float | None:
    """Return 1 or 0 for the source, None if the exporter does not show it."""
    return exposition.value("acronis_exporter_source_up", source=source)


def failures(exposition: Exposition, source: str, reason: str) -> float:
    """Return the failed refreshes of ``source`` for ``reason`` so far."""
    return exposition.value("acronis_exporter_refresh_failures_total", source=source, reason=reason) or 0.0


def describe_sources(exposition: Exposition | None) -> str:
    """One line per source (up, last success, failures by reason), for assertion messages."""
    if exposition is None:
        return "no scrape yet"
    lines = [f"acronis_up={exposition.value('acronis_up')}"]
    for source in SOURCES:
        reasons = {
            labels["reason"]: value
            for labels, value in exposition.matching("acronis_exporter_refresh_failures_total", source=source)
        }
        up, since = source_up(exposition, source), last_success(exposition, source)
        lines.append(f"{source}: up={up} last_success={since:.3f} failures={reasons}")
    return "\n".join(lines)


@contextlib.contextmanager
def running_rig(
    workdir: Path,
    *,
    simulator: SimulatorConfig = SIMULATOR,
    clock_offset: float = 0.0,
    flags: Sequence[str] = EXPORTER_FLAGS,
    extra_args: Sequence[str] = (),
) -> Iterator[Rig]:
    """Start simulator, gate, exporter and Prometheus; stop them all on exit.

    ``clock_offset`` puts the simulator's clock that many seconds ahead of (or, negative,
    behind) the exporter's, for the clock-skew scenarios. ``flags`` replaces the suite's
    short timings (the soak runs with its own); ``extra_args`` adds to them.
    """
    clock = ManualClock(start=time.time() + clock_offset)
    sim = start_simulator(simulator, clock=clock)
    rewriter = BodyRewriter(("127.0.0.1", sim.port))  # a plain relay until a test sets a rule
    gate = NetGate(("127.0.0.1", rewriter.port))
    secret_file = workdir / "client-secret"
    secret_file.write_text(simulator.client_secret + "\n")
    secret_file.chmod(0o600)
    args = ["--api.url", gate.url, "--api.client-secret-file", str(secret_file), *flags, *extra_args]
    rig: Rig | None = None
    try:
        exporter_port = free_port()  # chosen first, so Prometheus' config can name it
        prometheus = start_prometheus({JOB: [f"127.0.0.1:{exporter_port}"]}, workdir=workdir / "prometheus")
        rig = Rig(sim, clock, gate, prometheus, rewriter, workdir, args)
        rig.start_exporter(port=exporter_port)
        prometheus.wait_for_targets_up()
        yield rig
    finally:
        if rig is not None:
            rig.close()
        else:
            gate.stop()
            rewriter.stop()
            sim.stop()


def with_simulator(**overrides: object) -> SimulatorConfig:
    """Return SIMULATOR with some fields replaced."""
    return dataclasses.replace(SIMULATOR, **overrides)  # type: ignore[arg-type]
