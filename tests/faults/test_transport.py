"""Network and server faults: unreachable API, slow answers, 5xx bursts, 429/503 with Retry-After."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from typing import TYPE_CHECKING

import pytest

from exporter.selfmetrics import SOURCES
from simulator.timefmt import http_date
from tests.faults.checks import absorb, fail_and_recover, new_failures, scenario
from tests.faults.rig import (
    ACTIVITY_SOURCES,
    API_TIMEOUT,
    BACKOFF_MAX,
    CONCURRENCY,
    PATIENCE,
    POLL_INTERVAL,
    RETRY_AFTER_MAX,
    TASK_SOURCES,
    failures,
    source_up,
)
from tests.faults.truth import assert_counts_exact
from tests.support.processes import wait_until

if TYPE_CHECKING:
    from tests.faults.rig import Rig
    from tests.support.processes import LogEvent

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

TASKS = "/api/task_manager/v2/tasks"
ACTIVITIES = "/api/task_manager/v2/activities"
_API_PATHS = "/api/task_manager/"


def _throttling_since(rig: Rig, since: float) -> tuple[LogEvent, list[LogEvent]]:
    """Return the first ``api_throttled`` line written after ``since`` (Unix time), and the lines after it."""
    events = rig.exporter.events("api_throttled", "api_request_sent")
    events = [event for event in events if event.wall >= since]
    first = next((at for at, event in enumerate(events) if event.name == "api_throttled"), None)
    assert first is not None, "the exporter never logged api_throttled"
    return events[first], events[first + 1 :]


def _throttled_since(rig: Rig, since: float) -> bool:
    return any(event.wall >= since for event in rig.exporter.events("api_throttled"))


def _resume_at(throttled: LogEvent) -> float:
    return dt.datetime.fromisoformat(str(throttled.fields["resume_at"])).timestamp()


def _assert_held_back(rig: Rig, since: float) -> LogEvent:
    """Nothing went out while the exporter was told to wait: by its own log, and as the API saw it.

    The exporter writes ``api_throttled`` and every ``api_request_sent`` under one lock, so
    its log orders them exactly: no request may follow the throttling line before the
    ``resume_at`` it names. At the API, what arrives between the moment the exporter got
    the throttling answer and ``resume_at`` was sent before that answer came: at most one
    request per other worker. Both checks hang on events the exporter reports, not on how
    fast this machine is.
    """
    throttled, later = _throttling_since(rig, since)
    resume = _resume_at(throttled)
    # resume_at is printed to the microsecond: a request at the very moment may read 1 µs early.
    early = [event for event in later if event.name == "api_request_sent" and event.wall < resume - 1e-5]
    assert early == [], f"{len(early)} requests were sent while told to wait until {resume}"
    received, resumed = throttled.monotonic, resume + (throttled.monotonic - throttled.wall)
    arrived = rig.requests_between(received, resumed)
    arrived = [entry for entry in arrived if entry.path.startswith(_API_PATHS)]
    assert len(arrived) <= CONCURRENCY - 1, f"{len(arrived)} requests arrived while the exporter held back"
    assert rig.requests_between(resumed, time.monotonic()), "the exporter never came back after throttling"
    return throttled


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
            since = time.time()
            rig.sim.faults.fail(429, times=1, path_prefix=TASKS, retry_after=2)
            rig.advance(10)
            after = rig.wait_healthy()
            throttled = _assert_held_back(rig, since)
            assert throttled.fields["held_seconds"] == pytest.approx(2.0)
            waited = after.total("acronis_exporter_api_throttled_seconds_total") - before.total(
                "acronis_exporter_api_throttled_seconds_total"
            )
            throttlings = [event for event in rig.exporter.events("api_throttled") if event.wall >= since]
            held = sum(float(str(event.fields["held_seconds"])) for event in throttlings)
            assert waited == pytest.approx(held), "throttled seconds differ from the holds the log reports"
            assert all(source_up(after, source) == 1 for source in SOURCES)
            assert_counts_exact(rig)

    def test_503_with_retry_after_as_an_http_date_holds_every_request_back(self, rig: Rig) -> None:
        """An HTTP-date Retry-After is honoured to the second: nothing is sent before that date.

        The date is on the API's clock and read against the reply's Date: 3 s after the
        API's now holds requests back 3 s, wherever the simulated clock stands against ours.
        """
        with scenario(rig):
            since = time.time()
            rig.advance(10)
            # The manual clock stands still until the next advance: every reply's Date is api_now.
            api_now = float(int(rig.clock.now()))  # HTTP dates have whole seconds
            rig.sim.faults.fail(503, times=1, path_prefix=ACTIVITIES, retry_after=http_date(api_now + 3))
            # Then a healthy poll that ended after the hold: not one that ended before the 503.
            wait_until(lambda: _throttled_since(rig, since), timeout=PATIENCE, what="api_throttled")
            rig.wait_healthy()
            throttled = _assert_held_back(rig, since)
            assert float(str(throttled.fields["retry_after_seconds"])) == 3.0, "the date was misread"
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

    def test_a_retry_after_beyond_the_cap_fails_at_once_and_is_honoured_up_to_the_cap(self, rig: Rig) -> None:
        """Retry-After over --api.retry-after-max fails the poll at once; nothing is sent for the cap.

        The cap bounds the hold too: an API asking for a day (or the year 9999) must not
        silence monitoring for that long; after the cap it is asked again.
        """
        hold = RETRY_AFTER_MAX + 2
        with scenario(rig) as current:
            before = rig.scrape()
            current.inject()
            since = time.time()
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
            throttled = _assert_held_back(rig, since)
            assert throttled.fields["beyond_cap"] is True
            assert throttled.fields["held_seconds"] == pytest.approx(RETRY_AFTER_MAX)
            assert_counts_exact(rig)


class TestReplyHeaders:
    """Headers an API, or a proxy or host in front of it, adds to replies."""

    def test_a_header_value_beyond_ascii_is_read_like_any_other(self, rig: Rig) -> None:
        """A proxy's Latin-1 header (RFC 9110 allows such bytes) on every reply changes nothing."""

        def inject() -> None:
            rig.sim.faults.extra_header("X-Message", "Zugriff für alle")
            rig.sim.faults.expire_tokens()  # the token endpoint's reply carries it too

        with scenario(rig):
            before, after = absorb(rig, inject)
            assert new_failures(before, after) == []
            assert_counts_exact(rig)

    def test_cookies_the_api_sets_are_never_kept_nor_sent_back(self, rig: Rig) -> None:
        """Every reply sets a new 1 KiB cookie: no request carries one back, and the counts stay exact.

        A kept jar would grow by a cookie a request, and every request with it, without bound.
        """
        with scenario(rig) as current:
            before = rig.scrape()
            current.inject()
            rig.sim.faults.set_cookies()
            rig.sim.faults.expire_tokens()  # the token endpoint's reply sets one too
            rig.advance(10)
            rig.wait_healthy()
            after = rig.wait_healthy()  # a whole poll after the first cookies were set
            current.clear()
            sent = rig.requests_between(current.fault_start, current.fault_end)
            assert len(sent) > 1
            assert [entry.path for entry in sent if entry.cookie] == []
            assert new_failures(before, after) == []
            assert_counts_exact(rig)
