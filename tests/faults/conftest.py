"""The fault rig, started once per test module (simulator, gate, exporter, Prometheus)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.faults.rig import Rig, running_rig
from tests.support.prometheus import require_prometheus

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """Start a healthy rig, measure its steady request rate, and stop it after the module."""
    require_prometheus()
    with running_rig(tmp_path_factory.mktemp("rig")) as started:
        started.measure_steady_rate()
        yield started
