"""The values settings are made of: bounded numbers, secret and TLS files, URLs without passwords.

Every numeric setting of every section is tried with non-finite, negative and huge values
from flags, the environment and YAML; every secret file with binary, empty, oversized and
non-regular files; the TLS files with files that do not load.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel

from exporter import listener, transport
from exporter.config import ENV_PREFIX, ApiSettings, Settings, load
from exporter.errors import ConfigError
from tests.support import certs

if TYPE_CHECKING:
    from pathlib import Path

URL = "https://eu2-cloud.acronis.com"
SECRET = "s3cr3t-client-secret-value"  # noqa: S105 - a test value that must never leak


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test without the operator's ACRONIS_EXPORTER_* variables."""
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


def minimal(*extra: str) -> list[str]:
    """Return flags for a usable configuration, plus `extra`."""
    return ["--api.url", URL, "--api.client-id", "client-1", *extra]


def numeric_settings() -> list[tuple[str, type]]:
    """Return (dotted name, int or float) for every numeric setting of every section."""
    found: list[tuple[str, type]] = []
    for section, field in Settings.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for name, inner in model.model_fields.items():
            kind = inner.annotation
            if kind is int or kind is float:
                found.append((f"{section}.{name}", int if kind is int else float))
    return found


NUMERIC = numeric_settings()
NOT_A_NUMBER = ["inf", "-inf", "nan", "1e400", "1e12", "-1"]


