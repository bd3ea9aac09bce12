"""A hostile API at the socket level: hung, slow, dripping and flooding replies.

The exporter runs as a real subprocess against ``tests/support/hostile_api.py``. What is
checked is what an operator relies on: SIGTERM ends the process with its shutdown log lines
whatever the API is doing, a reply that drips fails with reason ``timeout``, and a reply
of hundreds of megabytes (or a gzip bomb) fails with reason ``too_large`` while the
process's peak memory stays under the Helm chart's 256 MiB limit.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.hostile_api import CLIENT_ID, CLIENT_SECRET, HostileApi
from tests.support.processes import start_exporter, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.support.hostile_api import Endpoint, Mode
    from tests.support.processes import ExporterProcess

pytestmark = pytest.mark.slow

_HANG_GUARD = 20.0  # bounds a hang; the API in these tests would hold a request far longer
CHART_MEMORY_LIMIT = 256 * 1024 * 1024  # deploy/helm: resources.limits.memory
CONCURRENCY = 4  # the default --api.concurrency


@pytest.fixture
def api() -> Iterator[HostileApi]:
    """Start a hostile API that behaves until a test tells it otherwise."""
    with HostileApi() as stub:
        yield stub


def _start(api: HostileApi, workdir: Path, *flags: str, ready: bool = True) -> ExporterProcess:
    args = ["--api.url", api.url, "--api.client-id", CLIENT_ID, "--poll.interval", "1", *flags]
    env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": CLIENT_SECRET}
    return start_exporter(args, workdir=workdir, env=env, wait_ready=ready)


def _reasons(exporter: ExporterProcess, family: str) -> dict[str, float]:
    """Return a failure counter of the exporter's /metrics summed by reason."""
    totals: dict[str, float] = {}
    try:
        exposition = exporter.get("/metrics").text
    except httpx.ConnectError:  # not listening yet: started without waiting for readiness
        return totals
    for metrics in text_string_to_metric_families(exposition):
        for sample in metrics.samples:
            if sample.name == f"{family}_total":
                reason = sample.labels["reason"]
                totals[reason] = totals.get(reason, 0.0) + sample.value
    return totals


def _source_failed(exporter: ExporterProcess, reason: str) -> bool:
    return any(event.fields.get("reason") == reason for event in exporter.events("source_refresh_failed"))


class TestShutdownWhateverTheApiDoes:
    """SIGTERM ends the exporter, with its shutdown lines, while every worker waits on the API."""

    @pytest.mark.parametrize("mode", ["hung", "slow", "drip"])
    def test_sigterm_exits_zero_with_its_shutdown_lines(
        self, api: HostileApi, tmp_path: Path, mode: Mode
    ) -> None:
        """Default settings; every worker busy on the API and more jobs queued when SIGTERM comes."""
        with _start(api, tmp_path) as exporter:  # leaving the block kills a process that hangs
            api.set("api", mode)
            # Every worker holds a request and the rest of the poll is queued behind them:
            # the state in which cancelling the queue used to deadlock the pool's shutdown.
            wait_until(lambda: api.received("api", mode) >= CONCURRENCY, timeout=30.0, what="busy workers")
            exporter.send_signal(signal.SIGTERM)
            assert exporter.wait_exit(timeout=_HANG_GUARD) == 0, exporter.stderr()[-3000:]
        names = [event.name for event in exporter.events()]
        for line in (
            "api_sending_stopped",
            "exporter_stopping",
            "exporter_stopped",
            "exporter_stopped_by_signal",
        ):
            assert line in names, f"no {line} in the log"
        stopping = names.index("exporter_stopping")
        assert "poll_crashed" not in names[stopping:], "shutdown crashed the poll instead of cancelling it"
        assert "Traceback" not in exporter.stderr()


