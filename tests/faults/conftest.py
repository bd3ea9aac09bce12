"""The fault rig (simulator, gate, exporter, Prometheus), started once for the whole fault suite.

Every scenario switches its faults off and waits for a healthy poll before it ends, so
the scenarios can share one rig; the clock-skew module starts rigs of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.faults.rig import Rig, running_rig
from tests.support.prometheus import require_prometheus

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="package")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """Start a healthy rig, measure its steady request rate, and stop it after the suite."""
    require_prometheus()
    with running_rig(tmp_path_factory.mktemp("rig")) as started:
        started.measure_steady_rate()
        yield started