class TestNumbers:
    """Every numeric setting refuses non-finite, negative and absurdly large values, from any source."""

    def test_the_settings_have_numbers_to_check(self) -> None:
        """The table below covers the timeouts, the interval, the overlap and the page size."""
        names = {name for name, _ in NUMERIC}
        assert {"api.timeout", "poll.interval", "poll.completion_overlap", "api.page_size"} <= names

    @pytest.mark.parametrize("value", NOT_A_NUMBER)
    @pytest.mark.parametrize(("name", "kind"), NUMERIC, ids=[name for name, _ in NUMERIC])
    def test_flag(self, name: str, kind: type, value: str) -> None:
        """--section.name=<value> is one line naming the setting."""
        flag = "--" + name.replace("_", "-")
        with pytest.raises(ConfigError) as caught:
            load(["--demo", f"{flag}={value}"])
        assert str(caught.value).startswith(f"{name}: "), kind

    @pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
    @pytest.mark.parametrize(("name", "kind"), NUMERIC, ids=[name for name, _ in NUMERIC])
    def test_environment(self, monkeypatch: pytest.MonkeyPatch, name: str, kind: type, value: str) -> None:
        """ACRONIS_EXPORTER_SECTION__NAME=<value> is refused the same way."""
        monkeypatch.setenv(ENV_PREFIX + name.replace(".", "__").upper(), value)
        with pytest.raises(ConfigError) as caught:
            load(["--demo"])
        assert str(caught.value).startswith(f"{name}: "), kind

    @pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1.0e+300"])
    @pytest.mark.parametrize(("name", "kind"), NUMERIC, ids=[name for name, _ in NUMERIC])
    def test_yaml(self, tmp_path: Path, name: str, kind: type, value: str) -> None:
        """YAML's own infinities and NaN are refused the same way."""
        section, key = name.split(".")
        path = tmp_path / "exporter.yaml"
        path.write_text(f"{section}:\n  {key}: {value}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load(["--demo", "--config.file", str(path)])
        assert str(caught.value).startswith(f"{name}: "), kind

    @pytest.mark.parametrize(
        ("flag", "expected"),
        [
            ("--poll.interval=inf", "poll.interval: input should be a finite number"),
            ("--poll.interval=1e-9", "poll.interval: input should be greater than or equal to 1"),
            ("--api.timeout=86401", "api.timeout: input should be less than or equal to 86400"),
            ("--api.connect-timeout=0", "api.connect_timeout: input should be greater than 0"),
            ("--api.max-pages=10000000", "api.max_pages: input should be less than or equal to 1000000"),
        ],
    )
    def test_the_line_says_what_is_wrong(self, flag: str, expected: str) -> None:
        """Finite, positive where zero is meaningless, and at most a day or a million."""
        with pytest.raises(ConfigError, match=re.escape(expected)):
            load(["--demo", flag])

    def test_a_day_and_a_million_are_accepted(self) -> None:
        """The bounds are generous: the largest accepted values still load."""
        settings = load(["--demo", "--poll.interval", "86400", "--api.max-pages", "1000000"])
        assert (settings.poll.interval, settings.api.max_pages) == (86400.0, 1_000_000)


class TestFiles:
    """Secret and TLS files that cannot be used stop the start with one line naming the file."""

    @pytest.mark.parametrize(
        ("content", "problem"),
        [(b"\xff\xfe\x00secret", "is not UTF-8 text"), (b"", "is empty"), (b"  \n\t\n", "is empty")],
        ids=["binary", "empty", "blank"],
    )
    @pytest.mark.parametrize(
        "setting",
        [
            "api.client_secret_file",
            "api.password_file",
            "api.bearer_token_file",
            "web.basic_auth_password_file",
        ],
    )
    def test_unusable_secret_file(self, tmp_path: Path, setting: str, content: bytes, problem: str) -> None:
        """A binary, empty or blank secret file is refused at start-up, by path."""
        path = tmp_path / "secret"
        path.write_bytes(content)
        flag = "--" + setting.replace("_", "-")
        extra = ["--web.basic-auth-username", "u"] if setting.startswith("web.") else []
        with pytest.raises(ConfigError) as caught:
            load(["--demo", flag, str(path), *extra])
        assert str(caught.value).startswith(f"{setting}: {path} {problem}")

    @pytest.mark.parametrize(
        ("flag", "setting"),
        [
            ("--api.client-secret-file", "api.client_secret_file"),
            ("--api.ca-file", "api.ca_file"),
            ("--web.tls-cert-file", "web.tls_cert_file"),
        ],
    )
    def test_a_device_or_directory_is_refused_without_reading_it(
        self, tmp_path: Path, flag: str, setting: str
    ) -> None:
        """/dev/zero would never end and a FIFO would block: only regular files are read."""
        extra = ["--web.tls-key-file", str(tmp_path)] if setting.startswith("web.") else []
        for path in ("/dev/zero", str(tmp_path)):
            with pytest.raises(ConfigError) as caught:
                load(["--demo", flag, path, *extra])
            assert str(caught.value).startswith(f"{setting}: {path} is not a regular file")

    def test_an_oversized_secret_file_is_refused(self, tmp_path: Path) -> None:
        """A file far larger than any secret is a wrong file, not a secret to hold in memory."""
        path = tmp_path / "secret"
        path.write_bytes(b"a" * (64 * 1024 + 1))
        with pytest.raises(ConfigError, match=r"api.client_secret_file: .* is larger than 64 KiB"):
            load(minimal("--api.client-secret-file", str(path)))

    def test_a_section_given_garbage_in_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """ACRONIS_EXPORTER_API=garbage names the variable and how sections are set."""
        monkeypatch.setenv("ACRONIS_EXPORTER_API", "garbage")
        with pytest.raises(ConfigError) as caught:
            load(["--demo"])
        message = str(caught.value)
        assert message.startswith("api: cannot parse the environment variable ACRONIS_EXPORTER_API;")
        assert "ACRONIS_EXPORTER_API__<SETTING>" in message

    def test_a_section_given_a_scalar_in_yaml(self, tmp_path: Path) -> None:
        """api: 5 in YAML is one line saying a section is a mapping."""
        path = tmp_path / "exporter.yaml"
        path.write_text("api: 5\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"^api: expected a mapping of settings"):
            load(["--demo", "--config.file", str(path)])


class TestTlsFiles:
    """The listener and the API client load TLS files as the settings check them: named, never prompting."""

    def test_listener_refuses_an_encrypted_key_at_once(self, tmp_path: Path) -> None:
        """A key changed to an encrypted one after start-up fails with the file named, not a prompt."""
        cert, key = certs.self_signed(tmp_path)
        encrypted = certs.encrypted_copy(key)
        expected = rf"^web.tls_key_file: {re.escape(str(encrypted))} is encrypted"
        with pytest.raises(ConfigError, match=expected):
            listener.tls_context(str(cert), str(encrypted))

    def test_client_names_a_ca_file_that_holds_no_certificate(self, tmp_path: Path) -> None:
        """The API client's CA bundle is named when it does not load."""
        cert, key = certs.self_signed(tmp_path)
        api = ApiSettings(ca_file=cert)
        assert transport.tls_verify(api) is not True
        with pytest.raises(ConfigError, match=rf"^api.ca_file: {re.escape(str(key))} holds no usable PEM"):
            transport.tls_verify(api.model_copy(update={"ca_file": key}))


class TestUrlUserinfo:
    """A user:password@ in api.url is dropped, so no log, error or page can show it."""

    def test_userinfo_is_dropped_and_nothing_else(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Host, port and path stay; the password is nowhere in the settings."""
        monkeypatch.setenv("ACRONIS_EXPORTER_API__CLIENT_SECRET", SECRET)
        settings = load(minimal("--api.url", "https://ops:url-pass-word@dc.example:8443/base"))
        assert settings.api.base_url == "https://dc.example:8443/base"
        assert "url-pass-word" not in repr(settings) + str(settings.redacted())
