"""What every fault scenario must show, as reusable checks.

``scenario(rig)`` wraps one scenario: a ``ScrapeWatch`` hits /metrics four times a second
throughout, and on exit the window is checked twice over: by the watcher (no failed or
slow scrape, no counter that went down) and by Prometheus (``up`` never 0, no counter
reset, scrapes kept coming). Inside, the test marks when its fault began and ended, so
the request rate during the fault can be compared with the steady rate.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from exporter.selfmetrics import SOURCES
from tests.faults.rig import (
    JOB,
    PATIENCE,
    POLL_INTERVAL,
    RECHECK_PAUSE,
    Rig,
    failures,
    last_success,
    source_up,
)
from tests.faults.truth import assert_counts_exact
from tests.faults.watch import ScrapeWatch, WatchReport
from tests.support.processes import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from tests.faults.exposition import Exposition
    from tests.support.prometheus import PrometheusServer

# Prometheus gives up on a scrape after its scrape_timeout, which the rig sets to 1 s.
SCRAPE_TIMEOUT = 1.0
_CUMULATIVE = '__name__=~".+_total|.+_bucket|.+_count|.+_sum"'


@dataclass
class Scenario:
    """One scenario's span and fault marks, on the wall clock and the monotonic one."""

    rig: Rig
    wall_start: float = field(default_factory=time.time)
    fault_start: float = 0.0  # monotonic, as in the simulator's request log
    fault_end: float = 0.0
    watch: WatchReport | None = None

    def inject(self) -> float:
        """Mark the moment the fault is switched on; return it (monotonic)."""
        self.fault_start = time.monotonic()
        return self.fault_start

    def clear(self) -> None:
        """Switch every simulator fault off and mark the end of the fault."""
        self.rig.sim.faults.clear()
        self.rig.rewriter.clear()
        self.rig.gate.admit()
        self.fault_end = time.monotonic()

    def assert_no_extra_load(self) -> None:
        """Assert that the fault did not make the exporter send more requests per second.

        A window that is not aligned with the polls may catch one poll more than its length
        implies, so the allowance is the steady rate over the window plus one poll interval.
        """
        assert self.fault_end > self.fault_start, "mark the fault with inject() and clear()"
        window = self.fault_end - self.fault_start
        sent = len(self.rig.requests_between(self.fault_start, self.fault_end))
        allowed = self.rig.steady_rate * (window + POLL_INTERVAL)
        assert sent <= allowed, (
            f"{sent} requests in {window:.1f}s of fault ({sent / window:.1f}/s); "
            f"steady state sends {self.rig.steady_rate:.1f}/s"
        )


@contextlib.contextmanager
def scenario(rig: Rig) -> Iterator[Scenario]:
    """Watch /metrics around one scenario and check the window when it ends without error.

    A scenario starts from a healthy exporter, so that one that failed half-way cannot
    make the next one fail too.
    """
    rig.wait_metrics(lambda now: now.value("acronis_up") == 1, what="a healthy exporter", timeout=90.0)
    current = Scenario(rig)
    watch = ScrapeWatch(rig.exporter.url + "/metrics").start()
    try:
        yield current
    finally:
        current.watch = watch.stop()
        rig.sim.faults.clear()  # a failed scenario must not leak its fault into the next one
        rig.rewriter.clear()
        rig.gate.admit()
    assert_watch_clean(current.watch)
    assert_prometheus_clean(rig.prometheus, current.wall_start, time.time())


def assert_watch_clean(report: WatchReport) -> None:
    """Every scrape answered 200 with a valid exposition, and no counter went down.

    How fast /metrics answered is Prometheus's to judge, not this process's stopwatch:
    ``assert_prometheus_clean`` requires every one of its scrapes, each bounded by its
    scrape timeout, to have succeeded.
    """
    assert report.scrapes > 0, "the watcher never scraped"
    assert report.failures == [], f"{len(report.failures)} failed scrapes: {report.failures[:5]}"
    assert report.decreases == [], f"counters decreased: {report.decreases[:10]}"


def assert_prometheus_clean(prometheus: PrometheusServer, start: float, end: float) -> None:
    """Prometheus scraped throughout [start, end], never failed, and saw no counter reset."""
    # Wait for a scrape after `end`, so the window is fully in the TSDB.
    prometheus.wait_for(f'timestamp(up{{job="{JOB}"}}) > {end!r}', timeout=15.0)
    at = end + SCRAPE_TIMEOUT
    span = f"{math.ceil(at - start)}s"
    worst = _scalar(prometheus, f'min_over_time(up{{job="{JOB}"}}[{span}])', at)
    assert worst == 1.0, f"Prometheus recorded a failed scrape of the exporter (min up = {worst})"
    scrapes = _scalar(prometheus, f'count_over_time(up{{job="{JOB}"}}[{span}])', at)
    assert scrapes >= math.floor(at - start) - 2, f"only {scrapes} scrapes in {span}"
    # resets() drops the metric name, so series of different counters with equal labels
    # would collide in one query: ask per counter name.
    names = {s.labels["__name__"] for s in prometheus.query(f'{{job="{JOB}",{_CUMULATIVE}}}', at=at)}
    reset = {name: _scalar(prometheus, f'sum(resets({name}{{job="{JOB}"}}[{span}]))', at) for name in names}
    assert names, "Prometheus holds no counters of the exporter"
    assert {name: n for name, n in reset.items() if n} == {}, "Prometheus saw counter resets"


