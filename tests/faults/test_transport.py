"""Network and server faults: unreachable API, slow answers, 5xx bursts, 429/503 with Retry-After."""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING

import pytest

from exporter.metrics import SOURCES
from exporter.simulator.timefmt import http_date
from tests.faults.checks import absorb, fail_and_recover, new_failures, scenario
from tests.faults.rig import (
    ACTIVITY_SOURCES,
    API_TIMEOUT,
    BACKOFF_MAX,
    CONCURRENCY,
    POLL_INTERVAL,
    RETRY_AFTER_MAX,
    TASK_SOURCES,
    failures,
    source_up,
)
from tests.faults.truth import assert_counts_exact

if TYPE_CHECKING:
    from exporter.simulator.requestlog import RequestRecord
    from tests.faults.rig import Rig

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

TASKS = "/api/task_manager/v2/tasks"
ACTIVITIES = "/api/task_manager/v2/activities"
IN_FLIGHT = 0.25  # seconds: a request sent before the throttling answer arrived lands within this


def _first(entries: list[RequestRecord], status: int) -> RequestRecord:
    matching = [entry for entry in entries if entry.status == status]
    assert matching, f"no request was answered {status}"
    return matching[0]


def _after(entries: list[RequestRecord], moment: float) -> list[RequestRecord]:
    return [entry for entry in entries if entry.at > moment]


def _assert_held_back(entries: list[RequestRecord], throttled: RequestRecord, until: float) -> None:
    """Nothing but requests already in flight arrived between a throttling answer and ``until``.

    Requests other workers sent before the 429/503 reached the exporter arrive just after
    it; at most CONCURRENCY - 1 of them, within a moment.
    """
    early = [entry for entry in _after(entries, throttled.at) if entry.at < until - 0.05]
    in_flight = [entry for entry in early if entry.at - throttled.at < IN_FLIGHT]
    assert early == in_flight, f"{len(early) - len(in_flight)} requests went out while told to wait"
    assert len(in_flight) <= CONCURRENCY, f"{len(in_flight)} requests arrived right after the throttling"
    assert _after(entries, until - 0.05), "the exporter never came back after the throttling"


class TestUnreachableApi:
    """Connection refused: the data centre is down."""

    def test_refused_connections_fail_every_source_and_lose_no_completion(self, rig: Rig) -> None:
        """Every source fails with reason connect, keeps its data, and catches up exactly afterwards."""
        with scenario(rig) as current:
            fail_and_recover(current, rig.gate.refuse, failed=SOURCES, reason="connect")


class TestSlowApi:
    """Responses slower than --api.timeout."""

    def test_answers_past_the_timeout_fail_every_source_with_reason_timeout(self, rig: Rig) -> None:
        """A hung API times out, /metrics stays fast, and nothing is lost once it answers again."""
        with scenario(rig) as current:
            fail_and_recover(
                current, lambda: rig.sim.faults.latency(API_TIMEOUT * 2), failed=SOURCES, reason="timeout"
            )


class TestServerErrors:
    """5xx bursts."""

    def test_a_burst_shorter_than_the_retries_is_absorbed(self, rig: Rig) -> None:
        """Two 502s in a row are retried away: no source fails and the retries are counted."""
        with scenario(rig):
            before, after = absorb(rig, lambda: rig.sim.faults.fail(502, times=2, path_prefix=ACTIVITIES))
            retried = after.total("acronis_exporter_api_retries_total", reason="http_5xx")
            assert retried - before.total("acronis_exporter_api_retries_total", reason="http_5xx") >= 2
            assert new_failures(before, after) == []
            assert_counts_exact(rig)

    def test_a_long_burst_fails_only_the_sources_of_that_endpoint(self, rig: Rig) -> None:
        """Persistent 500s on /activities fail the activity sources; task sources keep refreshing."""
        with scenario(rig) as current:
            fail_and_recover(
                current,
                lambda: rig.sim.faults.fail(500, times=None, path_prefix=ACTIVITIES),
                failed=ACTIVITY_SOURCES,
                reason="http_5xx",
            )
            self._assert_backoff_bounded(rig, current.fault_start, current.fault_end)

    @staticmethod
    def _assert_backoff_bounded(rig: Rig, start: float, end: float) -> None:
        """Retries of one request follow each other within the backoff cap (plus the poll beat)."""
        failed = [entry for entry in rig.requests_between(start, end) if entry.status == 500]
        assert failed, "no 500 was served"
        by_query: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
        for entry in failed:
            by_query.setdefault((entry.path, tuple(entry.query)), []).append(entry.at)
        gaps = [
            later - earlier for times in by_query.values() for earlier, later in itertools.pairwise(times)
        ]
        # A retry comes within backoff_max; the next poll's first try within one interval.
        # Generous slack: this guards against unbounded growth, not against a slow machine.
        assert max(gaps, default=0.0) <= POLL_INTERVAL + BACKOFF_MAX + API_TIMEOUT + 2.0, gaps


