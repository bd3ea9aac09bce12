"""No secret leaks: everything one faulty run produced is searched for every secret it handled.

One exporter runs with the password grant (so it holds a client secret, a password and
access tokens) behind basic auth (a web password), at debug level, through a tour of
every fault that makes it log errors. Then everything it produced is collected: its log
and stdout, every /metrics body in both formats, the landing page, probes and error
pages, ``--check-config`` and ``--once`` runs with good and bad credentials, and the
text, repr and traceback of an authentication error raised in-process. No collected
text may contain a secret, an access token the simulator issued, or the base64 form
in which a secret travels in a Basic header.
"""

from __future__ import annotations

import base64
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client import CollectorRegistry

from exporter.config import load
from exporter.errors import ApiError
from exporter.metrics import SelfMetrics
from exporter.simulator import RunningSimulator, SimulatorConfig, start_simulator
from exporter.tokens import TokenSource
from tests.faults.exposition import Exposition
from tests.faults.watch import ScrapeWatch
from tests.support.processes import run_exporter, start_exporter, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.support.processes import ExporterProcess

CLIENT_ID = "leak-scan-client"
USERNAME = "leak-scan-user"
WEB_USER = "scraper"
# Distinctive values: a search for them cannot hit anything by chance.
CLIENT_SECRET = "cs-LEAKCANARY-91b2e7f04c"  # noqa: S105 - canaries, not credentials
PASSWORD = "pw-LEAKCANARY-5d8a13c6e2"  # noqa: S105
WEB_PASSWORD = "web-LEAKCANARY-0f6b29d7a4"  # noqa: S105
WRONG_SECRET = "wrong-LEAKCANARY-77c1d3e9b8"  # noqa: S105
FAILURES = "acronis_exporter_refresh_failures_total"
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
        wait_until(lambda: self._failures(reason) > before, timeout=30.0, what=f"a {reason} failure")
        self._sim.faults.clear()
        heal()
        wait_until(self._healthy, timeout=90.0, what="a healthy poll after the fault")

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
    run = [*args, *web, "--poll.interval", "0.5", "--log.level", "debug", "--log.format", "json"]
    found = Collected()
    client = httpx.Client(auth=(WEB_USER, WEB_PASSWORD), timeout=10.0)
    with start_exporter(run, workdir=tmp_path / "run") as exporter:
        with ScrapeWatch(
            exporter.url + "/metrics", client=client, on_body=lambda b: found.add("/metrics", b)
        ):
            _Tour(sim, exporter, httpx.Client(auth=(WEB_USER, WEB_PASSWORD), timeout=10.0)).run()
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
        "Basic client credentials": _basic(CLIENT_ID, CLIENT_SECRET),
        "Basic wrong credentials": _basic(CLIENT_ID, WRONG_SECRET),
        "Basic web credentials": _basic(WEB_USER, WEB_PASSWORD),
    }
    found.secrets.update({f"access token #{n}": token for n, token in enumerate(_issued_tokens(sim), 1)})
    return found


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
