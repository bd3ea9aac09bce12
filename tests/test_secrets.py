"""No secret leaks: everything one faulty run produced is searched for every secret it handled.

One exporter runs with the password grant (so it holds a client secret, a password and
access tokens) behind basic auth (a web password), at debug level, through a tour of
every fault that makes it log errors. Then everything it produced is collected: its log
and stdout, every /metrics body in both formats, the landing page, probes and error
pages, ``--check-config`` and ``--once`` runs with good and bad credentials, and the
text, repr and traceback of an authentication error raised in-process. No collected
text may contain a secret, an access token the simulator issued, the base64 form in
which a secret travels in a Basic header, its form-encoded form, or eight characters of
one. A second scan runs against an API that echoes the credentials it receives inside its
error codes, padded so that the exporter's cut of the code falls inside the secret.
"""

from __future__ import annotations

import base64
import re
import traceback
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import parse_qs, quote, quote_plus, unquote

import httpx
import pytest
from prometheus_client import CollectorRegistry

from exporter.config import load
from exporter.errors import ApiError
from exporter.selfmetrics import SelfMetrics
from exporter.tokens import TokenSource
from simulator import RunningSimulator, SimulatorConfig, start_simulator
from tests.faults.exposition import Exposition
from tests.faults.watch import ScrapeWatch
from tests.support.json_stub import JsonHandler, JsonStub
from tests.support.processes import pause_for, run_exporter, start_exporter, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.support.processes import ExporterProcess

pytestmark = pytest.mark.slow  # spawns the exporter against a hostile API for a minute of CPU

CLIENT_ID = "leak-scan-client"
USERNAME = "leak-scan-user"
WEB_USER = "scraper"
# Distinctive values: a search for them cannot hit anything by chance.
CLIENT_SECRET = "cs-LEAKCANARY-91b2e7f04c"  # noqa: S105 - canaries, not credentials
PASSWORD = "pw-LEAKCANARY-5d8a13c6e2"  # noqa: S105
WEB_PASSWORD = "web-LEAKCANARY-0f6b29d7a4"  # noqa: S105
WRONG_SECRET = "wrong-LEAKCANARY-77c1d3e9b8"  # noqa: S105
URL_PASSWORD = "url-LEAKCANARY-3a9d5c1e70"  # noqa: S105
# For the echoing API: characters that base64, form and URL encoding all change.
ECHO_SECRET = "echo+LEAKCANARY/9e4&a1=c7"  # noqa: S105
ECHO_PASSWORD = "pw echo+LEAKCANARY&3f=b2%"  # noqa: S105
FAILURES = "acronis_exporter_refresh_failures_total"
# Each check of the tour scrapes and parses /metrics in the process that serves the
# simulator; checking five times a poll (1 s) leaves the CPU to the polls it waits for.
RECHECK = pause_for(0.2)
RETRY_AFTER_MAX = 2.0