class TestThrottling:
    """429 and 503 with Retry-After, in seconds and as an HTTP date."""

    def test_429_with_retry_after_seconds_holds_every_request_back(self, rig: Rig) -> None:
        """After a 429 with Retry-After: 2 no request reaches the API for 2 s, then the poll succeeds."""
        with scenario(rig):
            before = rig.scrape()
            start = time.monotonic()
            rig.sim.faults.fail(429, times=1, path_prefix=TASKS, retry_after=2)
            rig.advance(10)
            after = rig.wait_healthy()
            entries = rig.requests_between(start, time.monotonic())
            throttled = _first(entries, 429)
            _assert_held_back(entries, throttled, until=throttled.at + 2.0)
            waited = after.total("acronis_exporter_api_throttled_seconds_total") - before.total(
                "acronis_exporter_api_throttled_seconds_total"
            )
            assert waited >= 1.9, f"throttled seconds grew by {waited}"
            assert all(source_up(after, source) == 1 for source in SOURCES)
            assert_counts_exact(rig)

    def test_503_with_retry_after_as_an_http_date_holds_every_request_back(self, rig: Rig) -> None:
        """An HTTP-date Retry-After is honoured to the second: nothing is sent before that date."""
        with scenario(rig):
            not_before = float(int(time.time()) + 3)  # HTTP dates have whole seconds
            start = time.monotonic()
            rig.sim.faults.fail(503, times=1, path_prefix=ACTIVITIES, retry_after=http_date(not_before))
            rig.advance(10)
            rig.wait_healthy()
            entries = rig.requests_between(start, time.monotonic())
            throttled = _first(entries, 503)
            monotonic_of_wall = time.monotonic() - time.time()  # the request log keeps monotonic times
            _assert_held_back(entries, throttled, until=not_before + monotonic_of_wall)
            assert_counts_exact(rig)

    def test_persistent_throttling_fails_the_poll_without_raising_the_request_rate(self, rig: Rig) -> None:
        """A 429 that keeps coming fails every source with reason throttled, at no extra load."""
        # A rate limit belongs to the API client, not to one endpoint: once a throttled
        # request has used up its retries, the rest of the poll is not sent.
        with scenario(rig) as current:
            fail_and_recover(
                current,
                lambda: rig.sim.faults.fail(429, times=None, retry_after=1),
                failed=SOURCES,
                reason="throttled",
            )

    def test_a_retry_after_beyond_the_cap_fails_at_once_and_is_still_honoured(self, rig: Rig) -> None:
        """Retry-After over --api.retry-after-max fails the poll at once; nothing is sent until it ends."""
        hold = RETRY_AFTER_MAX + 2
        with scenario(rig) as current:
            before = rig.scrape()
            start = current.inject()
            rig.sim.faults.fail(429, times=1, path_prefix=TASKS, retry_after=hold)
            rig.advance(10)
            rig.wait_metrics(
                lambda now: any(
                    failures(now, source, "throttled") > failures(before, source, "throttled")
                    for source in TASK_SOURCES
                ),
                what="a task source failing with reason throttled",
            )
            rig.wait_healthy(timeout=hold + 30)
            entries = rig.requests_between(start, time.monotonic())
            _assert_held_back(entries, _first(entries, 429), until=_first(entries, 429).at + hold)
            assert_counts_exact(rig)
