"""The benchmark harness runs end to end at its smallest scale; it never asserts a timing.

The real benchmark (``make bench``) takes minutes and never runs in the test suite. This
runs ``python -m bench --quick`` once, as a person would, and checks that what it wrote
is complete: every section, a verdict for every target, the Markdown copy, and that the
exporter it measured was healthy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.report import SECTIONS

REPO = Path(__file__).resolve().parents[1]
TARGET_IDS = {
    "independent_of_history",
    "requests_within_formula",
    "cycle_about_longest_chain",
    "cpu_within_twice_decode",
    "rss_under_150mb",
    "rss_under_150mb_every_tenant",
    "rss_not_history",
    "scrape_p99_10k",
    "scrape_cpu_10k",
    "faster_than_default",
}


@dataclass(frozen=True)
class QuickRun:
    """What one `python -m bench --quick` run left behind."""

    json_path: Path
    document: dict[str, Any]
    stdout: str


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """Run the harness at the smoke scale once for every test in this module."""
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return QuickRun(out, json.loads(out.read_text(encoding="utf-8")), result.stdout)


@pytest.mark.slow
class TestQuickRun:
    """`python -m bench --quick` writes a complete result."""

    def test_json_has_every_section_with_rows(self, quick_run: QuickRun) -> None:
        """Each cost the issue names has its own section, and none is empty."""
        sections = quick_run.document["sections"]
        assert set(sections) == set(SECTIONS)
        assert all(sections[name] for name in SECTIONS), {name: len(rows) for name, rows in sections.items()}

    def test_every_target_gets_a_verdict(self, quick_run: QuickRun) -> None:
        """Every target of the issue is judged PASS, MISS or N/A, with the measured figure beside it."""
        targets = quick_run.document["targets"]
        assert {target["id"] for target in targets} == TARGET_IDS
        assert all(target["status"] in {"PASS", "MISS", "N/A"} and target["measured"] for target in targets)

    def test_run_says_when_and_where_it_ran(self, quick_run: QuickRun) -> None:
        """The document names its date, command and machine, as the README quotes them."""
        document = quick_run.document
        assert document["generated_at"]
        assert "--quick" in document["command"]
        assert {"uname", "cpu_model", "cpus", "memory_gib"} <= set(document["machine"])

    def test_measured_exporter_was_healthy(self, quick_run: QuickRun) -> None:
        """The exporter the harness measured reported acronis_up 1 after its steady cycle."""
        assert [row["acronis_up"] for row in quick_run.document["sections"]["memory"]] == [1.0]

    def test_upstream_rows_split_requests_into_counts_and_pages(self, quick_run: QuickRun) -> None:
        """Every steady request is either a count query or a listing page, and the formula bound is set."""
        for row in quick_run.document["sections"]["upstream"]:
            assert row["steady_requests"] == row["count_queries"] + row["listing_pages"]
            assert row["formula_allowed"] >= row["count_queries"] + 4  # one page per listing at least

    def test_markdown_copy_matches_stdout_and_render(self, quick_run: QuickRun) -> None:
        """The .md beside the JSON is what the run printed, and --render reprints it from the JSON."""
        markdown = quick_run.json_path.with_suffix(".md").read_text(encoding="utf-8")
        rendered = subprocess.run(
            [sys.executable, "-m", "bench", "--render", str(quick_run.json_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        assert markdown == quick_run.stdout == rendered
        assert "### Targets" in markdown
