"""Settings: precedence, nested names, secret files, one-line errors, masking, --help."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from exporter import config
from exporter.config import ENV_PREFIX, ApiSettings, Settings, WebSettings, load
from exporter.errors import ConfigError

URL = "https://eu2-cloud.acronis.com"
SECRET = "s3cr3t-client-secret-value"  # noqa: S105 - a test value that must never leak
PASSWORD = "p4ssw0rd-value-never-shown"  # noqa: S105 - ditto
BEARER = "bearer-token-value-never-shown"
GOLDEN = Path(__file__).parent / "golden" / "help.txt"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test without the operator's ACRONIS_EXPORTER_* variables."""
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """Write a client-secret file as Kubernetes mounts it (trailing newline)."""
    path = tmp_path / "client-secret"
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


def minimal(*extra: str) -> list[str]:
    """Return flags for a usable configuration, plus `extra`."""
    return ["--api.url", URL, "--api.client-id", "client-1", *extra]


class TestPrecedence:
    """Flags beat the environment, which beats the YAML file, which beats defaults."""

    @pytest.fixture
    def yaml_file(self, tmp_path: Path) -> Path:
        """Write a YAML file setting the poll interval and the listen address."""
        path = tmp_path / "exporter.yaml"
        path.write_text("poll:\n  interval: 10\nweb:\n  listen_address: ':9000'\n", encoding="utf-8")
        return path

    def test_each_source_overrides_the_ones_below_it(
        self, monkeypatch: pytest.MonkeyPatch, yaml_file: Path
    ) -> None:
        """poll.interval comes from the flag, else the environment, else YAML, else the default."""
        monkeypatch.setenv("ACRONIS_EXPORTER_API__CLIENT_SECRET", SECRET)
        assert load(minimal()).poll.interval == 60.0
        assert load(minimal("--config.file", str(yaml_file))).poll.interval == 10.0
        monkeypatch.setenv("ACRONIS_EXPORTER_POLL__INTERVAL", "20")
        assert load(minimal("--config.file", str(yaml_file))).poll.interval == 20.0
        assert load(minimal("--config.file", str(yaml_file), "--poll.interval", "30")).poll.interval == 30.0

    def test_environment_overrides_one_key_of_a_yaml_section(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """Sections merge key by key: the environment's api.client_id leaves YAML's api.url alone."""
        path = tmp_path / "exporter.yaml"
        path.write_text(f"api:\n  url: {URL}\n  client_id: from-yaml\n  timeout: 5\n", encoding="utf-8")
        monkeypatch.setenv("ACRONIS_EXPORTER_API__CLIENT_ID", "from-env")
        monkeypatch.setenv("ACRONIS_EXPORTER_API__CLIENT_SECRET", SECRET)
        settings = load(["--config.file", str(path)])
        assert (settings.api.base_url, settings.api.client_id, settings.api.timeout) == (URL, "from-env", 5.0)

    def test_config_file_can_be_named_in_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, yaml_file: Path
    ) -> None:
        """ACRONIS_EXPORTER_CONFIG_FILE is read like --config.file."""
        monkeypatch.setenv("ACRONIS_EXPORTER_CONFIG_FILE", str(yaml_file))
        monkeypatch.setenv("ACRONIS_EXPORTER_API__CLIENT_SECRET", SECRET)
        settings = load(minimal())
        assert (settings.web.listen_address, settings.config_file) == (":9000", yaml_file)

    def test_nested_environment_names_use_double_underscores(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Every section is reachable as ACRONIS_EXPORTER_<SECTION>__<KEY>."""
        for name, value in {
            "API__URL": URL,
            "API__CLIENT_ID": "env-client",
            "API__CLIENT_SECRET": SECRET,
            "WEB__LISTEN_ADDRESS": "127.0.0.1:9100",
            "LOG__LEVEL": "debug",
            "METRICS__MAX_TENANTS": "7",
            "DEMO": "false",
        }.items():
            monkeypatch.setenv(ENV_PREFIX + name, value)
        settings = load([])
        assert settings.api.client_id == "env-client"
        assert settings.web.host_port() == ("127.0.0.1", 9100)
        assert (settings.log.level, settings.metrics.max_tenants) == ("debug", 7)

    def test_lists_come_from_repeated_flags_commas_or_json(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Queues and dropped labels read naturally from flags and from the environment."""
        monkeypatch.setenv("ACRONIS_EXPORTER_API__CLIENT_SECRET", SECRET)
        assert load(minimal("--poll.queues", "a", "--poll.queues", "b")).poll.queues == ["a", "b"]
        monkeypatch.setenv("ACRONIS_EXPORTER_POLL__QUEUES", "backup, scan")
        monkeypatch.setenv("ACRONIS_EXPORTER_METRICS__DROP_LABELS", '["priority", "task_type"]')
        settings = load(minimal())
        assert settings.poll.queues == ["backup", "scan"]
        assert settings.metrics.drop_labels == ["priority", "task_type"]


class TestSecrets:
    """Secrets come from values or files and never show in a repr, str or redacted dump."""

    def test_client_secret_is_read_from_its_file_and_stripped(self, secret_file: Path) -> None:
        """The file's content, without the trailing newline, is the secret."""
        settings = load(minimal("--api.client-secret-file", str(secret_file)))
        resolved = settings.api.resolved_client_secret()
        assert resolved is not None
        assert resolved.get_secret_value() == SECRET

    def test_a_rotated_secret_file_is_read_again(self, secret_file: Path) -> None:
        """A secret file is re-read on every use, so a rotated Kubernetes secret takes effect."""
        settings = load(minimal("--api.client-secret-file", str(secret_file)))
        secret_file.write_text("rotated-secret\n", encoding="utf-8")
        resolved = settings.api.resolved_client_secret()
        assert resolved is not None
        assert resolved.get_secret_value() == "rotated-secret"

    def test_secrets_are_masked_in_repr_str_and_redacted(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No secret value appears in any rendering of the settings."""
        monkeypatch.setenv("ACRONIS_EXPORTER_API__CLIENT_SECRET", SECRET)
        monkeypatch.setenv("ACRONIS_EXPORTER_API__PASSWORD", PASSWORD)
        monkeypatch.setenv("ACRONIS_EXPORTER_WEB__BASIC_AUTH_PASSWORD", PASSWORD + "-web")
        settings = load(minimal("--web.basic-auth-username", "prometheus"))
        renderings = [repr(settings), str(settings), repr(settings.api), str(settings.redacted())]
        for text in renderings:
            assert SECRET not in text
            assert PASSWORD not in text
        assert settings.redacted()["api"]["client_secret"] == "*" * 10

    def test_a_static_bearer_token_needs_no_client_credentials(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """api.bearer_token alone is a usable configuration, and stays masked."""
        monkeypatch.setenv("ACRONIS_EXPORTER_API__BEARER_TOKEN", BEARER)
        settings = load(["--api.url", URL])
        assert settings.api.resolved_bearer_token() == SecretStr(BEARER)
        assert BEARER not in repr(settings)

    def test_settings_are_frozen(self) -> None:
        """Nothing can change settings after load: they flow down explicitly."""
        settings = load(["--demo"])
        with pytest.raises(ValidationError):
            settings.api.timeout = 1.0  # type: ignore[misc] # the point: frozen models refuse it


class TestErrors:
    """Every unusable setting is one readable line naming it, never its secret."""

    @pytest.mark.parametrize(
        ("argv", "expected"),
        [
            ([], "api.url: field required (set --api.url or ACRONIS_EXPORTER_API__URL)"),
            (["--api.url", "not a url", "--api.client-id", "c"], "api.url: input should be a valid URL"),
            (["--api.url", "ftp://dc.example", "--api.client-id", "c"], "api.url: URL scheme should be"),
            (["--api.url", URL], "api.client_id: field required for the client_credentials grant"),
            (minimal("--poll.interval", "-5"), "poll.interval: input should be greater than or equal to 1"),
            (minimal("--poll.jitter", "0.9"), "poll.jitter: input should be less than or equal to 0.5"),
            (minimal("--api.page-size", "0"), "api.page_size: input should be greater than or equal to 1"),
            (minimal("--api.concurrency", "64"), "api.concurrency: input should be less than or equal to 32"),
            (minimal("--web.listen-address", "9862"), "web.listen_address: expected host:port or :port"),
            (minimal("--web.listen-address", ":99999"), "web.listen_address: expected host:port or :port"),
            (minimal("--web.tls-cert-file", "/etc/hostname"), "web.tls_cert_file: set both"),
            (minimal("--web.basic-auth-username", "u"), "web.basic_auth_username: set both"),
            (
                minimal("--metrics.tenant-name-allow", "("),
                "metrics.tenant_name_allow: not a regular expression",
            ),
            (
                minimal("--log.level", "loud"),
                "log.level: input should be 'debug', 'info', 'warning' or 'error'",
            ),
        ],
    )
    def test_bad_setting_is_one_line_without_the_secret(
        self, monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: str
    ) -> None:
        """load() raises ConfigError whose single line starts with the setting's name."""
        monkeypatch.setenv("ACRONIS_EXPORTER_API__CLIENT_SECRET", SECRET)
        with pytest.raises(ConfigError) as caught:
            load(argv)
        message = str(caught.value)
        assert message.startswith(expected)
        assert "\n" not in message
        assert SECRET not in message

    def test_missing_secret_names_the_flag_and_variable(self) -> None:
        """Without a client secret the message says where to put one."""
        with pytest.raises(ConfigError, match=r"api\.client_secret: field required") as caught:
            load(minimal())
        assert "ACRONIS_EXPORTER_API__CLIENT_SECRET" in str(caught.value)

    def test_unreadable_secret_file_names_the_path_not_the_content(self, secret_file: Path) -> None:
        """A secret file we cannot open is reported by path at start-up."""
        missing = secret_file.with_name("absent")
        with pytest.raises(ConfigError) as caught:
            load(minimal("--api.client-secret-file", str(missing)))
        assert str(caught.value).startswith(f"api.client_secret_file: cannot read {missing}")
        secret_file.chmod(0)
        if os.access(secret_file, os.R_OK):  # root reads anything: the missing file covers it
            return
        with pytest.raises(ConfigError, match="Permission denied") as caught:
            load(minimal("--api.client-secret-file", str(secret_file)))
        assert SECRET not in str(caught.value)

    def test_a_secret_given_twice_is_ambiguous(
        self, monkeypatch: pytest.MonkeyPatch, secret_file: Path
    ) -> None:
        """A value and a file for the same secret is an error, not a silent choice."""
        monkeypatch.setenv("ACRONIS_EXPORTER_API__CLIENT_SECRET", SECRET)
        with pytest.raises(ConfigError, match=r"set api\.client_secret or api\.client_secret_file, not both"):
            load(minimal("--api.client-secret-file", str(secret_file)))

    def test_password_grant_needs_a_password(self) -> None:
        """grant_type=password asks for username and password instead of client credentials."""
        with pytest.raises(ConfigError, match=r"api\.password: field required for the password grant"):
            load(["--api.url", URL, "--api.grant-type", "password", "--api.username", "ops"])

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ("api: [unclosed\n", "is not valid YAML at line 1"),  # the file has one line
            ("- a list\n", "must hold a mapping of settings"),
            ("api:\n  urll: x\n", "api.urll: unknown setting"),
        ],
    )
    def test_bad_yaml_file_is_one_line(self, tmp_path: Path, content: str, expected: str) -> None:
        """A YAML file that cannot be read as settings is named in one line."""
        path = tmp_path / "exporter.yaml"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ConfigError, match=expected) as caught:
            load(minimal("--config.file", str(path)))
        assert "\n" not in str(caught.value)

    def test_missing_yaml_file_is_named(self, tmp_path: Path) -> None:
        """--config.file pointing nowhere is an error, not silently ignored."""
        with pytest.raises(ConfigError, match=r"config.file: cannot read .*nowhere.yaml"):
            load(["--config.file", str(tmp_path / "nowhere.yaml")])

    def test_unknown_flag_is_named_with_a_suggestion_and_nothing_printed(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A mistyped flag is one ConfigError line naming it; argparse prints no usage block."""
        with pytest.raises(ConfigError) as caught:
            load(["--api.ulr", URL])
        assert str(caught.value) == "unknown flag --api.ulr; did you mean --api.url?"
        assert capsys.readouterr().err == ""

    @pytest.mark.parametrize(
        "argv",
        [
            ["--api.client-secrt", SECRET],
            [f"--api.client-secrt={SECRET}"],
            ["--demo", SECRET],
            [f"--demo={SECRET}"],
            ["--log.level", "info", SECRET, "--api.client-secret"],
            ["--api.client-secret"],
        ],
        ids=["typo-then-value", "typo=value", "stray-value", "flag=value", "trailing", "missing-value"],
    )
    def test_usage_errors_never_repeat_a_value(self, argv: list[str]) -> None:
        """Whatever argparse objects to, the line names a flag at most, never a value given."""
        with pytest.raises(ConfigError) as caught:
            load(minimal(*argv))
        assert SECRET not in str(caught.value)
        assert SECRET[:4] not in str(caught.value)
        assert "\n" not in str(caught.value)


class TestDemoAndHelpers:
    """The demo switch, the simulator variant, and the listen address parser."""

    def test_demo_needs_no_url_or_credentials(self) -> None:
        """--demo alone is a complete configuration."""
        settings = load(["--demo"])
        assert settings.demo
        assert settings.api.url is None

    def test_for_simulator_points_the_api_at_the_simulator(self) -> None:
        """for_simulator swaps URL and credentials and keeps every other setting."""
        settings = load(["--demo", "--api.timeout", "3", "--api.insecure-skip-verify"])
        simulated = settings.for_simulator("http://127.0.0.1:8080", "demo-client", "demo-secret")
        assert simulated.api.base_url == "http://127.0.0.1:8080"
        assert simulated.api.resolved_client_secret() == SecretStr("demo-secret")
        assert (simulated.api.timeout, simulated.api.insecure_skip_verify) == (3.0, False)
        assert settings.api.url is None

    @pytest.mark.parametrize(
        ("address", "expected"),
        [(":9862", ("", 9862)), ("127.0.0.1:0", ("127.0.0.1", 0)), ("[::1]:9862", ("::1", 9862))],
    )
    def test_listen_address_splits_into_host_and_port(self, address: str, expected: tuple[str, int]) -> None:
        """host:port, :port and bracketed IPv6 all parse."""
        assert WebSettings(listen_address=address).host_port() == expected

    def test_api_settings_construct_without_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Sections are plain models: tests and callers build them without env leaking in."""
        monkeypatch.setenv("ACRONIS_EXPORTER_API__TIMEOUT", "99")
        assert ApiSettings().timeout == 30.0


class TestHelp:
    """--help documents every setting with its variable and default."""

    @staticmethod
    def render_help(capsys: pytest.CaptureFixture[str]) -> str:
        """Return what --help prints."""
        with pytest.raises(SystemExit) as caught:
            load(["--help"])
        assert caught.value.code == 0
        return capsys.readouterr().out

    def test_help_matches_the_golden_file(
        self,
        capsys: pytest.CaptureFixture[str],
        update_golden: bool,  # noqa: FBT001 - a pytest fixture, not a flag argument
    ) -> None:
        """The --help text is exactly tests/golden/help.txt (rewrite it with --update-golden)."""
        text = self.render_help(capsys)
        if update_golden:
            GOLDEN.parent.mkdir(exist_ok=True)
            GOLDEN.write_text(text, encoding="utf-8")
        assert text == GOLDEN.read_text(encoding="utf-8")

    def test_help_lists_every_setting_with_its_environment_variable(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each field of each section appears as a flag and as ACRONIS_EXPORTER_<SECTION>__<KEY>."""
        text = " ".join(self.render_help(capsys).split())  # unwrap argparse's line breaks
        for dotted in setting_names():
            assert re.search(re.escape("--" + dotted.replace("_", "-")) + "[ ,]", text), dotted
            assert f"[env: {ENV_PREFIX}{dotted.replace('.', '__').upper()}]" in text

    def test_module_docstring_states_the_precedence(self) -> None:
        """The order operators rely on is written where the code is."""
        assert config.__doc__ is not None
        assert "1. command-line flags" in config.__doc__
        assert "4. defaults" in config.__doc__


def setting_names() -> list[str]:
    """Return every setting as a dotted name: api.url, ..., demo, config_file."""
    names: list[str] = []
    for name, info in Settings.model_fields.items():
        section = info.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            names.extend(f"{name}.{key}" for key in section.model_fields)
        else:
            names.append(name)
    return names
