"""The fault rig (simulator, gate, exporter, Prometheus), started once per fault module.

Every scenario switches its faults off and waits for a healthy poll before it ends, so
the scenarios of a module can share one rig; the clock-skew module starts rigs of its own.
Not one rig for the whole package: the simulated clock, the workload and the exporter's
watermark carry over from one scenario to the next, and a module's scenarios hold for the
state its own earlier scenarios leave (a repeated cursor needs a second page of
completions, for one), not for whatever another module left. Under xdist a package
fixture was torn down whenever a worker ran a module of another package in between, so
each module mostly got a rig of its own anyway, by accident of the order.
"""

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