class TestDrippingReplies:
    """A reply sent a byte at a time fails with reason timeout: --api.timeout bounds the whole request."""

    def test_a_dripping_api_reply_fails_the_sources_with_reason_timeout(
        self, api: HostileApi, tmp_path: Path
    ) -> None:
        """Every byte arrives well within --api.timeout; the whole reply never does."""
        with _start(api, tmp_path, "--api.timeout", "1", "--api.max-retries", "0") as exporter:
            api.set("api", "drip")
            wait_until(lambda: _source_failed(exporter, "timeout"), timeout=30.0, what="a timeout failure")
            # Zero-first: a counter shows its first events one poll interval after it was first seen.
            wait_until(
                lambda: _reasons(exporter, "acronis_exporter_api_request_failures").get("timeout", 0) > 0,
                timeout=30.0,
                what="api_request_failures{reason=timeout}",
            )

    def test_a_dripping_token_reply_fails_the_mint_with_reason_timeout(
        self, api: HostileApi, tmp_path: Path
    ) -> None:
        """The token endpoint's reply is bounded the same way."""
        api.set("token", "drip")
        with _start(api, tmp_path, "--api.timeout", "1", "--api.max-retries", "0", ready=False) as exporter:
            wait_until(
                lambda: _reasons(exporter, "acronis_exporter_token_request_failures").get("timeout", 0) > 0,
                timeout=30.0,
                what="a token request failing with reason timeout",
            )
            assert _source_failed(exporter, "timeout") or api.received("token", "drip") >= 1


class TestHugeReplies:
    """Replies far beyond the byte cap fail with reason too_large; memory stays under the chart's limit."""

    @pytest.mark.parametrize("mode", ["huge", "huge_json", "gzip_bomb"])
    def test_a_huge_api_reply_fails_with_too_large_and_memory_stays_bounded(
        self, api: HostileApi, tmp_path: Path, mode: Mode
    ) -> None:
        """Several polls of 200 MB replies (or a 256 MB gzip bomb) on every worker at once."""
        with _start(api, tmp_path, "--api.max-retries", "0") as exporter:
            api.set("api", mode)
            wait_until(lambda: _source_failed(exporter, "too_large"), timeout=60.0, what="too_large failures")
            wait_until(lambda: api.received("api", mode) >= 3 * CONCURRENCY, timeout=60.0, what="more floods")
            wait_until(  # zero-first: shown one poll interval after the series was first seen
                lambda: _reasons(exporter, "acronis_exporter_refresh_failures").get("too_large", 0) > 0,
                timeout=30.0,
                what="refresh_failures{reason=too_large}",
            )
            assert _peak_rss(exporter) < CHART_MEMORY_LIMIT

    def test_a_gzip_bomb_401_fails_with_auth_and_memory_stays_bounded(
        self, api: HostileApi, tmp_path: Path
    ) -> None:
        """A 401 whose body inflates to 256 MB is read under the error-reply limit like any reply.

        The 401 earns one resend with a fresh token; neither exchange may read the body past
        the cap, and the source fails as auth, the honest reason.
        """
        with _start(api, tmp_path, "--api.max-retries", "0") as exporter:
            api.set("api", "gzip_bomb_401")
            wait_until(lambda: _source_failed(exporter, "auth"), timeout=60.0, what="auth failures")
            wait_until(
                lambda: api.received("api", "gzip_bomb_401") >= 3 * CONCURRENCY,
                timeout=60.0,
                what="more 401 bombs",
            )
            assert _peak_rss(exporter) < CHART_MEMORY_LIMIT
            reasons = {event.fields.get("reason") for event in exporter.events("source_refresh_failed")}
            assert reasons == {"auth"}

    @pytest.mark.parametrize("endpoint", ["token"])
    def test_a_huge_token_reply_fails_with_too_large(
        self, api: HostileApi, tmp_path: Path, endpoint: Endpoint
    ) -> None:
        """The token endpoint's reply has a cap of its own."""
        api.set(endpoint, "huge")
        with _start(api, tmp_path, "--api.max-retries", "0", ready=False) as exporter:
            wait_until(
                lambda: _reasons(exporter, "acronis_exporter_token_request_failures").get("too_large", 0) > 0,
                timeout=30.0,
                what="a token request failing with reason too_large",
            )
            assert _peak_rss(exporter) < CHART_MEMORY_LIMIT


def _peak_rss(exporter: ExporterProcess) -> int:
    """Return the process's peak resident memory in bytes (VmHWM), the number an OOM kill looks at."""
    with open(f"/proc/{exporter.process.pid}/status", encoding="ascii") as status:  # noqa: PTH123
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")
