"""The chart's README is generated from the values comments and kept in step with them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scripts.chart_readme import README, documented_keys, main, render_readme, undocumented

if TYPE_CHECKING:
    from pathlib import Path


def test_the_checked_in_readme_is_the_generators_output() -> None:
    """Edit values.yaml, then run `python -m scripts.chart_readme`; this fails until then."""
    assert README.read_text(encoding="utf-8") == render_readme()


def test_every_value_is_documented() -> None:
    """Each leaf of values.yaml has a `# --` comment, or sits under a key that has one."""
    assert undocumented() == []


def test_a_description_documents_the_key_below_it_with_its_nested_path(tmp_path: Path) -> None:
    """Continuation lines join; plain comments and blank lines end a description unused."""
    text = """\
# Section heading, not a description.
outer:
  # -- First line
  # second line.
  inner: 1
  # -- Dropped by the blank line.

  other: [a]
# -- Top level.
top: {a: 1}
"""
    rows = [(row.path, row.description) for row in documented_keys(text)]
    assert rows == [("outer.inner", "First line second line."), ("top", "Top level.")]
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "values.yaml").write_text(text)
    (chart / "Chart.yaml").write_text("name: c\ndescription: d\nversion: 1.0.0\nappVersion: '1'\n")
    assert "| `outer.inner` | int | `1` | First line second line. |" in render_readme(chart)
    assert undocumented(chart) == ["outer.other"]


def test_check_mode_passes_on_the_checked_in_readme() -> None:
    """`--check` (for CI and pre-commit) exits 0 when the README is current."""
    assert main(["--check"]) == 0
