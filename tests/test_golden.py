"""A seeded simulator workload, polled by the real poller, renders a committed exposition."""

from __future__ import annotations

import random
import subprocess
from typing import TYPE_CHECKING

import pytest
from pydantic import HttpUrl, SecretStr

from exporter.app import build
from exporter.catalogue import SOURCE_DURATION
from exporter.config import ApiSettings, Settings
from tests.support.golden import assert_golden
from tests.support.prometheus import PROMTOOL, require_prometheus

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import ManualClock, RunningSimulator

# How long each source took depends on the machine, not the workload: never golden.
VARYING_FAMILIES = frozenset({SOURCE_DURATION.name})
POLLS = 3
STEP = 900.0  # seconds of simulated time between polls: enough for completions to land


def without_varying_families(exposition: str) -> str:
    """Drop the HELP, TYPE and sample lines of families whose values depend on the machine."""
    kept = []
    for line in exposition.splitlines(keepends=True):
        words = line.split(" ", 3)
        name = words[2] if line.startswith("#") and len(words) > 2 else line.split("{", 1)[0].split(" ", 1)[0]
        if name not in VARYING_FAMILIES:
            kept.append(line)
    return "".join(kept)


@pytest.fixture
def seeded_exposition(simulator_factory: Callable[..., RunningSimulator], clock: ManualClock) -> str:
    """Poll a seeded workload three times, 15 simulated minutes apart, render after each; return the last."""
    simulator = simulator_factory(seed=20261, tasks=400, open_tasks=60, tenants=8, completion_rate=0.05)
    config = simulator.config
    api = ApiSettings(
        url=HttpUrl(simulator.url), client_id=config.client_id, client_secret=SecretStr(config.client_secret)
    )
    exporter = build(Settings(api=api), clock=clock.now, monotonic=clock.now, rng=random.Random(0))  # noqa: S311 - a seeded jitter, not crypto
    try:
        for poll in range(POLLS):
            if poll:
                simulator.workload.advance(STEP)
            exporter.poller.poll_once()
            text = exporter.exposition.data("text").decode()  # after every poll, as Prometheus would
    finally:
        exporter.close()
    return without_varying_families(text)


class TestSeededGolden:
    """The whole pipeline, simulator to exposition, is deterministic and lint-clean."""

    def test_seeded_workload_renders_the_golden_file(
        self, seeded_exposition: str, *, update_golden: bool
    ) -> None:
        """Three polls of the seeded workload render exactly tests/golden/seeded.prom."""
        assert_golden("seeded.prom", seeded_exposition, update=update_golden)

    @pytest.mark.prometheus
    def test_seeded_exposition_passes_promtool(self, seeded_exposition: str) -> None:
        """Linting with promtool check metrics prints nothing and exits 0 on the seeded exposition."""
        require_prometheus()
        result = subprocess.run(
            [PROMTOOL, "check", "metrics"],
            input=seeded_exposition,
            capture_output=True,
            text=True,
            check=False,
        )
        assert (result.returncode, result.stdout + result.stderr) == (0, "")

    def test_seeded_exposition_counts_completions_and_tenants(self, seeded_exposition: str) -> None:
        """The golden is not trivially empty: it holds completions and tenant names."""
        assert "acronis_tasks_completed_total{" in seeded_exposition
        assert "acronis_tenant_info{" in seeded_exposition
        assert "acronis_up 1.0" in seeded_exposition
