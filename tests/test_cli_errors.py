"""Unusable settings, run as operators run them: exit 2, one line on stderr, no secret in any form.

Every case runs the real console script with the client secret in its environment and
then checks the whole of stderr: exactly one line, the program's error prefix, the
setting or flag at fault named, and neither the secret nor its base64, URL-encoded or
partial forms anywhere in what the process wrote.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

import pytest
from prometheus_client import CollectorRegistry

from exporter.astra_client import AstraClient
from exporter.config import load as load_settings
from exporter.errors import ConfigError
from exporter.selfmetrics import SelfMetrics
from tests.support.certs import encrypted_copy, self_signed
from tests.support.processes import run_exporter

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import RunningSimulator

pytestmark = pytest.mark.slow  # each test starts the exporter CLI as a subprocess

PROG = "acronis-task-exporter"
CLIENT_ID = "cli-errors-client"
CANARY = "cli-Canary+Secret/7d2f"
API = ["--api.url", "https://dc.example", "--api.client-id", CLIENT_ID]
# Fails fast: a check that reaches the network at all should not wait on retries.
FAST = ["--api.max-retries", "0", "--api.timeout", "5"]
SAFE_CANARY = "cli-Canary-Proxy-7d2f"  # nothing in it ends a URL's userinfo
PROXIES = "ALL_PROXY/HTTPS_PROXY/HTTP_PROXY"
SOCKS_REFUSED = f"a SOCKS proxy in {PROXIES} is not supported: use an HTTP(S) proxy"
MALFORMED = f"a proxy URL in {PROXIES} is malformed or of an unknown scheme"


def secret_forms(secret: str, user: str = CLIENT_ID) -> dict[str, str]:
    """Return every form of `secret` that must not be shown, including its halves."""
    return {
        "plain": secret,
        "base64": base64.b64encode(secret.encode()).decode().rstrip("="),
        "basic": base64.b64encode(f"{user}:{secret}".encode()).decode().rstrip("="),
        "form-encoded": quote_plus(secret),
        "first half": secret[: len(secret) // 2],
        "second half": secret[len(secret) // 2 :],
    }


def assert_one_clean_line(stderr: str, *expected: str) -> None:
    """Stderr is one error line naming `expected`, and no form of the canary appears."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{PROG}: error: "), stderr
    for part in expected:
        assert part in lines[0], f"{part!r} not in {lines[0]!r}"
    leaks = [what for what, form in secret_forms(CANARY).items() if form in stderr]
    assert leaks == [], f"{leaks} of the secret in {stderr!r}"


def run(args: list[str], env: dict[str, str] | None = None, *, canary_in_env: bool = True) -> tuple[int, str]:
    """Run the exporter, by default with the canary secret in its environment; return exit code, stderr."""
    secret = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": CANARY} if canary_in_env else {}
    result = run_exporter(args, env={**secret, **(env or {})}, timeout=60)
    assert result.stdout == ""
    return result.returncode, result.stderr


class TestUsage:
    """A mistyped flag names the flag; the value given with it is never echoed."""

    @pytest.mark.parametrize(
        ("args", "expected"),
        [
            (
                ["--api.client-secrt", CANARY],
                "unknown flag --api.client-secrt; did you mean --api.client-secret",
            ),
            ([f"--api.client-secrt={CANARY}"], "unknown flag --api.client-secrt"),
            (["--demo", CANARY], "unexpected value on the command line"),
            ([f"--demo={CANARY}"], "argument --demo"),
            (["--api.timeout", "-inf"], "argument --api.timeout: expected one argument"),
        ],
        ids=["typo-value", "typo=value", "stray-value", "switch=value", "dash-value"],
    )
    def test_usage_error_is_one_line_without_the_value(self, args: list[str], expected: str) -> None:
        """Exit 2 and one line: no usage block, no value."""
        code, stderr = run([*API, *args])
        assert code == 2
        assert_one_clean_line(stderr, expected)


