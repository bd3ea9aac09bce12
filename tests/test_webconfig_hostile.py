"""A web config file written by a careless or hostile hand: each case a defect a review found.

The exporter runs as a real process. A file it cannot honour safely is one line on stderr
and exit 2 at start, never a traceback, a hang, or a setting that does harm when served.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import bcrypt
import pytest

from tests.support.certs import self_signed
from tests.support.processes import run_exporter

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow  # the exporter as a subprocess

_HASH = bcrypt.hashpw(b"right-password", bcrypt.gensalt(rounds=4)).decode()
START_BOUND = 60.0  # seconds: far beyond a start that refuses at once, well short of a hang


def _refused(path: Path, *expected: str) -> str:
    result = run_exporter(["--demo", "--web.config.file", str(path)], timeout=START_BOUND)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for part in ("web.config_file", *expected):
        assert part in result.stderr, result.stderr
    return result.stderr


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


def test_a_web_config_nested_beyond_the_parser_is_refused(tmp_path: Path) -> None:
    """PyYAML recurses per level: two thousand were a RecursionError traceback."""
    config = tmp_path / "web.yml"
    config.write_text("basic_auth_users: " + "[" * 2000 + "]" * 2000 + "\n")
    _refused(config, "nested too deeply")


def _with_client_ca(tmp_path: Path, client_ca_file: str) -> Path:
    cert, key = self_signed(tmp_path)
    config = tmp_path / "web.yml"
    config.write_text(
        "tls_server_config:\n"
        f"  cert_file: {cert}\n  key_file: {key}\n  client_ca_file: '{client_ca_file}'\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
    )
    return config


@pytest.mark.parametrize(
    ("ca", "problem"),
    [
        ("missing-ca.pem", "cannot read"),  # was a FileNotFoundError traceback
        ("", "must name a file"),  # was read as ".", the directory: IsADirectoryError
        ("a-directory", "is not a regular file"),
        ("a-fifo", "is not a regular file"),  # opened, it blocked the start forever
        ("junk.pem", "holds no usable PEM certificate"),
    ],
    ids=["missing", "empty", "directory", "fifo", "not-pem"],
)
def test_a_client_ca_file_that_does_not_load_is_named(tmp_path: Path, ca: str, problem: str) -> None:
    """The client CA goes through the certificate's guards: one line naming it, never a traceback or hang."""
    (tmp_path / "a-directory").mkdir()
    os.mkfifo(tmp_path / "a-fifo")
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    _refused(_with_client_ca(tmp_path, ca), "tls_server_config.client_ca_file", problem)


@pytest.mark.parametrize("key", ["cert_file", "key_file"])
def test_an_empty_certificate_or_key_path_is_refused(tmp_path: Path, key: str) -> None:
    """An empty path is no file: it must not be taken for the web config's own directory."""
    cert, key_file = self_signed(tmp_path)
    paths = {"cert_file": str(cert), "key_file": str(key_file), key: ""}
    config = tmp_path / "web.yml"
    config.write_text(
        f"tls_server_config:\n  cert_file: '{paths['cert_file']}'\n  key_file: '{paths['key_file']}'\n"
    )
    _refused(config, f"tls_server_config.{key}", "must name a file")


def test_a_bcrypt_prefix_bcrypt_cannot_check_is_refused_naming_the_user(tmp_path: Path) -> None:
    """A "$2$" hash passed the check, then bcrypt raised on every login, which nothing logged."""
    hashed = _HASH.replace("$2b$", "$2$", 1)
    config = tmp_path / "web.yml"
    config.write_text(f"basic_auth_users:\n  admin: '{hashed}'\n")
    stderr = _refused(config, "basic_auth_users.admin", "not a bcrypt hash")
    assert hashed.removeprefix("$2$04$") not in stderr  # the salt and digest are never shown