def _scalar(prometheus: PrometheusServer, promql: str, at: float) -> float:
    samples = prometheus.query(promql, at=at)
    assert len(samples) == 1, f"{promql} gave {samples}"
    return samples[0].value


def assert_failed_with(
    exposition: Exposition, before: Exposition, sources: Sequence[str], reason: str
) -> None:
    """Each source in ``sources`` is down and counted a failure for ``reason`` since ``before``."""
    for source in sources:
        assert source_up(exposition, source) == 0, f"{source} should be marked failed"
        grew = failures(exposition, source, reason) - failures(before, source, reason)
        assert grew > 0, f"{source} counted no failure with reason {reason!r}"
    assert exposition.value("acronis_up") == 0, "acronis_up must be 0 while a source fails"


def assert_others_refresh(rig: Rig, failed: Sequence[str]) -> Exposition:
    """While ``failed`` stay down, every other source refreshes and the failed ones do not."""
    others = [source for source in SOURCES if source not in failed]
    frozen_at = rig.scrape()
    exposition = rig.wait_polled(others) if others else rig.wait_attempted(failed)
    for source in failed:
        assert source_up(exposition, source) == 0, f"{source} recovered while its fault was on"
        assert last_success(exposition, source) == last_success(frozen_at, source), (
            f"{source}'s last-success timestamp moved while it was failing"
        )
    for source in others:
        assert source_up(exposition, source) == 1, f"{source} failed though its fault did not touch it"
    return exposition


def fail_and_recover(  # noqa: PLR0913 - the scenario's whole script, spelled out by each test
    current: Scenario,
    inject: Callable[[], object],
    *,
    failed: Sequence[str],
    reason: str,
    advance: float = 20.0,
    timeout: float = PATIENCE,
) -> None:
    """Run the standard script of a fault that fails some sources.

    Switch the fault on and let completions happen while it lasts; wait until every
    source in ``failed`` is down with ``reason``; check the others kept refreshing and
    the failed ones kept their last-success time; switch it off; wait for a fully
    healthy poll; then the counters must equal the ground truth and the fault must not
    have raised the request rate.
    """
    rig = current.rig
    before = rig.scrape()
    inject()
    current.inject()
    rig.advance(advance)

    def down(exposition: Exposition) -> bool:
        return all(
            source_up(exposition, source) == 0
            and failures(exposition, source, reason) > failures(before, source, reason)
            for source in failed
        )

    during = rig.wait_metrics(down, what=f"{', '.join(failed)} failing with reason {reason}", timeout=timeout)
    assert_failed_with(during, before, failed, reason)
    assert_others_refresh(rig, failed)
    current.clear()
    rig.wait_healthy(timeout=timeout)
    assert_counts_exact(rig)
    current.assert_no_extra_load()


def absorb(rig: Rig, inject: Callable[[], object]) -> tuple[Exposition, Exposition]:
    """Inject a fault the exporter should ride out and let a poll pass; return the scrapes around it.

    A fault meant for the next few requests (``times=N``) is first waited out: a healthy poll
    that was already under way when it was injected may end before any request meets it, and
    the scrape after it would then show a fault that has not happened yet.
    """
    before = rig.scrape()
    inject()
    rig.advance(10)
    served = "the injected faults to be served"
    wait_until(lambda: counted_faults_served(rig), timeout=PATIENCE, what=served, pause=RECHECK_PAUSE)
    return before, rig.wait_healthy()


def counted_faults_served(rig: Rig) -> bool:
    """Tell whether the simulator has used up every fault it was to serve a set number of times."""
    return all(fault.get("remaining") is None for fault in rig.sim.faults.active())


def new_failures(before: Exposition, after: Exposition) -> list[str]:
    """List the sources whose failure counters moved between two scrapes, with the reason."""
    moved = []
    for labels, value in after.matching("acronis_exporter_refresh_failures_total"):
        if value != (before.value("acronis_exporter_refresh_failures_total", **labels) or 0.0):
            moved.append(f"{labels['source']}: {labels['reason']}")
    return moved
