"""The README documents what the exporter really exposes and accepts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from exporter import catalogue
from exporter.config import Settings
from scripts import config_table

README = Path(__file__).resolve().parent.parent / "README.md"


def _exposed_name(spec: catalogue.MetricSpec) -> str:
    return spec.name + "_total" if spec.type == "counter" else spec.name


def _catalogue() -> list[catalogue.MetricSpec]:
    return [value for value in vars(catalogue).values() if isinstance(value, catalogue.MetricSpec)]


class TestReadmeMetrics:
    """The metric table in the README matches the catalogue in exporter/catalogue.py."""

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


class TestReadmeSettings:
    """The settings table in the README matches what --help offers."""

    def test_every_flag_and_environment_variable_is_documented(self) -> None:
        """Each flag --help lists, and its environment variable, appears in the README."""
        result = subprocess.run(
            [sys.executable, "-m", "exporter", "--help"], capture_output=True, text=True, check=True
        )
        flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z.-]+)", result.stdout))
        # argparse's own, and the kebab-case twins of the dotted shortcuts (--config-file is
        # --config.file's): the README names each setting once, by its shortcut.
        twins = {f"--{name}" for name in Settings.model_config.get("cli_shortcuts") or {}}
        flags -= {"--help", *twins}
        flags = {flag.rstrip(".") for flag in flags if not flag.startswith("--no-")}  # prose ends in a dot
        envs = set(re.findall(r"ACRONIS_EXPORTER_[A-Z_]+", result.stdout))
        readme = README.read_text()
        assert len(flags) > 40, "--help lists too few flags: did its format change?"
        assert sorted(flag for flag in flags if f"`{flag}`" not in readme) == []
        assert sorted(env for env in envs if f"`{env}`" not in readme) == []

    def test_the_settings_table_is_the_generated_one(self) -> None:
        """README's configuration table equals scripts/config_table.py's output, row for row."""
        readme = README.read_text()
        assert config_table.readme_table(readme), "README lacks the config-table markers"
        assert config_table.readme_table(readme) == config_table.table(), (
            "README's settings table drifted from the model: python -m scripts.config_table --write"
        )

    def test_every_setting_has_a_row_with_its_help_text(self) -> None:
        """Each row's meaning is the field's --help text: a setting added to the model shows up."""
        rows = config_table.table().splitlines()[2:]
        assert len(rows) > 40
        assert all(row.count(" | ") == 3 and not row.endswith("|  |") for row in rows), rows
