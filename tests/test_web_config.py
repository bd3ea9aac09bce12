"""--web.config.file, exporter-toolkit's format, with the exporter as a real process over HTTP(S)."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import bcrypt
import httpx
import pytest
from pydantic import SecretStr

from exporter.bcrypt_auth import BcryptUsers
from tests.support.certs import self_signed
from tests.support.processes import run_exporter, start_exporter

if TYPE_CHECKING:
    from pathlib import Path

USER, PASSWORD = "prometheus", "scrape-pass-5b1e"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()  # cost 4: fast, still bcrypt
HEADERS = {"X-Frame-Options": "deny", "Strict-Transport-Security": "max-age=31536000"}


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``; return the path."""
    path.write_text(text, encoding="utf-8")
    return path


def full_config(directory: Path) -> Path:
    """Write a web config: TLS verifying client certificates, bcrypt users, headers; relative paths."""
    self_signed(directory, "server")
    self_signed(directory, "client")
    return write(
        directory / "web.yml",
        f"""\
tls_server_config:
  cert_file: server-cert.pem
  key_file: server-key.pem
  client_ca_file: client-cert.pem
  client_auth_type: RequireAndVerifyClientCert
  min_version: TLS12
http_server_config:
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  {USER}: '{HASH}'
""",
    )


@pytest.mark.slow  # the exporter as a subprocess
class TestServedWithTheFile:
    """TLS with client certificates, bcrypt basic auth and headers, as the file says."""

    def test_https_client_cert_bcrypt_auth_and_headers(self, tmp_path: Path) -> None:
        """The right certificate and password scrape; a wrong password, or no client certificate, do not."""
        config = full_config(tmp_path)
        server_ca = ssl.create_default_context(cafile=tmp_path / "server-cert.pem")
        with_cert = ssl.create_default_context(cafile=tmp_path / "server-cert.pem")
        with_cert.load_cert_chain(tmp_path / "client-cert.pem", tmp_path / "client-key.pem")
        args = ["--demo", "--web.config.file", str(config)]
        with start_exporter(args, workdir=tmp_path, scheme="https", verify=with_cert) as exporter:
            scraped = exporter.get("/metrics", auth=(USER, PASSWORD))
            assert scraped.status_code == 200
            assert "acronis_up" in scraped.text
            assert {name: scraped.headers.get(name) for name in HEADERS} == HEADERS
            assert "Content-Security-Policy" not in scraped.headers  # blank: unset, as in exporter-toolkit
            assert exporter.get("/metrics", auth=(USER, PASSWORD + "x")).status_code == 401
            assert exporter.get("/metrics", auth=("nobody", PASSWORD)).status_code == 401
            assert exporter.get("/metrics").status_code == 401
            assert exporter.get("/healthz").status_code == 200  # probes stay open
            again = exporter.get("/metrics", auth=(USER, PASSWORD))  # served from the verified cache
            assert again.status_code == 200
            with pytest.raises(httpx.TransportError):  # no client certificate: the handshake fails
                httpx.get(exporter.url + "/healthz", verify=server_ca, timeout=10)
            assert exporter.stop() == 0
        assert PASSWORD not in exporter.stderr()

    def test_plain_http_with_bcrypt_users_only(self, tmp_path: Path) -> None:
        """A file with only basic_auth_users guards plain HTTP; headers apply to every answer."""
        config = write(
            tmp_path / "web.yml",
            f"basic_auth_users:\n  {USER}: '{HASH}'\n"
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
        )
        with start_exporter(["--demo", "--web.config.file", str(config)], workdir=tmp_path) as exporter:
            assert exporter.get("/metrics", auth=(USER, PASSWORD)).status_code == 200
            denied = exporter.get("/metrics", auth=(USER, "wrong"))
            assert denied.status_code == 401
            assert denied.headers["X-Frame-Options"] == "deny"


