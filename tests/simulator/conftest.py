"""Fixtures of the simulator's own contract tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from simulator import ManualClock, SimulatorConfig, start_simulator

from .helpers import Api
from .rawhttp import Client

if TYPE_CHECKING:
    from collections.abc import Iterator

    from simulator import RunningSimulator


@pytest.fixture
def api(simulator: RunningSimulator) -> Iterator[Api]:
    """Return an httpx client for the `simulator` fixture."""
    client = Api(simulator)
    yield client
    client.close()


@pytest.fixture(scope="module")
def shared_simulator() -> Iterator[RunningSimulator]:
    """Start one small simulator for a whole module of read-only requests (hundreds of them)."""
    config = SimulatorConfig(tasks=300, open_tasks=40, tenants=12, seed=7)
    with start_simulator(config, clock=ManualClock(start=1_790_000_000.0)) as sim:
        yield sim


@pytest.fixture(scope="module")
def shared_token(shared_simulator: RunningSimulator) -> str:
    """Return a bearer token for `shared_simulator`."""
    config = shared_simulator.config
    reply = httpx.post(
        shared_simulator.url + "/api/2/idp/token",
        data={"grant_type": "client_credentials"},
        auth=(config.client_id, config.client_secret),
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


@pytest.fixture(scope="module")
def raw_client(shared_simulator: RunningSimulator, shared_token: str) -> Client:
    """Return a raw-socket client for `shared_simulator`."""
    return Client(shared_simulator, shared_token)
