"""Fixtures of the simulator's own contract tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .helpers import Api

if TYPE_CHECKING:
    from collections.abc import Iterator

    from exporter.simulator import RunningSimulator


@pytest.fixture
def api(simulator: RunningSimulator) -> Iterator[Api]:
    """Return an httpx client for the `simulator` fixture."""
    client = Api(simulator)
    yield client
    client.close()