@pytest.mark.slow  # the exporter as a subprocess
class TestRefused:
    """A file the exporter cannot honour is one line and exit 2, never a setting silently dropped."""

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ("tls_server_config:\n  cert_file: a.pem\n  bogus: 1\n", "tls_server_config.bogus"),
            ("basic_auth_user:\n  a: b\n", "basic_auth_user: unknown key"),
            ("http_server_config:\n  headers:\n    Server: x\n", "http_server_config.headers"),
            ("basic_auth_users:\n  admin: plaintext-password\n", "not a bcrypt hash"),
            ("tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "cipher_suites is not"),
            ("rate_limit:\n  burst: 3\n", "rate_limit is not supported"),
            ("tls_server_config:\n  cert_file: missing.pem\n  key_file: nokey.pem\n", "missing.pem"),
            ("tls_server_config: [\n", "not valid YAML at line 1"),
        ],
    )
    def test_bad_file_is_one_line_exit_2(self, tmp_path: Path, content: str, expected: str) -> None:
        """Unknown or unsupported keys, a plain password, a missing certificate: exit 2, one line."""
        config = write(tmp_path / "web.yml", content)
        result = run_exporter(["--demo", "--web.config.file", str(config)])
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert "web.config_file" in result.stderr
        assert expected in result.stderr
        assert "plaintext-password" not in result.stderr

    @pytest.mark.parametrize("flag", ["--web.tls-cert-file", "--web.basic-auth-username"])
    def test_the_same_thing_by_flag_and_file_is_refused(self, tmp_path: Path, flag: str) -> None:
        """TLS or basic auth given both by flag and by the file: exit 2, one line naming both."""
        config = full_config(tmp_path)
        cert, key = tmp_path / "server-cert.pem", tmp_path / "server-key.pem"
        both = {
            "--web.tls-cert-file": ["--web.tls-cert-file", str(cert), "--web.tls-key-file", str(key)],
            "--web.basic-auth-username": ["--web.basic-auth-username", "u", "--web.basic-auth-password", "p"],
        }[flag]
        result = run_exporter(["--demo", "--web.config.file", str(config), *both])
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1
        assert flag in result.stderr


class TestBcryptUsers:
    """The verifier: right and wrong passwords, unknown users, and the cache of verified pairs."""

    def test_verified_pairs_are_remembered_failures_are_not(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The bcrypt check runs once for a user's repeated scrapes, and again for every wrong guess."""
        users = BcryptUsers({USER: SecretStr(HASH)})
        checks: list[bytes] = []
        real = bcrypt.checkpw

        def counting(password: bytes, hashed: bytes) -> bool:
            checks.append(password)
            return real(password, hashed)

        monkeypatch.setattr(bcrypt, "checkpw", counting)
        right = httpx.BasicAuth(USER, PASSWORD)._auth_header
        wrong = httpx.BasicAuth(USER, "nope")._auth_header
        assert [users.allows(right) for _ in range(5)] == [True] * 5
        assert [users.allows(wrong) for _ in range(3)] == [False] * 3
        assert users.allows(httpx.BasicAuth("nobody", PASSWORD)._auth_header) is False
        assert len(checks) == 1 + 3 + 1  # the unknown user is checked against a stand-in hash
        assert users.allows(None) is False
        assert users.allows("Basic !!!") is False
        too_long = httpx.BasicAuth(USER, "x" * 100)._auth_header  # past bcrypt's 72 bytes
        assert users.allows(too_long) is False

    def test_only_a_pair_verified_before_is_decided_without_a_bcrypt_check(self) -> None:
        """The serving loop answers inline only what needs no bcrypt check; the rest goes to a worker."""
        users = BcryptUsers({USER: SecretStr(HASH)})
        right = httpx.BasicAuth(USER, PASSWORD)._auth_header
        wrong = httpx.BasicAuth(USER, "nope")._auth_header
        assert users.decides_at_once(None) is True  # no credentials: refused at once
        assert users.decides_at_once(right) is False
        assert users.allows(right) is True
        assert users.decides_at_once(right) is True
        assert users.allows(wrong) is False
        assert users.decides_at_once(wrong) is False  # failures are not remembered
        assert users.decides_at_once(httpx.BasicAuth("nobody", PASSWORD)._auth_header) is False
