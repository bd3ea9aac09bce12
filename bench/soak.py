"""``python -m bench.soak`` (``make soak``): the exporter for a long while, faults cycling.

    python -m bench.soak                 # 30 minutes
    python -m bench.soak --minutes 3     # a short run that proves the harness

A busy simulator (on a clock that keeps pace with the wall) feeds one exporter process
through the fault rig of ``tests/faults``, with a real Prometheus scraping it every second.
Every fault of ``tests.faults.catalog`` is switched on in turn, then healed, round after
round. Throughout, the exporter's RSS, open file descriptors and threads are sampled from
/proc, and a second scraper checks every /metrics answer. At the end the clock stops, the
exporter catches up, and its figures are compared with the simulator's ground truth.

The report (``bench/results/soak.json`` and a table on stdout) says whether memory, files
and threads stayed flat, how many scrapes failed (must be 0) and how far the counters
drifted from the truth (must be 0). Flatness is judged after a warm-up: the first full
round of faults. A Python process's resident set is set by its largest burst (CPython
keeps an arena of small objects while any object in it lives, so a burst's high-water
mark stays), and every kind of burst the exporter meets (the catch-up after an outage,
a listing walked to the page budget) happens in that round; a leak shows as growth over
the rounds after it. The warm-up also fills the completion window with remembered ids.
Never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.procstat import machine_description, usage
from tests.faults.catalog import Fault, catalog
from tests.faults.rig import JOB, running_rig, with_simulator
from tests.faults.truth import all_differences
from tests.faults.watch import ScrapeWatch
from tests.support.processes import WaitTimeoutError, wait_until

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tests.faults.rig import Rig

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLE_SECONDS = 10.0
COMPLETION_OVERLAP = 120.0
MIN_JUDGED_SAMPLES = 8
TIMEOUT = 5.0
# Busy: thousands of open tasks, five completions a second (some written up to 30 s late).
# Few enough tenants that every label combination shows up during the warm-up: series
# that keep appearing would grow memory for a reason that is not a leak.
SIMULATOR = with_simulator(
    tasks=20_000, open_tasks=2_000, tenants=20, completion_rate=5.0, late_write_max=30.0, seed=23
)
FLAGS = (
    "--api.client-id", "fault-suite-client",
    "--poll.interval", "5",
    "--api.timeout", f"{TIMEOUT:g}",
    "--api.connect-timeout", "2",
    "--api.backoff-initial", "0.5",
    "--api.backoff-max", "5",
    "--api.retry-after-max", "10",
    "--poll.completion-overlap", f"{COMPLETION_OVERLAP:g}",  # well above the 30 s late writes
    "--log.format", "json",
    "--log.level", "warning",
)  # fmt: skip


@dataclass(frozen=True)
class Sample:
    """The exporter process at one instant."""

    seconds: float  # since the soak began
    rss_mib: float
    fds: int
    threads: int
    series: int  # samples on /metrics: growth here is new label values, not a leak


@dataclass
class Report:
    """Everything the soak measured; written as JSON, printed as a table."""

    started_at: str
    wall_began: float
    minutes: float
    machine: dict[str, str | int]
    samples: list[Sample] = field(default_factory=list)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    scrapes: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, list[str]] = field(default_factory=dict)
    warmup_seconds: float | None = None  # the first round of faults; resources are judged after it
    rss_trend: dict[str, float] = field(default_factory=dict)  # after the warm-up
    verdicts: dict[str, bool | None] = field(default_factory=dict)  # None: run too short to tell


class ClockDriver:
    """Keeps the simulator's manual clock in step with the wall until stopped (then it freezes)."""

    def __init__(self, rig: Rig, tick: float = 0.5) -> None:
        self._rig, self._tick = rig, tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clock-driver", daemon=True)

    def start(self) -> None:
        """Start moving the clock."""
        self._thread.start()

    def stop(self) -> None:
        """Freeze the clock where it is."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self._tick):
            now = time.monotonic()
            self._rig.advance(now - last)
            last = now


def sample(rig: Rig, since: float) -> Sample:
    """Read RSS, open descriptors and threads of the exporter from /proc, and count its series."""
    pid = rig.exporter.process.pid
    proc = Path(f"/proc/{pid}")
    return Sample(
        seconds=round(time.monotonic() - since, 1),
        rss_mib=round(usage(pid).rss_bytes / 2**20, 1),
        fds=len(list((proc / "fd").iterdir())),
        threads=len(list((proc / "task").iterdir())),
        series=len(rig.scrape().samples),
    )


@dataclass
class Episodes:
    """Plays faults one after another, each ``on`` seconds then ``calm`` healed, sampling throughout."""

    rig: Rig
    report: Report
    on: float
    calm: float
    began: float = field(default_factory=time.monotonic)
    _pause: threading.Event = field(default_factory=threading.Event)  # never set: a waitable pause

    def play(self, fault: Fault) -> None:
        """Switch one fault on, heal it, let the calm pass; record the request rates of both."""
        rig = self.rig
        start, wall_start = time.monotonic(), time.time()
        fault.switch_on(rig)
        self._sample_until(start + self.on)
        rig.sim.faults.clear()
        rig.gate.admit()
        healed, wall_healed = time.monotonic(), time.time()
        self._sample_until(healed + self.calm)
        during = rig.request_rate(start, healed)
        steady = rig.request_rate(healed + self.calm / 2, time.monotonic())  # once recovery settled
        rig.sim.requests.clear()  # the log serves one episode; a long soak must not hoard it
        self.report.episodes.append(
            {
                "fault": fault.name,
                "wall": [
                    round(wall_start, 1),
                    round(wall_healed, 1),
                    round(time.time(), 1),
                ],  # on, healed, end
                "requests_per_s_fault": round(during, 2),
                "requests_per_s_after": round(steady, 2),
            }
        )
        print(f"  {fault.name:<36} {during:6.1f} req/s during, {steady:6.1f} after", flush=True)

    def _sample_until(self, deadline: float) -> None:
        while (left := deadline - time.monotonic()) > 0:
            self.report.samples.append(sample(self.rig, self.began))
            self._pause.wait(min(left, SAMPLE_SECONDS))


def prometheus_scrapes(rig: Rig, start: float, end: float) -> dict[str, Any]:
    """Ask Prometheus how its scrapes of the exporter went over [start, end] (unix seconds)."""
    span = f"{int(end - start) + 1}s"

    def value(promql: str) -> float:
        result = rig.prometheus.query(promql, at=end)
        return result[0].value if result else 0.0

    total = value(f'count_over_time(up{{job="{JOB}"}}[{span}])')
    good = value(f'sum_over_time(up{{job="{JOB}"}}[{span}])')
    slowest = value(f'max_over_time(scrape_duration_seconds{{job="{JOB}"}}[{span}])')
    failed = rig.prometheus.query_range(f'up{{job="{JOB}"}} == 0', start=start, end=end, step=1.0)
    failed_at = sorted({round(at) for series in failed for at, _ in series.points})
    return {
        "scrapes": int(total),
        "failed": int(total - good),
        "failed_at": failed_at,  # unix seconds, to find the episode they fell in
        "slowest_seconds": round(slowest, 4),
    }


def episode_at(report: Report, moment: float) -> str:
    """Name the episode a moment (unix seconds) fell in: a fault, or the calm after one."""
    for episode in report.episodes:
        on, healed, end = episode["wall"]
        if on <= moment < end:
            return episode["fault"] if moment < healed else f"calm after {episode['fault']}"
    return "outside the episodes"


def flat(values: Sequence[float], *, tolerance: float) -> bool | None:
    """Tell whether the last quarter's median stays within ``tolerance`` of the first quarter's.

    None when there are too few samples to tell.
    """
    if len(values) < MIN_JUDGED_SAMPLES:
        return None
    quarter = len(values) // 4
    return statistics.median(values[-quarter:]) <= statistics.median(values[:quarter]) + tolerance


def judge(report: Report, watch_failures: int, decreases: int) -> None:
    """Fill in the verdicts: flat resources after the warm-up, no failed scrape, no decrease, no drift."""
    warm = report.warmup_seconds
    steady = [] if warm is None else [s for s in report.samples if s.seconds >= warm]
    rss = [s.rss_mib for s in steady]
    if len(rss) >= MIN_JUDGED_SAMPLES:
        quarter = len(rss) // 4
        slope = statistics.linear_regression([s.seconds for s in steady], rss).slope
        report.rss_trend = {
            "first_quarter_median_mib": round(statistics.median(rss[:quarter]), 1),
            "last_quarter_median_mib": round(statistics.median(rss[-quarter:]), 1),
            "slope_mib_per_hour": round(slope * 3600, 1),
        }
    report.verdicts = {
        "rss_flat": flat(rss, tolerance=max(2.0, 0.05 * statistics.median(rss))) if rss else None,
        "fds_flat": flat([s.fds for s in steady], tolerance=2),
        "threads_flat": flat([s.threads for s in steady], tolerance=2),
        "no_failed_scrape": report.scrapes["failed"] == 0 and watch_failures == 0,
        "no_counter_decrease": decreases == 0,
        "no_drift": report.drift == {},
    }


def soak(minutes: float, *, on: float, calm: float) -> Report:
    """Run the soak and return its report."""
    report = Report(
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.time(), minutes, machine_description()
    )
    with (
        tempfile.TemporaryDirectory(prefix="soak-") as workdir,
        running_rig(Path(workdir), simulator=SIMULATOR, flags=FLAGS) as rig,
    ):
        driver = ClockDriver(rig)
        driver.start()
        episodes = Episodes(rig, report, on, calm)
        faults = catalog(TIMEOUT)
        with ScrapeWatch(rig.exporter.url + "/metrics", period=1.0) as watch:
            played = 0
            while time.monotonic() - episodes.began < minutes * 60:
                episodes.play(faults[played % len(faults)])
                played += 1
                if played == len(faults):
                    report.warmup_seconds = round(time.monotonic() - episodes.began, 1)
            driver.stop()  # freeze the clock, so the truth stops moving
            rig.wait_healthy(timeout=120.0)
            report.drift = settle(rig)
        seen = watch.report()
        report.scrapes = prometheus_scrapes(rig, report.wall_began, time.time())
        report.scrapes.update(watch_failures=len(seen.failures), watch_slowest_seconds=round(seen.slowest, 4))
        judge(report, len(seen.failures), len(seen.decreases))
    return report


def settle(rig: Rig, timeout: float = 120.0) -> dict[str, list[str]]:
    """Wait for the exporter's figures to equal the ground truth; return what still differs."""
    last: dict[str, list[str]] = {}

    def equal() -> bool:
        last.clear()
        last.update(all_differences(rig, rig.scrape()))
        return not last

    try:
        wait_until(equal, timeout=timeout, what="figures equal to the ground truth")
    except WaitTimeoutError:
        return last
    return {}