@dataclass
class Collected:
    """Every text the run produced, labelled by where it came from, and the secrets it handled."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)  # what -> value

    def add(self, where: str, text: str) -> None:
        """Keep one produced text."""
        self.texts.append((where, text))


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _issued_tokens(sim: RunningSimulator) -> list[str]:
    """Return every access token the simulator has issued (its token store's keys)."""
    return list(sim._simulator.tokens._tokens)


def _write(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def _args(sim: RunningSimulator, tmp_path: Path) -> list[str]:
    return [
        "--api.url", sim.url,
        "--api.client-id", CLIENT_ID,
        "--api.client-secret-file", str(_write(tmp_path / "client-secret", CLIENT_SECRET)),
        "--api.grant-type", "password",
        "--api.username", USERNAME,
        "--api.password-file", str(_write(tmp_path / "password", PASSWORD)),
        "--api.page-size", "10",  # several pages, so cursor faults have cursors to break
        "--api.timeout", "1",
        "--api.max-retries", "1",
        "--api.backoff-initial", "0.05",
        "--api.backoff-max", "0.2",
        "--api.retry-after-max", f"{RETRY_AFTER_MAX:g}",
    ]  # fmt: skip


class _Tour:
    """Switch faults on one after another, each until the exporter has logged its failure."""

    def __init__(self, sim: RunningSimulator, exporter: ExporterProcess, client: httpx.Client) -> None:
        self._sim, self._exporter, self._client = sim, exporter, client

    def _failures(self, reason: str) -> float:
        text = self._client.get(self._exporter.url + "/metrics").text
        return Exposition.parse(text).total(FAILURES, reason=reason)

    def until_failed(
        self, reason: str, *switches: Callable[[], object], heal: Callable[[], object] = lambda: None
    ) -> None:
        """Switch faults on, wait for a refresh failure with ``reason``, then heal and wait for health."""
        before = self._failures(reason)
        for switch_on in switches:
            switch_on()
        wait_until(
            lambda: self._failures(reason) > before, timeout=30.0, what=f"a {reason} failure", pause=RECHECK
        )
        self._sim.faults.clear()
        heal()
        wait_until(self._healthy, timeout=90.0, what="a healthy poll after the fault", pause=RECHECK)

    def _healthy(self) -> bool:
        text = self._client.get(self._exporter.url + "/metrics").text
        return Exposition.parse(text).value("acronis_up") == 1

    def run(self) -> None:
        """Drive every fault that makes the exporter log an error."""
        faults = self._sim.faults
        self.until_failed("auth", faults.revoke_credentials, faults.expire_tokens)
        self.until_failed("http_5xx", faults.token_endpoint_down, faults.expire_tokens)
        # A token minted without the scope keeps failing after the role is back: expire it.
        self.until_failed("forbidden", faults.drop_scope, faults.expire_tokens, heal=faults.expire_tokens)
        self.until_failed("decode", lambda: faults.truncate_json(times=None))
        self.until_failed("decode", lambda: faults.malformed_json(times=None))
        self.until_failed("shape", lambda: faults.wrong_shape(times=None))
        self.until_failed("http_5xx", lambda: faults.fail(500, times=None))
        self.until_failed("throttled", lambda: faults.fail(429, times=None, retry_after=1))
        self.until_failed("throttled", lambda: faults.fail(429, times=None, retry_after=RETRY_AFTER_MAX + 1))
        self.until_failed("pagination", lambda: faults.repeat_cursor(times=None))
        self.until_failed("auth", lambda: faults.fail(401, times=None, html=True))
        faults.corrupt_items("null", count=3, times=4)


def _collect_pages(exporter: ExporterProcess, collected: Collected) -> None:
    auth = (WEB_USER, WEB_PASSWORD)
    for path in ("/", "/metrics", "/healthz", "/readyz", "/no-such-page"):
        collected.add(f"GET {path}", exporter.get(path, auth=auth).text)
    openmetrics = exporter.get("/metrics", auth=auth, headers={"Accept": "application/openmetrics-text"})
    collected.add("GET /metrics (OpenMetrics)", openmetrics.text)
    wrong = exporter.get("/metrics", auth=(WEB_USER, WRONG_SECRET))
    assert wrong.status_code == httpx.codes.UNAUTHORIZED
    collected.add("GET /metrics (wrong password)", wrong.text + str(wrong.headers))
    collected.add("GET /metrics (no credentials)", exporter.get("/metrics").text)
    posted = httpx.post(exporter.url + "/metrics", auth=auth, timeout=10.0)
    collected.add("POST /metrics", posted.text + str(posted.headers))


def _collect_cli_runs(sim: RunningSimulator, args: list[str], collected: Collected) -> None:
    for name, extra in (("check-config", ["--check-config"]), ("once", ["--once"])):
        result = run_exporter([*args, *extra])
        collected.add(f"--{name}", result.stdout + result.stderr)
    sim.faults.revoke_credentials()
    for name, extra in (("check-config", ["--check-config"]), ("once", ["--once"])):
        result = run_exporter([*args, *extra])
        collected.add(f"--{name} (revoked)", result.stdout + result.stderr)
    sim.faults.clear()
    wrong = [*args[:4], "--api.client-secret", WRONG_SECRET, *args[6:], "--check-config"]
    result = run_exporter(wrong)
    collected.add("--check-config (wrong secret)", result.stdout + result.stderr)
    result = run_exporter([*args, "--api.client-secrt", WRONG_SECRET, "--check-config"])
    collected.add("usage error (mistyped secret flag)", result.stdout + result.stderr)
    in_url = ["--api.url", sim.url.replace("://", f"://{USERNAME}:{URL_PASSWORD}@"), *args[2:]]
    for name, extra in (("check-config", ["--check-config"]), ("once", ["--once"])):
        result = run_exporter([*in_url, *extra])
        collected.add(f"--{name} (password in api.url)", result.stdout + result.stderr)


def _collect_in_process(sim: RunningSimulator, args: list[str], collected: Collected) -> None:
    """Collect an in-process auth error's text, repr and traceback, and the settings' reprs."""
    settings = load(args)
    collected.add("repr(Settings)", repr(settings) + str(settings) + str(settings.redacted()))
    sim.faults.revoke_credentials()
    try:
        TokenSource(settings.api, SelfMetrics(CollectorRegistry())).mint()
    except ApiError as error:
        collected.add("auth error", f"{error}\n{error!r}\n" + "".join(traceback.format_exception(error)))
    else:
        pytest.fail("revoked credentials minted a token")
    finally:
        sim.faults.clear()


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    """Start a live simulator on the wall clock that knows the canary credentials."""
    config = SimulatorConfig(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username=USERNAME, password=PASSWORD,
        tasks=300, open_tasks=40, tenants=6, live=True,
    )  # fmt: skip
    with start_simulator(config) as sim:
        yield sim


@pytest.fixture(scope="module")
def collected(simulator: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> Collected:
    """Run the exporter through the fault tour and collect everything it produced."""
    sim, tmp_path = simulator, tmp_path_factory.mktemp("secrets")
    args = _args(sim, tmp_path)
    web = ["--web.basic-auth-username", WEB_USER, "--web.basic-auth-password-file",
           str(_write(tmp_path / "web-password", WEB_PASSWORD))]  # fmt: skip
    run = [*args, *web, "--poll.interval", "1", "--log.level", "debug", "--log.format", "json"]
    found = Collected()
    # Both clients closed: the exporter keeps connections alive, so an unclosed one leaks a socket.
    with (
        httpx.Client(auth=(WEB_USER, WEB_PASSWORD), timeout=10.0) as client,
        httpx.Client(auth=(WEB_USER, WEB_PASSWORD), timeout=10.0) as tour_client,
        start_exporter(run, workdir=tmp_path / "run") as exporter,
    ):
        with ScrapeWatch(
            exporter.url + "/metrics", client=client, on_body=lambda b: found.add("/metrics", b)
        ):
            _Tour(sim, exporter, tour_client).run()
        _collect_pages(exporter, found)
    found.add("exporter stderr", exporter.stderr())
    found.add("exporter stdout", exporter.stdout())
    _collect_cli_runs(sim, args, found)
    _collect_in_process(sim, args, found)
    found.secrets = {
        "client secret": CLIENT_SECRET,
        "password": PASSWORD,
        "web password": WEB_PASSWORD,
        "wrong secret": WRONG_SECRET,
        "password in api.url": URL_PASSWORD,
        "form-encoded password": quote_plus(PASSWORD),
        "Basic client credentials": _basic(CLIENT_ID, CLIENT_SECRET),
        "Basic wrong credentials": _basic(CLIENT_ID, WRONG_SECRET),
        "Basic web credentials": _basic(WEB_USER, WEB_PASSWORD),
    }
    found.secrets.update({f"access token #{n}": token for n, token in enumerate(_issued_tokens(sim), 1)})
    return found


TOKEN_CUT = 60  # characters of a token endpoint's error code the exporter repeats
API_CUT = 200  # characters of an API error code it repeats


class _EchoHandler(JsonHandler):
    """An API that repeats what it was sent inside its error codes, cut where the exporter cuts.

    ``mode`` picks what is echoed: the token request's Basic header, its form body (the
    password grant's URL-encoded password), the password re-encoded (upper-cased,
    percent-encoded in lower-case hex, every character a JSON u-escape), or an API
    request's bearer token. The echo is padded so that the exporter's cut falls inside the
    secret part.
    """

    mode = "basic"
    issued: ClassVar[list[str]] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        """Answer the token endpoint: echo the credentials, or issue a token in api mode."""
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        if self.mode == "api":
            token = f"tok-LEAKCANARY-{len(self.issued):04d}-{uuid.uuid4().hex}"
            self.issued.append(token)
            self.send_json(200, {"access_token": token, "expires_in": 7200})
            return
        # The form's last field is the password: echo from there, so the cut can reach it.
        echoed = self.headers.get("Authorization", "") if self.mode == "basic" else body[body.rfind("&") :]
        if self.mode == "encoded":
            echoed = _reencoded(parse_qs(body)["password"][0])
        self.send_json(401, {"error": _straddle(echoed, TOKEN_CUT)})

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        """Answer the API: echo the bearer token so that the cut falls inside it."""
        echoed = self.headers.get("Authorization", "")
        self.send_json(400, {"code": _straddle(echoed, API_CUT)})


def _reencoded(secret: str) -> str:
    """Return `secret` as careless APIs echo it: re-cased, lower-case percent hex, u-escaped."""
    u_escaped = "".join(f"\\u{ord(character):04x}" for character in secret)
    return f"{secret.upper()} {quote(secret, safe='').lower()} {u_escaped}"


def _decoded(text: str) -> str:
    """Return `text` lower-cased with its percent and (JSON-escaped) u-escapes undone, to search."""
    text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda match: chr(int(match[1], 16)), text)
    return unquote(text).lower()


def _straddle(echoed: str, cut: int) -> str:
    """Pad `echoed` so that the cut at `cut` falls 8 characters before its end, inside the secret.

    Each echo ends with its secret: the Basic value, the form's last field (the password),
    the bearer token.
    """
    return "x" * max(0, cut - len(echoed) + 8) + echoed


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    """Serve the echoing API on a free loopback port; yield its URL."""
    with JsonStub(_EchoHandler) as stub:
        yield stub.url


def _pieces(secret: str, length: int = 8) -> set[str]:
    """Return every `length`-character piece of `secret`: finding one means part of it leaked."""
    return {secret[start : start + length] for start in range(len(secret) - length + 1)}


def _basic_secret_part(user: str, secret: str) -> str:
    """Return the part of base64(user:secret) that encodes only the secret."""
    encoded = _basic(user, secret)
    return encoded[4 * (len(user) // 3 + 1) :].rstrip("=")


class TestEchoedAndCutSecrets:
    """An API echoing what it was sent, cut mid-secret, shows no secret, encoding or piece of one."""

    @pytest.mark.parametrize("mode", ["basic", "form", "encoded", "api"])
    def test_echoed_credentials_leak_nothing(self, echo_server: str, tmp_path: Path, mode: str) -> None:
        """--check-config and --once against the echo: no secret, no base64 or URL form, no 8 characters."""
        _EchoHandler.mode = mode
        grant = (
            ["--api.grant-type", "password", "--api.username", USERNAME]
            if mode in {"form", "encoded"}
            else []
        )
        args = [
            "--api.url", echo_server, "--api.client-id", CLIENT_ID,
            "--api.client-secret-file", str(_write(tmp_path / "client-secret", ECHO_SECRET)),
            "--api.password-file", str(_write(tmp_path / "password", ECHO_PASSWORD)),
            *grant, "--api.max-retries", "0", "--log.level", "debug", "--log.format", "json",
        ]  # fmt: skip
        produced = ""
        for extra in (["--check-config"], ["--once"]):
            result = run_exporter([*args, *extra], timeout=60)
            assert result.returncode == 1, result.stderr
            produced += result.stdout + result.stderr
        assert "[REDACTED]" in produced, "no echo reached the output: the test would prove nothing"
        secrets = [ECHO_SECRET, ECHO_PASSWORD, quote_plus(ECHO_PASSWORD), *_EchoHandler.issued]
        secrets.append(_basic_secret_part(CLIENT_ID, ECHO_SECRET))
        decoded = _decoded(produced)
        leaks = [
            piece
            for secret in secrets
            for piece in _pieces(secret)
            if piece in produced or piece.lower() in decoded
        ]
        assert leaks == [], f"pieces of secrets in the output: {leaks[:5]}"


class TestNoSecretLeaks:
    """Secrets and tokens never appear in logs, errors, metrics, pages or reprs."""

    def test_the_run_covered_every_surface(self, collected: Collected) -> None:
        """The scan is meaningful: many tokens were issued and every fault was logged."""
        tokens = [what for what in collected.secrets if what.startswith("access token")]
        assert len(tokens) >= 5, f"only {len(tokens)} tokens were issued"
        log = dict(collected.texts)["exporter stderr"]
        for reason in ("auth", "forbidden", "decode", "shape", "http_5xx", "throttled", "pagination"):
            assert f'"reason": "{reason}"' in log, f"the log never mentions reason {reason}"
        assert sum(where == "/metrics" for where, _ in collected.texts) > 10, "too few scrapes"

    def test_nothing_the_run_produced_contains_a_secret_or_token(self, collected: Collected) -> None:
        """Every collected text is free of every secret, every issued token and their Basic forms."""
        leaks = [
            f"{what} in {where}"
            for where, text in collected.texts
            for what, secret in collected.secrets.items()
            if secret in text
        ]
        assert leaks == [], f"{len(leaks)} leaks: {sorted(set(leaks))[:20]}"

    def test_no_piece_of_a_secret_appears_either(self, collected: Collected) -> None:
        """No eight characters of a canary survive anywhere: a cut secret is still a leak."""
        canaries = [CLIENT_SECRET, PASSWORD, WEB_PASSWORD, WRONG_SECRET, URL_PASSWORD]
        pieces = {piece for canary in canaries for piece in _pieces(canary)}
        leaks = {where for where, text in collected.texts if any(piece in text for piece in pieces)}
        assert leaks == set(), f"pieces of secrets in: {sorted(leaks)}"