class TestNumbers:
    """Non-finite and out-of-range numbers are refused from flags, environment and YAML."""

    @pytest.mark.parametrize(
        ("args", "env", "expected"),
        [
            (["--poll.interval", "inf"], {}, "poll.interval: input should be a finite number"),
            (["--api.timeout", "inf"], {}, "api.timeout: input should be a finite number"),
            (["--poll.completion-overlap", "inf"], {}, "poll.completion_overlap: input should be a finite"),
            ([], {"ACRONIS_EXPORTER_POLL__INTERVAL": "nan"}, "poll.interval: input should be a finite"),
            ([], {"ACRONIS_EXPORTER_API__PAGE_SIZE": "99999999"}, "api.page_size: input should be less than"),
            (["--api.connect-timeout", "100000"], {}, "api.connect_timeout: input should be less than"),
        ],
        ids=["interval-inf", "timeout-inf", "overlap-inf", "env-nan", "env-huge-page", "timeout-over-a-day"],
    )
    def test_number_is_refused_in_one_line(self, args: list[str], env: dict[str, str], expected: str) -> None:
        """Exit 2, one line naming the setting."""
        code, stderr = run([*API, *args], env)
        assert code == 2
        assert_one_clean_line(stderr, expected)

    def test_yaml_infinity_is_refused(self, tmp_path: Path) -> None:
        """YAML's .inf is a float too, and refused like the flag."""
        config = tmp_path / "exporter.yaml"
        config.write_text("poll:\n  interval: .inf\n", encoding="utf-8")
        code, stderr = run([*API, "--config.file", str(config)])
        assert code == 2
        assert_one_clean_line(stderr, "poll.interval: input should be a finite number")


class TestFiles:
    """Secret and TLS files that cannot be used are named; nothing hangs or shows a traceback."""

    @pytest.mark.parametrize(
        ("content", "problem"),
        [(b"\xff\xfe" + CANARY.encode(), "is not UTF-8 text"), (b"\n", "is empty")],
        ids=["not-utf8", "empty"],
    )
    def test_unusable_secret_file(self, tmp_path: Path, content: bytes, problem: str) -> None:
        """The file is named with its problem, also under --check-config."""
        path = tmp_path / "client-secret"
        path.write_bytes(content)
        args = [*API, "--api.client-secret-file", str(path), "--check-config"]
        code, stderr = run(args, canary_in_env=False)  # the canary is in the file
        assert code == 2
        assert_one_clean_line(stderr, f"api.client_secret_file: {path} {problem}")

    @pytest.mark.parametrize(
        "token", [f"{CANARY}\n{CANARY}", f"two {CANARY}", f"{CANARY}\u00e9", f"x\t{CANARY}"]
    )
    @pytest.mark.parametrize("setting", ["api.bearer_token_file", "astra.token_file"])
    def test_a_token_file_no_header_can_carry(self, tmp_path: Path, token: str, setting: str) -> None:
        """A bearer token with a line break, a space or a non-ASCII character: the file is named, not sent."""
        path = tmp_path / "token"
        path.write_text(token, encoding="utf-8")
        flag = "--" + setting.replace("_", "-")
        args = ["--astra.url", "https://astra.example", "--astra.account-id", "a", flag, str(path)]
        if setting.startswith("api."):
            args = ["--api.url", "https://dc.example", flag, str(path)]
        code, stderr = run([*args, "--check-config"], canary_in_env=False)
        assert code == 2
        assert_one_clean_line(stderr, f"{setting}: {path} holds a space, a line break")

    @pytest.mark.parametrize(
        ("variable", "setting"),
        [
            ("ACRONIS_EXPORTER_API__BEARER_TOKEN", "api.bearer_token"),
            ("ACRONIS_EXPORTER_ASTRA__TOKEN", "astra.token"),
        ],
    )
    def test_a_token_no_header_can_carry(self, variable: str, setting: str) -> None:
        """The same token given in the environment is refused naming the setting, never quoting it."""
        args = ["--astra.url", "https://astra.example", "--astra.account-id", "a"]
        if setting.startswith("api."):
            args = ["--api.url", "https://dc.example"]
        code, stderr = run([*args, "--check-config"], {variable: f"two {CANARY}"}, canary_in_env=False)
        assert code == 2
        assert_one_clean_line(stderr, setting, "holds a space, a line break")

    def test_a_section_given_garbage_in_the_environment(self) -> None:
        """ACRONIS_EXPORTER_API=garbage is a line naming the variable, not a traceback."""
        code, stderr = run(["--demo", "--check-config"], {"ACRONIS_EXPORTER_API": "garbage"})
        assert code == 2
        assert_one_clean_line(stderr, "ACRONIS_EXPORTER_API")

    @pytest.mark.parametrize("broken", ["cert", "key", "mismatch", "encrypted"])
    def test_web_tls_files_that_do_not_load(self, tmp_path: Path, broken: str) -> None:
        """A certificate or key that does not load names its file; an encrypted key never prompts."""
        cert, key = self_signed(tmp_path)
        junk = tmp_path / "junk.pem"
        junk.write_text("not a PEM file\n", encoding="utf-8")
        files = {
            "cert": (junk, key, "web.tls_cert_file", junk),
            "key": (cert, junk, "web.tls_key_file", junk),
            "mismatch": (cert, self_signed(tmp_path, "other")[1], "web.tls_key_file", None),
            "encrypted": (cert, encrypted_copy(key), "web.tls_key_file", None),
        }
        cert_file, key_file, setting, named = files[broken]
        args = ["--demo", "--web.tls-cert-file", str(cert_file), "--web.tls-key-file", str(key_file)]
        code, stderr = run(args)
        assert code == 2
        assert_one_clean_line(stderr, setting, str(named or key_file))

    def test_api_ca_file_that_does_not_load(self, tmp_path: Path) -> None:
        """--check-config with a CA bundle that holds no certificate names the file."""
        bundle = tmp_path / "ca.pem"
        bundle.write_text("not a certificate\n", encoding="utf-8")
        code, stderr = run([*API, "--api.ca-file", str(bundle), "--check-config"])
        assert code == 2
        assert_one_clean_line(stderr, "api.ca_file", str(bundle))

    @pytest.mark.parametrize("problem", ["missing", "not-pem"])
    def test_astra_ca_file_that_does_not_load_is_named_as_astras(self, tmp_path: Path, problem: str) -> None:
        """--astra.ca-file that is missing or holds no certificate names astra.ca_file, not api.ca_file."""
        bundle = tmp_path / "astra-ca.pem"
        if problem == "not-pem":
            bundle.write_text("not a certificate\n", encoding="utf-8")
        token = tmp_path / "token"
        token.write_text("astra-token-value", encoding="utf-8")
        astra = ["--astra.url", "https://astra.example", "--astra.account-id", "a"]
        args = [*astra, "--astra.token-file", str(token), "--astra.ca-file", str(bundle), "--check-config"]
        code, stderr = run(args)
        assert code == 2
        assert_one_clean_line(stderr, "astra.ca_file", "--astra.ca-file", str(bundle))
        assert "api.ca" not in stderr

    def test_astra_clients_ca_file_is_named_as_astras_at_run_time_too(self, tmp_path: Path) -> None:
        """The Astra client, built from settings whose CA file has gone since, names astra.ca_file."""
        bundle = tmp_path / "astra-ca.pem"
        bundle.write_text(self_signed(tmp_path)[0].read_text(), encoding="utf-8")
        token = tmp_path / "token"
        token.write_text("astra-token-value", encoding="utf-8")
        astra = ["--astra.url", "https://astra.example", "--astra.account-id", "a"]
        settings = load_settings([*astra, "--astra.token-file", str(token), "--astra.ca-file", str(bundle)])
        bundle.unlink()
        with pytest.raises(ConfigError) as raised:
            AstraClient(settings.astra, settings.api, SelfMetrics(CollectorRegistry()))
        assert str(raised.value).startswith("astra.ca_file: ")
        assert str(bundle) in str(raised.value)


