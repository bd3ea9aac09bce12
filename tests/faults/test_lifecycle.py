"""The exporter process itself: restarted mid-run, and SIGTERM while a poll is in flight."""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

import pytest

from tests.faults.checks import assert_prometheus_clean
from tests.faults.rig import CONCURRENCY, JOB
from tests.faults.truth import assert_counts_exact
from tests.support.processes import wait_until

if TYPE_CHECKING:
    from tests.faults.rig import Rig

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

_EXIT_DEADLINE = 20.0  # generous: this bounds a hang, it does not time the shutdown


def _in_flight(rig: Rig, since: float) -> bool:
    """Tell whether the exporter has been sending requests since ``since`` (monotonic)."""
    return len(rig.requests_between(since, time.monotonic())) >= 2


class TestRestart:
    """A restarted exporter starts clean: fresh baseline, no double count, probes honest."""

    def test_a_restart_mid_run_counts_from_the_new_start_without_double_counting(self, rig: Rig) -> None:
        """The old process exits 0; the new one counts exactly what completed after it started."""
        rig.advance(20)
        assert_counts_exact(rig)
        healthy_since = time.time()
        old = rig.exporter
        stopped_at = time.time()
        assert old.stop(signal.SIGTERM) == 0, old.stderr()[-2000:]
        assert_prometheus_clean(rig.prometheus, healthy_since - 5, stopped_at - 1)
        rig.advance(20)  # completions while no exporter runs are not counted by the next one
        rig.start_exporter(port=old.port)
        ready_at = time.time()
        rig.advance(20)
        assert_counts_exact(rig)
        rig.prometheus.wait_for(f'timestamp(up{{job="{JOB}"}}) > {ready_at + 2!r}')
        for series in rig.prometheus.query_range(
            f'up{{job="{JOB}"}}', start=healthy_since - 5, end=time.time(), step=0.5
        ):
            failed = [at for at, value in series.points if value == 0]
            # A step-0.5 range query repeats a sample for up to one scrape interval after it.
            assert all(stopped_at - 1 <= at <= ready_at + 2 for at in failed), (
                f"failed scrapes outside the restart gap {stopped_at:.1f}..{ready_at:.1f}: {failed}"
            )
        assert "Traceback" not in old.stderr()


class TestSigterm:
    """SIGTERM while requests are in flight."""

    def test_sigterm_during_a_poll_exits_zero_and_sends_nothing_after(self, rig: Rig) -> None:
        """The exporter stops within the deadline with status 0 and starts no new request."""
        rig.sim.faults.latency(0.5)  # every request takes half a second: a poll is always running
        since = time.monotonic()
        wait_until(lambda: _in_flight(rig, since), timeout=20.0, what="requests under latency")
        exporter = rig.exporter
        exporter.send_signal(signal.SIGTERM)
        assert exporter.wait_exit(timeout=_EXIT_DEADLINE) == 0, exporter.stderr()[-2000:]
        exited = time.monotonic()
        rig.sim.faults.clear()
        # The simulator logs a request when it answers it; by the time the next exporter has
        # finished its first poll, every request of the old process has been answered.
        rig.start_exporter(port=exporter.port)
        # The exporter writes api_sending_stopped and each api_request_sent under one lock:
        # in its own log, nothing may follow the stop.
        sending = exporter.events("api_sending_stopped", "api_request_sent")
        stopped = [at for at, event in enumerate(sending) if event.name == "api_sending_stopped"]
        assert len(stopped) == 1, "the exporter did not log api_sending_stopped once"
        assert sending[stopped[0] + 1 :] == [], "requests were sent after SIGTERM"
        # At the API: what arrives after the stop was already on its way, one per worker at most.
        late = [entry for entry in rig.requests_between(sending[stopped[0]].monotonic, exited)
                if entry.path.startswith("/api/task_manager/")]  # fmt: skip
        assert len(late) <= CONCURRENCY, f"{len(late)} requests arrived after SIGTERM: {late[:3]}"
        log = exporter.stderr()
        assert "Traceback" not in log, log[-2000:]
        assert "poll_crashed" not in log
        rig.wait_healthy()
