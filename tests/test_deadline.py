"""Whole-request deadlines, the shutdown switch and the reply byte cap, on real sockets.

The client and the token source talk to ``tests/support/hostile_api.py``: the deadline
must hold against a reply that drips, the stop event must end a read that hangs, and the
byte cap must stop a flood or a gzip bomb. These go through ``deadline.keep_deadlines``, so they
also fail if a new httpx moves the connection pool's network backend.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from exporter.auth import build_auth
from exporter.client import TaskManagerClient
from exporter.config import ApiSettings
from exporter.errors import ApiError, ApiUnavailable, BadPayload
from exporter.exposition import self_registry
from exporter.selfmetrics import FAILURE_REASONS, SelfMetrics
from exporter.tokens import TokenSource
from tests.support.hostile_api import CLIENT_ID, CLIENT_SECRET, HostileApi
from tests.support.processes import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client import CollectorRegistry

    from tests.support.hostile_api import Mode

_HANG_GUARD = 20.0  # bounds a hang; a hung reply in these tests never ends by itself


@pytest.fixture
def api() -> Iterator[HostileApi]:
    """Start a hostile API that behaves until a test tells it otherwise."""
    with HostileApi() as stub:
        yield stub


def _settings(api: HostileApi, **overrides: object) -> ApiSettings:
    values: dict[str, object] = {
        "url": api.url,
        "client_id": CLIENT_ID,
        "client_secret": SecretStr(CLIENT_SECRET),
        "timeout": 1.0,
        "max_retries": 0,
    }
    return ApiSettings.model_validate({**values, **overrides})


def _client(
    settings: ApiSettings, stop: threading.Event | None = None
) -> tuple[TaskManagerClient, CollectorRegistry]:
    registry = self_registry()
    metrics = SelfMetrics(registry)
    return TaskManagerClient(settings, build_auth(settings, metrics), metrics, stop=stop), registry


def _failures(registry: CollectorRegistry, reason: str) -> float:
    labels = {"endpoint": "/tasks", "reason": reason}
    return registry.get_sample_value("acronis_exporter_api_request_failures_total", labels) or 0.0


class TestDeadline:
    """--api.timeout bounds a whole request, however the bytes trickle in."""

    def test_a_dripping_reply_fails_with_reason_timeout(self, api: HostileApi) -> None:
        """A byte every 0.2 s never trips a per-read timeout of 1 s; the request deadline does."""
        client, registry = _client(_settings(api))
        with client:
            client.count("tasks")  # mints the token while the API behaves
            api.set("api", "drip")
            with pytest.raises(ApiUnavailable) as caught:
                client.count("tasks")
        assert caught.value.reason == "timeout"
        assert _failures(registry, "timeout") == 1

    def test_a_dripping_token_reply_fails_with_reason_timeout(self, api: HostileApi) -> None:
        """The token endpoint's reply keeps the same deadline."""
        api.set("token", "drip")
        tokens = TokenSource(_settings(api), SelfMetrics(self_registry()))
        with pytest.raises(ApiUnavailable) as caught:
            tokens.mint()
        assert caught.value.reason == "timeout"

    @pytest.mark.parametrize("mode", ["hung", "drip"])
    def test_stopping_ends_a_read_in_flight_as_cancelled(self, api: HostileApi, mode: Mode) -> None:
        """Shutdown does not wait for the API: the read ends, and no failure is counted."""
        stop = threading.Event()
        client, registry = _client(_settings(api, timeout=600.0), stop)
        outcome: list[BaseException] = []

        def count() -> None:
            try:
                client.count("tasks")
            except ApiError as error:
                outcome.append(error)

        with client:
            client.count("tasks")
            api.set("api", mode)
            worker = threading.Thread(target=count, daemon=True)
            worker.start()
            wait_until(lambda: api.received("api", mode) >= 1, timeout=10.0, what="the request on the wire")
            client.stop_sending()
            worker.join(timeout=_HANG_GUARD)
        assert not worker.is_alive(), "the read went on after the stop"
        assert [getattr(error, "reason", None) for error in outcome] == ["cancelled"]
        assert _failures(registry, "timeout") == _failures(registry, "connect") == 0


class TestByteCap:
    """No reply holds more than its cap in memory; over it, the request fails with too_large."""

    @pytest.mark.parametrize("mode", ["huge", "huge_json", "gzip_bomb"])
    def test_a_reply_over_the_cap_fails_with_reason_too_large(self, api: HostileApi, mode: Mode) -> None:
        """200 MB of text or JSON, or 256 MB of zeros gzipped to 250 KB: all stop at the cap."""
        client, registry = _client(_settings(api, timeout=30.0, max_reply_bytes=1024 * 1024))
        with client:
            client.count("tasks")
            api.set("api", mode)
            with pytest.raises(BadPayload) as caught:
                client.count("tasks")
        assert caught.value.reason == "too_large"
        assert caught.value.reason in FAILURE_REASONS
        assert "1048576 bytes" in str(caught.value)
        assert _failures(registry, "too_large") == 1

    def test_a_huge_token_reply_fails_with_reason_too_large(self, api: HostileApi) -> None:
        """The token reply has a cap of its own (64 KiB), whatever --api.max-reply-bytes says."""
        api.set("token", "huge")
        registry = self_registry()
        tokens = TokenSource(_settings(api, timeout=30.0), SelfMetrics(registry))
        with pytest.raises(BadPayload) as caught:
            tokens.mint()
        assert caught.value.reason == "too_large"
        labels = {"grant_type": "client_credentials", "reason": "too_large"}
        assert registry.get_sample_value("acronis_exporter_token_request_failures_total", labels) == 1

    def test_the_default_cap_follows_the_page_size(self) -> None:
        """Unset, the cap is 8 KiB per item of a page plus 64 KiB; set, it is what was set."""
        assert ApiSettings(page_size=500).reply_byte_cap == 500 * 8192 + 65536
        assert ApiSettings(page_size=100, max_reply_bytes=100_000).reply_byte_cap == 100_000
