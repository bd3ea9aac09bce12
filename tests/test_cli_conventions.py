"""What a newcomer meets first: --version, --help, one-line errors, quiet answers, plain logs."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from exporter import PRODUCT, __version__
from exporter.build import REVISION_ENV
from tests.support.processes import run_exporter, start_exporter

if TYPE_CHECKING:
    from pathlib import Path

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z.-]*[a-z]")


def git_head() -> str:
    """Return the commit this checkout is at (the tests run from one)."""
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def help_text() -> str:
    """Return what --help prints."""
    result = run_exporter(["--help"])
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow  # the console script as a subprocess
class TestVersion:
    """--version names the product, its version, the git revision and the Python."""

    def test_version_from_a_checkout_names_its_commit(self) -> None:
        """One line on stdout, exit 0; the revision is the checkout's HEAD."""
        result = run_exporter(["--version"])
        assert result.returncode == 0
        assert result.stderr == ""
        python = f"{sys.implementation.name.replace('cpython', 'CPython')} {sys.version.split()[0]}"
        assert result.stdout == f"{PRODUCT} {__version__} (revision {git_head()}, {python})\n"

    def test_an_image_revision_wins_over_the_checkout(self) -> None:
        """The image's ACRONIS_TASK_EXPORTER_REVISION is what it reports, also in build_info."""
        result = run_exporter(["--version"], env={REVISION_ENV: "0123abc"})
        assert "(revision 0123abc," in result.stdout
        once = run_exporter(["--demo", "--once"], env={REVISION_ENV: "0123abc"})
        assert re.search(r'acronis_exporter_build_info\{[^}]*revision="0123abc"', once.stdout), once.stdout[
            -2000:
        ]

    def test_build_info_from_a_checkout_carries_its_commit(self) -> None:
        """Run from this checkout, build_info's revision is HEAD."""
        once = run_exporter(["--demo", "--once"])
        assert f'revision="{git_head()}"' in once.stdout


@pytest.mark.slow  # the console script as a subprocess
class TestHelp:
    """--help speaks of values, not of Python types."""

    def test_placeholders_are_words_not_type_names(self) -> None:
        """No HttpUrl, SecretStr, Path, list[...], str, int or float where a value goes."""
        text = help_text()
        placeholders = re.findall(r"^\s+--[a-z][a-z.-]+ ([^\s,]+)", text, re.MULTILINE)
        assert len(placeholders) > 40
        python_names = {"HttpUrl", "SecretStr", "Path", "str", "int", "float", "bool", "JSON"}
        assert [p for p in placeholders if p in python_names or "[" in p.replace("[HOST]", "")] == []
        for expected in (
            "--api.url URL",
            "--api.client-secret SECRET",
            "--web.config.file FILE",
            "--poll.queues QUEUE",
        ):
            assert expected in text, expected

    def test_version_and_the_new_flags_are_listed(self) -> None:
        """--version, --healthcheck, --web.config.file and --web.telemetry-path are in --help."""
        text = help_text()
        for flag in ("--version", "--healthcheck", "--web.config.file", "--web.telemetry-path"):
            assert flag in text, flag


