"""promtool check metrics, Prometheus' own linter, is silent on everything we expose."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from simulator.config import DEMO_CLIENT_SECRET
from tests.support.processes import start_exporter
from tests.support.prometheus import PROMTOOL, prometheus_available

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import RunningSimulator

pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.skipif(not prometheus_available(), reason="needs Debian's prometheus package"),
]
GOLDEN = Path(__file__).parent / "golden"


def promtool_check_metrics(exposition: str) -> tuple[int, str]:
    """Run ``promtool check metrics`` on an exposition; return its exit status and all output."""
    result = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=exposition, capture_output=True, text=True, check=False
    )
    return result.returncode, result.stdout + result.stderr


class TestPromtoolCheckMetrics:
    """Exposition that promtool would flag never ships."""

    def test_live_metrics_of_a_running_exporter_pass(
        self, simulator_factory: Callable[..., RunningSimulator], tmp_path: Path
    ) -> None:
        """The full /metrics of an exporter polling the simulator (data, self, process) is clean."""
        simulator = simulator_factory(wall_clock=True)
        args = ["--api.url", simulator.url, "--api.client-id", simulator.config.client_id]
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": DEMO_CLIENT_SECRET}
        with start_exporter(args, env=env, workdir=tmp_path) as exporter:
            response = exporter.get("/metrics")
        assert response.status_code == 200
        assert "acronis_open_tasks{" in response.text
        assert promtool_check_metrics(response.text) == (0, "")

    @pytest.mark.parametrize("golden", sorted(GOLDEN.glob("*.prom")), ids=lambda path: path.name)
    def test_committed_golden_file_passes(self, golden: Path) -> None:
        """Each tests/golden/*.prom file is clean, so the goldens never pin a lint failure."""
        assert promtool_check_metrics(golden.read_text()) == (0, "")
