"""A web config file written by a careless or hostile hand: each case a defect a review found.

The exporter runs as a real process. A file it cannot honour safely is one line on stderr
and exit 2 at start, never a traceback, a hang, or a setting that does harm when served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import bcrypt
import pytest

from tests.support.processes import run_exporter

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow  # the exporter as a subprocess

_HASH = bcrypt.hashpw(b"right-password", bcrypt.gensalt(rounds=4)).decode()
START_BOUND = 60.0  # seconds: far beyond a start that refuses at once, well short of a hang


def _refused(path: Path, *expected: str) -> None:
    result = run_exporter(["--demo", "--web.config.file", str(path)], timeout=START_BOUND)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for part in ("web.config_file", *expected):
        assert part in result.stderr, result.stderr


@pytest.mark.parametrize(
    "value",
    [
        '"DENY\\r\\nSet-Cookie: session=stolen"',
        '"DENY\\nX-Injected: 1"',
        '"DENY\\u0000"',
        '"default-src \\u2014 self"',  # beyond Latin-1: no reply could carry it, every one failed
        '"frame-ancestors \\u00e9"',  # obs-text: a client may read it as anything
    ],
)
def test_a_header_value_that_would_split_or_break_the_response_is_refused(tmp_path: Path, value: str) -> None:
    """A CR, LF or other control character would inject headers; a non-ASCII one failed every reply."""
    config = tmp_path / "web.yml"
    config.write_text(f"http_server_config:\n  headers:\n    X-Frame-Options: {value}\n")
    _refused(config, "http_server_config.headers.X-Frame-Options")


@pytest.mark.parametrize(
    ("cost", "why"),
    [("03", "cost"), ("31", "cost"), ("99", "cost")],
)
def test_a_bcrypt_cost_bcrypt_cannot_or_should_not_pay_is_refused(
    tmp_path: Path, cost: str, why: str
) -> None:
    """Cost 3 crashed the start with a traceback; cost 31 hung it (and every wrong guess) for hours."""
    config = tmp_path / "web.yml"
    config.write_text(f"basic_auth_users:\n  admin: '{_HASH.replace('$04$', f'${cost}$', 1)}'\n")
    _refused(config, "basic_auth_users.admin", why)


def test_a_hash_with_a_trailing_newline_is_not_taken_for_bcrypt(tmp_path: Path) -> None:
    """The check let a newline through, and the user then could never log in, silently."""
    config = tmp_path / "web.yml"
    config.write_text(f'basic_auth_users:\n  admin: "{_HASH}\\n"\n')
    _refused(config, "not a bcrypt hash")


def test_a_web_config_that_never_ends_is_refused(tmp_path: Path) -> None:
    """/dev/zero, a FIFO or a multi-gigabyte file must not hang the start or fill memory."""
    del tmp_path
    _refused_path = "/dev/zero"
    result = run_exporter(["--demo", "--web.config.file", _refused_path], timeout=START_BOUND)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "not a regular file" in result.stderr


def test_a_huge_web_config_is_refused(tmp_path: Path) -> None:
    """A file far larger than any web config is refused by its size, unread."""
    config = tmp_path / "web.yml"
    config.write_text("# padding\n" * 2_000_000)
    _refused(config, "too large")