class TestCheckConfig:
    """--check-config answers in one line whatever the API sends, and never shows a URL password."""

    @pytest.mark.parametrize("fault", ["wrong_shape", "malformed_json", "truncate_json"])
    def test_api_data_errors_are_one_line(
        self, simulator_factory: Callable[..., RunningSimulator], fault: str
    ) -> None:
        """A count reply we cannot read: exit 1, the last line says so, no traceback."""
        sim = simulator_factory(wall_clock=True)
        getattr(sim.faults, fault)(times=None)
        args = ["--api.url", sim.url, "--api.client-id", sim.config.client_id, *FAST, "--check-config"]
        result = run_exporter(args, env={"ACRONIS_EXPORTER_API__CLIENT_SECRET": sim.config.client_secret})
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1].startswith(f"{PROG}: error: {sim.url} refused the check")

    def test_url_password_is_never_shown(self, simulator_factory: Callable[..., RunningSimulator]) -> None:
        """A user:password@ in api.url appears nowhere in what the check writes."""
        sim = simulator_factory(wall_clock=True)
        password = "url-Pass-5e8b0c"  # noqa: S105
        url = sim.url.replace("://", f"://ops:{password}@")
        args = ["--api.url", url, "--api.client-id", sim.config.client_id, *FAST, "--check-config"]
        for secret in (sim.config.client_secret, "wrong-secret-value"):
            result = run_exporter(args, env={"ACRONIS_EXPORTER_API__CLIENT_SECRET": secret})
            assert result.returncode in (0, 1), result.stderr
            assert password not in result.stdout + result.stderr
            assert password[:8] not in result.stdout + result.stderr


