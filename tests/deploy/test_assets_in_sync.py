"""One source of truth: every generated or copied asset equals what scripts/assets would write."""

from __future__ import annotations

from scripts.assets.__main__ import expected_files, stale_files
from tests.deploy.paths import CHART, REPO


class TestAssetsInSync:
    """Dashboards, Grafana-managed alerts and the chart's copies match their sources."""

    def test_no_generated_or_copied_asset_is_stale(self) -> None:
        """`python -m scripts.assets --check` would pass: run `python -m scripts.assets` to fix."""
        stale = [str(path.relative_to(REPO)) for path in stale_files()]
        assert stale == [], "stale assets; regenerate with `python -m scripts.assets`"

    def test_chart_ships_every_dashboard_and_rule_file(self) -> None:
        """The chart's files/ holds a copy of each dashboard and rule file, and nothing else."""
        owned = {path for path, _ in expected_files() if path.is_relative_to(CHART)}
        present = {path for path in (CHART / "files").rglob("*") if path.is_file()}
        assert present == owned
        assert any(path.suffix == ".json" for path in owned)
        assert any(path.name.endswith(".rules.yaml") for path in owned)
