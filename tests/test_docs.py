"""The README documents what the exporter really exposes and accepts."""

from __future__ import annotations

import re
from pathlib import Path

from exporter import metrics

README = Path(__file__).resolve().parent.parent / "README.md"


def _exposed_name(spec: metrics.MetricSpec) -> str:
    return spec.name + "_total" if spec.type == "counter" else spec.name


def _catalogue() -> list[metrics.MetricSpec]:
    return [value for value in vars(metrics).values() if isinstance(value, metrics.MetricSpec)]


class TestReadmeMetrics:
    """The metric table in the README matches the catalogue in exporter/metrics.py."""

    def test_every_family_in_the_catalogue_is_documented_with_its_labels(self) -> None:
        """Each family has a README row naming its type and every one of its labels."""
        rows = {
            match.group(1): match.group(0)
            for match in re.finditer(r"^\| `([a-z_]+)` \|.*$", README.read_text(), re.MULTILINE)
        }
        for spec in _catalogue():
            name = _exposed_name(spec)
            assert name in rows, f"README lacks a row for {name}"
            row = rows[name]
            assert f"| {spec.type} |" in row, f"README gives {name} the wrong type"
            for label in spec.labels:
                assert f"`{label}`" in row, f"README row for {name} lacks label {label}"

    def test_the_readme_documents_no_family_the_exporter_lacks(self) -> None:
        """Every acronis_ row in the metric table names a family the catalogue has."""
        known = {_exposed_name(spec) for spec in _catalogue()}
        documented = re.findall(r"^\| `(acronis_[a-z_]+)` \|", README.read_text(), re.MULTILINE)
        assert documented, "README has no metric table"
        assert sorted(set(documented) - known) == []
