"""The resource and policy caps, as a careless operator meets them: what they fold must show.

The exporter runs as a real process against the demo simulator over real HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import start_exporter, wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.processes import ExporterProcess

pytestmark = pytest.mark.slow


def _folded(exporter: ExporterProcess) -> dict[str, float]:
    try:
        text = exporter.get("/metrics").text
    except httpx.TransportError:
        return {}
    return {
        sample.labels["label"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "acronis_exporter_label_values_folded"
    }


def test_resources_and_policies_beyond_their_caps_are_counted_as_folded(tmp_path: Path) -> None:
    """--metrics.max-resources 1 folds every other resource: label_values_folded must say how many."""
    args = ["--demo", "--metrics.resources", "--metrics.max-resources", "1", "--metrics.max-policies", "1",
            "--poll.interval", "1"]  # fmt: skip
    with start_exporter(args, workdir=tmp_path) as exporter:
        wait_until(
            lambda: _folded(exporter).get("resource_id", 0) > 0 and _folded(exporter).get("policy_id", 0) > 0,
            timeout=60,
            what=f"resource_id and policy_id folds counted: {_folded(exporter)}",
        )


def test_without_resources_no_resource_fold_rows(tmp_path: Path) -> None:
    """The opt-in source's labels show up only when it is used (goldens stay as they are)."""
    with start_exporter(["--demo", "--poll.interval", "1"], workdir=tmp_path) as exporter:
        folded = _folded(exporter)
        assert folded
        assert not {"resource_id", "policy_id", "resource_type", "policy_type"} & folded.keys()
