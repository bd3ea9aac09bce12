"""Text from a reply reaches the exporter's logs and errors short, escaped and scrubbed.

A hostile API (``tests/support/hostile_api.py``, over real HTTP) sends JSON keys and a
Content-Type of hundreds of kilobytes holding a terminal escape, a forged log line and the
client secret. Whatever it sends, a log line stays one readable line of bounded length,
and an error stays a sentence.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from exporter.auth import build_auth
from exporter.client import TaskManagerClient
from exporter.config import ApiSettings
from exporter.errors import BadPayload
from exporter.logs import LOG_VALUE_MAX
from exporter.redaction import REPLY_TEXT_MAX, SecretRegistry
from exporter.selfmetrics import SelfMetrics
from tests.support.client_harness import captured_logs
from tests.support.hostile_api import CLIENT_ID, CLIENT_SECRET, HostileApi

if TYPE_CHECKING:
    from collections.abc import Iterator

ERROR_MAX = 400  # characters: an error message is a sentence, whatever the reply held


@pytest.fixture
def api() -> Iterator[HostileApi]:
    """Start a hostile API that behaves until a test tells it otherwise."""
    with HostileApi() as stub:
        yield stub


@pytest.fixture
def secrets() -> SecretRegistry:
    """Return the registry the logs redact with, as the app owns one per run."""
    return SecretRegistry()


def _client(api: HostileApi, secrets: SecretRegistry) -> TaskManagerClient:
    settings = ApiSettings(
        url=api.url, client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), max_retries=0, timeout=10.0
    )
    metrics = SelfMetrics(CollectorRegistry())
    return TaskManagerClient(
        settings, build_auth(settings, metrics, secrets=secrets), metrics, secrets=secrets
    )


def _shown(text: str) -> None:
    """Assert ``text`` could be shown: no secret, and no character that moves a terminal or a line."""
    assert CLIENT_SECRET not in text
    assert not [character for character in text if character < " " or "\x7f" <= character <= "\x9f"]


def test_json_keys_in_a_log_line_are_short_escaped_and_scrubbed(
    api: HostileApi, secrets: SecretRegistry
) -> None:
    """A count reply of ten 400 kB keys logs count_from_items with ten short, harmless keys."""
    api.set("api", "long_keys")
    with captured_logs(secrets) as output, _client(api, secrets) as client:
        assert client.count("tasks") == 0
    lines = output.getvalue().splitlines()
    assert max(len(line) for line in lines) < LOG_VALUE_MAX
    events = [json.loads(line) for line in lines]
    assert "forged" not in [event["event"] for event in events]
    (warning,) = [event for event in events if event["event"] == "count_from_items"]
    assert len(warning["keys"]) == 10
    for key in warning["keys"]:
        assert len(key) <= REPLY_TEXT_MAX + 3
        assert key.startswith("\\x1b[2J\\n{")  # escaped, so still readable
        _shown(key)


def test_a_content_type_in_an_error_is_short_and_scrubbed(api: HostileApi, secrets: SecretRegistry) -> None:
    """A non-JSON reply with a 60 kB Content-Type fails as decode with a one-sentence error."""
    api.set("api", "long_type")
    with (
        captured_logs(secrets) as output,
        _client(api, secrets) as client,
        pytest.raises(BadPayload) as caught,
    ):
        client.count("tasks")
    assert caught.value.reason == "decode"
    message = str(caught.value)
    assert message.startswith("GET /tasks: HTTP 200 body is not JSON (text/")
    assert len(message) < ERROR_MAX
    _shown(message)
    assert CLIENT_SECRET not in output.getvalue()