class TestProxyFromTheEnvironment:
    """httpx honours ALL_PROXY/HTTPS_PROXY; one the exporter cannot use stops the start in one line."""

    @pytest.mark.parametrize(
        ("variable", "url", "expected"),
        [
            ("ALL_PROXY", f"socks5://proxy-user:{SAFE_CANARY}@127.0.0.1:1080", SOCKS_REFUSED),
            ("HTTPS_PROXY", f"socks5h://proxy-user:{SAFE_CANARY}@127.0.0.1:1080", SOCKS_REFUSED),
            ("HTTPS_PROXY", f"http://proxy-user:{CANARY}@127.0.0.1:3128", MALFORMED),  # "/" ends the host
            ("HTTP_PROXY", f"gopher://proxy-user:{SAFE_CANARY}@127.0.0.1:70", MALFORMED),
        ],
        ids=["socks-all", "socks-https", "malformed", "unknown-scheme"],
    )
    def test_a_proxy_it_cannot_use_is_refused_without_its_credentials(
        self, variable: str, url: str, expected: str
    ) -> None:
        """Exit 2 with an error line, not a traceback; the proxy URL and its password are never shown.

        Found when the client is built, after the settings were logged: that line comes first.
        """
        code, stderr = run(API, {variable: url})
        assert code == 2
        assert "Traceback" not in stderr
        errors = [line for line in stderr.splitlines() if line.startswith(f"{PROG}: error: ")]
        assert errors == [f"{PROG}: error: {expected}"], stderr
        assert "proxy-user" not in stderr
        for secret in (CANARY, SAFE_CANARY):
            assert [what for what, form in secret_forms(secret).items() if form in stderr] == []


class TestHostileInput:
    """Input built to hang, exhaust or crash the start: one line and exit 2 all the same."""

    @pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
    def test_a_config_file_that_never_ends_is_refused_unread(self, tmp_path: Path, kind: str) -> None:
        """A FIFO blocked the start forever, /dev/zero filled memory, 300 MB parsed for minutes.

        The run's timeout is the failure: a refused file ends the process on its own.
        """
        path = tmp_path / "exporter.yaml"
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "huge":
            path.write_text("# padding\n" * 120_000, encoding="utf-8")  # valid YAML, over 1 MiB
        else:
            path = Path("/dev/zero")
        code, stderr = run(["--demo", "--check-config", "--config.file", str(path)])
        assert code == 2
        problem = "is too large" if kind == "huge" else "is not a regular file"
        assert_one_clean_line(stderr, f"config.file: {path} {problem}")

    def test_a_config_file_nested_beyond_the_parser_is_refused(self, tmp_path: Path) -> None:
        """PyYAML recurses per level: two thousand were a RecursionError traceback."""
        path = tmp_path / "exporter.yaml"
        path.write_text("poll: " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
        code, stderr = run([*API, "--config.file", str(path)])
        assert code == 2
        assert_one_clean_line(stderr, f"config.file: {path} is nested too deeply")

    def test_a_json_list_nested_beyond_the_parser_is_refused(self) -> None:
        """A list in the environment is JSON when it starts with "[": nesting crashed the parser."""
        code, stderr = run([*API], {"ACRONIS_EXPORTER_POLL__QUEUES": "[" * 3000})
        assert code == 2
        assert_one_clean_line(stderr, "poll.queues", "nested too deeply", "ACRONIS_EXPORTER_POLL__QUEUES")

    def test_a_section_nested_beyond_the_parser_gets_the_backstop(self) -> None:
        """Parsed inside pydantic-settings: the backstop names the kind of failure, not its text."""
        code, stderr = run([*API], {"ACRONIS_EXPORTER_API": "[" * 3000})
        assert code == 2
        assert_one_clean_line(stderr, "configuration could not be read (RecursionError")

    @pytest.mark.parametrize("pattern", ["a{99999999999}", "(" * 5000], ids=["overflow", "deep"])
    def test_a_name_pattern_python_cannot_compile_is_refused(self, pattern: str) -> None:
        """OverflowError and RecursionError, not only re.error, come out of re.compile."""
        code, stderr = run([*API, "--metrics.tenant-name-allow", pattern])
        assert code == 2
        assert_one_clean_line(stderr, "metrics.tenant_name_allow: not a regular expression")
        assert pattern not in stderr

    def test_a_section_given_one_value_in_the_file_is_refused_whatever_the_environment(
        self, tmp_path: Path
    ) -> None:
        """With a variable of that section set, the file's value was silently replaced; it is never echoed."""
        path = tmp_path / "exporter.yaml"
        path.write_text(f"api: {CANARY}\n", encoding="utf-8")
        args = ["--demo", "--check-config", "--config.file", str(path)]
        code, stderr = run(args, {"ACRONIS_EXPORTER_API__TIMEOUT": "5"}, canary_in_env=False)
        assert code == 2
        assert_one_clean_line(
            stderr, "api: expected a mapping of settings", "ACRONIS_EXPORTER_API__<SETTING>"
        )
