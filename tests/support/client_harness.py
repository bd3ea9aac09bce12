"""A real TaskManagerClient on a simulator, for the client and auth tests.

Settings for the simulator's demo client, a token source that remembers what it minted,
the exporter's real log output captured in a buffer, and the harness parts both test
modules share: reading the exporter's own metrics and searching text for any secret.
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry
from pydantic import HttpUrl, SecretStr

from exporter import logs
from exporter.auth import build_auth
from exporter.client import TaskManagerClient
from exporter.config import ApiSettings, LogSettings
from exporter.redaction import SecretRegistry
from exporter.selfmetrics import SelfMetrics
from exporter.tokens import Token, TokenSource

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from simulator import RunningSimulator


class RecordingTokenSource(TokenSource):
    """A real TokenSource that remembers what it minted, so tests can look for leaks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - passes TokenSource's through
        super().__init__(*args, **kwargs)
        self.minted: list[Token] = []

    def mint(self) -> Token:
        """Mint as usual and keep the token."""
        token = super().mint()
        self.minted.append(token)
        return token


@contextmanager
def captured_logs(secrets: SecretRegistry | None = None) -> Iterator[io.StringIO]:
    """Capture the exporter's real log output (debug, JSON, redacting `secrets`); restore logging after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    output = io.StringIO()
    logs.configure(LogSettings(level="debug"), stream=output, secrets=secrets or SecretRegistry())
    try:
        yield output
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)


def simulator_api(sim: RunningSimulator, **overrides: Any) -> ApiSettings:  # noqa: ANN401 - any ApiSettings field
    """Return settings for `sim`'s demo client with short timeouts and tiny backoffs."""
    values: dict[str, Any] = {
        "url": sim.url,
        "client_id": sim.config.client_id,
        "client_secret": SecretStr(sim.config.client_secret),
        "timeout": 5.0,
        "connect_timeout": 2.0,
        "max_retries": 2,
        "backoff_initial": 0.01,
        "backoff_max": 0.02,
    }
    return ApiSettings(**{**values, **overrides})


@dataclass(kw_only=True)
class ClientHarness:
    """A client wired to one simulator, with its metrics registry and the secrets it must keep."""

    sim: RunningSimulator
    client: TaskManagerClient
    tokens: RecordingTokenSource
    registry: CollectorRegistry
    secrets: list[str] = field(default_factory=list)

    def sample(self, name: str, **labels: str) -> float:
        """Return a sample's value from the exporter's registry (0 when absent)."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def assert_clean(self, text: str) -> None:
        """Fail if a secret or any minted token occurs in `text`."""
        for secret in [*self.secrets, *(token.value for token in self.tokens.minted)]:
            assert secret not in text


def simulator_client(sim: RunningSimulator, clock: Callable[[], float]) -> TaskManagerClient:
    """Return a client of ``sim``'s demo API client that never retries, its tokens judged on ``clock``."""
    api = ApiSettings(
        url=HttpUrl(sim.url),
        client_id=sim.config.client_id,
        client_secret=SecretStr(sim.config.client_secret),
        max_retries=0,
    )
    metrics = SelfMetrics(CollectorRegistry())
    return TaskManagerClient(api, build_auth(api, metrics, clock=clock), metrics)