def print_table(report: Report) -> None:
    """Print the resource timeline (a row a minute) and the verdicts."""
    print(f"\nsoak {report.started_at}, {report.minutes:g} min, {report.machine['cpu_model']}")
    print(f"{'minute':>6} {'RSS MiB':>8} {'fds':>5} {'threads':>7} {'series':>7}")
    shown = -1
    for s in report.samples:
        if int(s.seconds // 60) > shown:
            shown = int(s.seconds // 60)
            print(f"{shown:>6} {s.rss_mib:>8.1f} {s.fds:>5} {s.threads:>7} {s.series:>7}")
    warmup = report.warmup_seconds
    warm = "never: not one full round" if warmup is None else f"{warmup / 60:.1f} min"
    print(f"warm-up (the first round of faults): {warm}; RSS after it: {report.rss_trend}")
    print(f"scrapes: {report.scrapes}")
    for moment in report.scrapes.get("failed_at", []):
        minute = (moment - report.wall_began) / 60
        print(f"  failed scrape at minute {minute:.1f}: {episode_at(report, moment)}")
    print(f"counter drift vs ground truth: {sum(len(v) for v in report.drift.values())} groups")
    too_short = f"n/a: needs {MIN_JUDGED_SAMPLES} samples after the first round of faults"
    for name, verdict in report.verdicts.items():
        print(f"  {name:<22} {too_short if verdict is None else 'ok' if verdict else 'FAILED'}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak, write bench/results/soak.json, print the table; exit 1 if a verdict failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to run (default 30)")
    parser.add_argument("--fault-seconds", type=float, default=20.0, help="how long each fault lasts")
    parser.add_argument("--calm-seconds", type=float, default=25.0, help="healthy time after each fault")
    parser.add_argument("--out", type=Path, default=RESULTS / "soak.json", help="where to write the JSON")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the exporter and Prometheus are stopped, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    print(f"soaking for {args.minutes:g} minutes; faults in turn:", flush=True)
    report = soak(args.minutes, on=args.fault_seconds, calm=args.calm_seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    print_table(report)
    return 1 if False in report.verdicts.values() else 0


if __name__ == "__main__":
    sys.exit(main())
