"""Shutting the poll's pool down while jobs wait never deadlocks, whichever pool runs them.

A source's first job goes alone and holds the others back; cancelling that first job from
inside the pool's shutdown used to submit the held ones from the done-callback, on the
lock the shutdown held: the process never exited on SIGTERM.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, ThreadPoolExecutor

import pytest

from exporter.jobs import PollCancelled, SourceJobs
from exporter.workers import DaemonPool

_HANG_GUARD = 10.0  # bounds a deadlock; shutting down takes no time at all


@pytest.fixture(params=["daemon_pool", "thread_pool_executor"])
def pool(request: pytest.FixtureRequest) -> Executor:
    """One worker, in the exporter's pool and in the standard library's."""
    if request.param == "daemon_pool":
        return DaemonPool(1, name="test-pool")
    return ThreadPoolExecutor(max_workers=1)


def test_cancelling_a_queued_probe_with_held_jobs_returns_and_cancels_the_source(pool: Executor) -> None:
    """Worker busy, probe queued, a job held: the shutdown returns and the source ends cancelled."""
    release = threading.Event()
    started = threading.Event()

    def occupy() -> None:
        started.set()
        release.wait(_HANG_GUARD)

    pool.submit(occupy)
    started.wait(_HANG_GUARD)
    jobs: SourceJobs[int] = SourceJobs("task_counts", pool)
    jobs.submit("first", lambda: 1)
    jobs.submit("second", lambda: 2)
    shutting = threading.Thread(
        target=pool.shutdown, kwargs={"wait": False, "cancel_futures": True}, daemon=True
    )
    shutting.start()
    shutting.join(_HANG_GUARD)
    release.set()
    assert not shutting.is_alive(), "the pool's shutdown deadlocked"
    with pytest.raises(PollCancelled):
        jobs.results()


def test_jobs_held_by_a_probe_run_once_it_succeeds() -> None:
    """The probe runs alone, then releases the held jobs, from its worker; every result arrives."""
    pool = DaemonPool(2, name="test-pool")
    jobs: SourceJobs[int] = SourceJobs("task_counts", pool)
    for key in range(5):
        jobs.submit(key, lambda key=key: key * 10)  # type: ignore[misc]
    assert jobs.results() == {key: key * 10 for key in range(5)}
    pool.shutdown()


def test_a_pool_shut_down_mid_poll_cancels_what_would_be_sent_later() -> None:
    """A job submitted after the pool's shutdown is cancelled, not raised as RuntimeError into the poll."""
    pool = DaemonPool(1, name="test-pool")
    jobs: SourceJobs[int] = SourceJobs("task_counts", pool)
    jobs.submit("first", lambda: 1)
    jobs.results()
    pool.shutdown()
    jobs.submit("later", lambda: 2)
    with pytest.raises(PollCancelled):
        jobs.results()