@pytest.mark.slow  # the console script as a subprocess
class TestOneLineErrors:
    """A bad value names a flag that exists, and a broken YAML file a line it has."""

    @pytest.mark.parametrize(
        ("args", "env"),
        [
            (["--metrics.drop-labels", "bogus"], {}),
            (["--metrics.drop-labels", "queue", "--metrics.drop-labels", "tenant"], {}),
            ([], {"ACRONIS_EXPORTER_METRICS__DROP_LABELS": "queue,nope"}),
            ([], {"ACRONIS_EXPORTER_POLL__QUEUES": "[1]"}),
            (["--web.telemetry-path", "/healthz"], {}),
            (["--web.telemetry-path", "metrics"], {}),
        ],
    )
    def test_every_suggested_flag_exists(self, args: list[str], env: dict[str, str]) -> None:
        """Exit 2 with one line; each flag it suggests is one --help lists."""
        result = run_exporter(["--demo", *args], env=env)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1, result.stderr
        suggested = set(FLAG.findall(result.stderr))
        assert suggested, result.stderr
        known = set(FLAG.findall(help_text()))
        assert suggested - known == set(), result.stderr
        variables = set(re.findall(r"ACRONIS_EXPORTER_[A-Z_]+", result.stderr))
        assert variables <= set(re.findall(r"ACRONIS_EXPORTER_[A-Z_]+", help_text())), result.stderr

    @pytest.mark.parametrize(
        ("content", "line"),
        [
            ("api:\n  url: [\n", 2),  # unclosed at the end of the file
            ('poll:\n  interval: "60\n', 2),  # an unclosed quote
            ("api:\n  url: x\n bad: y\npoll: {}\n", 3),  # indentation
            ("demo: true\napi: {url: x\n", 2),  # no final newline either way
        ],
    )
    def test_broken_yaml_names_a_line_the_file_has(self, tmp_path: Path, content: str, line: int) -> None:
        """The line reported is within the file, where the problem is."""
        path = tmp_path / "exporter.yaml"
        path.write_text(content, encoding="utf-8")
        result = run_exporter(["--config.file", str(path)])
        assert result.returncode == 2
        assert result.stderr.rstrip().endswith(f"is not valid YAML at line {line}"), result.stderr


@pytest.mark.slow  # the console script as a subprocess
class TestQuietAnswers:
    """One-shot modes answer in one line; the console format writes no colour codes off a terminal."""

    def test_check_config_prints_its_verdict_only(self) -> None:
        """--check-config: one line on stdout, nothing on stderr, exit 0."""
        result = run_exporter(["--demo", "--check-config"])
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert result.stdout.count("\n") == 1
        assert result.stdout.startswith(f"{PRODUCT}: configuration ok: ")

    def test_an_explicit_log_level_still_logs(self) -> None:
        """--log.level info with --check-config shows the log lines, as asked."""
        result = run_exporter(["--demo", "--check-config", "--log.level", "info"])
        assert result.returncode == 0
        assert "token_minted" in result.stderr

    def test_console_format_writes_no_colour_codes_to_a_pipe(self) -> None:
        """--log.format console to a pipe: readable key=value lines without ANSI escapes."""
        result = run_exporter(["--demo", "--check-config", "--log.level", "info", "--log.format", "console"])
        assert "config_loaded" in result.stderr
        assert "\x1b[" not in result.stderr


@pytest.mark.slow  # the exporter as a subprocess
class TestTelemetryPath:
    """--web.telemetry-path moves the metrics; the probes and the landing page follow."""

    def test_metrics_move_and_the_landing_page_links_them(self, tmp_path: Path) -> None:
        """/scrape/here serves the exposition, /metrics is 404, / links the new path."""
        args = ["--demo", "--web.telemetry-path", "/scrape/here"]
        with start_exporter(args, workdir=tmp_path) as exporter:
            moved = exporter.get("/scrape/here")
            assert moved.status_code == 200
            assert "acronis_up" in moved.text
            assert exporter.get("/metrics").status_code == 404
            assert 'href="/scrape/here"' in exporter.get("/").text
            assert exporter.get("/healthz").status_code == 200

    @pytest.mark.parametrize("path", ["/my%20metrics", "/metrics%2F..", "/%6detrics"])
    def test_a_path_with_an_escape_is_refused_as_no_scraper_could_reach_it(self, path: str) -> None:
        """Requests are routed by their decoded path: an escaped one was 404 for ever, its own link too."""
        result = run_exporter(["--demo", "--web.telemetry-path", path])
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1, result.stderr
        assert "web.telemetry_path: give the path unescaped, without %" in result.stderr
