"""OAuth2 against the simulator's token endpoint: caching, renewal, one re-mint on 401, refusals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from exporter.auth import REMINT_BACKOFF, OAuth2Auth, StaticBearerAuth, build_auth
from exporter.client import TaskManagerClient
from exporter.errors import ApiError, ApiUnavailable, AuthError, PermissionDenied
from exporter.redaction import SecretRegistry
from exporter.selfmetrics import SelfMetrics
from exporter.tokens import MIN_TOKEN_USE, TOKEN_PATH, Token, TokenSource
from tests.support.client_harness import ClientHarness, RecordingTokenSource, captured_logs, simulator_api
from tests.support.processes import wait_until

if TYPE_CHECKING:
    import io
    from collections.abc import Callable, Iterator

    from exporter.config import ApiSettings
    from simulator import ManualClock, RunningSimulator
    from simulator.requestlog import RequestRecord

LIFETIME = 7200.0
MARGIN = 900.0
QUIET = {"completion_rate": 0.01}  # moving the clock hours ahead must not generate thousands of tasks


@dataclass(kw_only=True)
class Harness(ClientHarness):
    """A client wired to one simulator through OAuth2Auth, with its metrics and log output."""

    api: ApiSettings
    log: io.StringIO
    cleared_at: int = 0

    def settled(self) -> list[RequestRecord]:
        """Return the simulator's request log once it holds every exchange the client counted.

        The simulator logs a request just after answering it, so the client can be done
        before the last record lands.
        """

        def all_logged() -> list[RequestRecord] | None:
            entries = self.sim.requests.entries()
            return entries if len(entries) >= self.exchanges_counted() else None

        return wait_until(all_logged, timeout=30.0, what="the simulator to log every exchange counted")

    def exchanges_counted(self) -> int:
        """Return how many HTTP responses the exporter counted since the last log clear."""
        total = sum(
            sample.value
            for family in self.registry.collect()
            if family.name == "acronis_exporter_api_requests"
            for sample in family.samples
            if sample.name.endswith("_total")
        )
        return int(total) - self.cleared_at

    def clear_log(self) -> None:
        """Forget the simulator's request log, keeping the exchange count in step."""
        self.settled()
        self.cleared_at += self.exchanges_counted()
        self.sim.requests.clear()

    def token_posts(self) -> int:
        """Count the token requests the simulator answered."""
        return sum(1 for entry in self.settled() if entry.path == TOKEN_PATH)

    def exchanges(self) -> list[tuple[str, int]]:
        """Return (method, status) of every request since the last clear."""
        return [(entry.method, entry.status) for entry in self.settled()]


def api_for(sim: RunningSimulator, **overrides: Any) -> ApiSettings:  # noqa: ANN401 - any ApiSettings field
    """Return settings for `sim` with tiny timeouts and backoffs, one retry and MARGIN."""
    return simulator_api(sim, **{"max_retries": 1, "token_refresh_margin": MARGIN, **overrides})


@pytest.fixture
def harness_factory(
    simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
) -> Iterator[Callable[..., Harness]]:
    """Build harnesses that share the captured log; at teardown, check no secret or token reached it."""
    built: list[Harness] = []
    secrets = SecretRegistry()  # one per run, as the app has: the logs redact what the tokens add
    with captured_logs(secrets) as log_output:

        def build(api_overrides: dict[str, Any] | None = None, **sim_overrides: Any) -> Harness:  # noqa: ANN401
            sim = simulator_factory(**{**QUIET, **sim_overrides})
            api = api_for(sim, **(api_overrides or {}))
            registry = CollectorRegistry()
            metrics = SelfMetrics(registry)
            tokens = RecordingTokenSource(api, metrics, clock=clock.now, secrets=secrets)
            auth = OAuth2Auth(tokens, refresh_margin=api.token_refresh_margin, clock=clock.now)
            client = TaskManagerClient(api, auth, metrics, secrets=secrets)
            harness = Harness(
                sim=sim, api=api, client=client, tokens=tokens, registry=registry, log=log_output
            )
            harness.secrets += [sim.config.client_secret, sim.config.password]
            built.append(harness)
            return harness

        yield build
        for harness in built:
            harness.client.close()
            harness.assert_clean(log_output.getvalue())


@pytest.fixture
def harness(harness_factory: Callable[..., Harness]) -> Harness:
    """Return a harness on the default small simulator."""
    return harness_factory()


class TestTokenCache:
    """One token serves many requests and is renewed before it lapses."""

    def test_one_token_serves_many_requests(self, harness: Harness, clock: ManualClock) -> None:
        """Five requests cost one token request, and the expiry gauge shows when it lapses."""
        for _ in range(5):
            harness.client.count("tasks")
        assert harness.token_posts() == 1
        assert harness.sample("acronis_exporter_token_requests_total", grant_type="client_credentials") == 1
        assert harness.sample("acronis_exporter_token_expiry_timestamp_seconds") == clock.now() + LIFETIME

    def test_token_is_renewed_refresh_margin_before_expiry(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """Just before the margin the old token is used; just after, a new one is minted ahead of any 401."""
        harness.client.count("tasks")
        clock.advance(LIFETIME - MARGIN - 1)
        harness.client.count("tasks")
        assert harness.token_posts() == 1
        clock.advance(2)
        harness.client.count("tasks")
        assert harness.token_posts() == 2
        assert 401 not in [status for _, status in harness.exchanges()]

    def test_short_lived_tokens_are_not_renewed_before_half_their_life(
        self, harness_factory: Callable[..., Harness], clock: ManualClock
    ) -> None:
        """A 20-minute token with a 15-minute margin is renewed after 10 minutes, not 5."""
        harness = harness_factory(token_lifetime=1200.0)
        harness.client.count("tasks")
        clock.advance(599)
        harness.client.count("tasks")
        assert harness.token_posts() == 1
        clock.advance(2)
        harness.client.count("tasks")
        assert harness.token_posts() == 2

    def test_a_token_claiming_a_tiny_lifetime_is_still_used_until_the_api_refuses_it(
        self, harness_factory: Callable[..., Harness], clock: ManualClock
    ) -> None:
        """A 30 s token (under MIN_TOKEN_USE) serves every request of its life; then a 401 replaces it.

        Renewing at half of whatever lifetime a reply claims would let a reply of 1 s cost a
        token request before every API request.
        """
        harness = harness_factory(token_lifetime=30.0)
        for _ in range(6):
            harness.client.count("tasks")
            clock.advance(5)  # up to 30 s: past half the claimed lifetime, to its end
        assert harness.token_posts() == 1
        assert 401 not in [status for _, status in harness.exchanges()]
        clock.advance(MIN_TOKEN_USE / 4)  # expired on the API, still within MIN_TOKEN_USE
        harness.clear_log()
        harness.client.count("tasks")
        assert harness.exchanges() == [("GET", 401), ("POST", 200), ("GET", 200)]

    def test_concurrent_requests_share_one_token_and_one_re_mint(self, harness: Harness) -> None:
        """Eight threads start cold, then all meet expired tokens: two token requests in total."""

        def burst() -> None:
            with ThreadPoolExecutor(max_workers=8) as pool:
                assert len(set(pool.map(lambda _: harness.client.count("tasks"), range(8)))) == 1

        burst()
        assert harness.token_posts() == 1
        harness.sim.faults.expire_tokens()
        burst()
        assert harness.token_posts() == 2

    def test_token_repr_hides_its_value(self) -> None:
        """A Token can be printed or logged without showing the bearer value."""
        token = Token("eyJ-secret-token-value", expires_at=1.0)
        assert "eyJ-secret-token-value" not in repr(token)


class TestRejectedToken:
    """A 401 from the API earns exactly one fresh token and one resend."""

    def test_expired_token_is_reminted_once_and_the_request_succeeds(self, harness: Harness) -> None:
        """After the API expires every token, the request goes 401, new token, 200."""
        expected = harness.client.count("tasks")
        harness.sim.faults.expire_tokens()
        harness.clear_log()
        assert harness.client.count("tasks") == expected
        assert harness.exchanges() == [("GET", 401), ("POST", 200), ("GET", 200)]

    def test_html_401_from_a_proxy_is_reminted_once(self, harness: Harness) -> None:
        """An HTML 401 page is never parsed: the status alone triggers one re-mint."""
        harness.client.count("tasks")
        harness.sim.faults.fail(401, html=True)
        harness.clear_log()
        harness.client.count("tasks")
        assert harness.exchanges() == [("GET", 401), ("POST", 200), ("GET", 200)]

    def test_second_401_is_final(self, harness: Harness) -> None:
        """A fresh token that is refused too ends in AuthError, without a third try."""
        harness.client.count("tasks")
        harness.sim.faults.fail(401, times=2)
        harness.clear_log()
        with pytest.raises(AuthError) as caught:
            harness.client.count("tasks")
        assert harness.exchanges() == [("GET", 401), ("POST", 200), ("GET", 401)]
        assert "GET /tasks: HTTP 401" in str(caught.value)
        harness.assert_clean(str(caught.value))
        assert harness.sample("acronis_exporter_api_requests_total", endpoint="/tasks", code="401") == 2

    def test_persistent_401s_cost_no_extra_token_requests(self, harness: Harness, clock: ManualClock) -> None:
        """Once a fresh token met a 401 too, 401s go back as they are until REMINT_BACKOFF has passed."""
        harness.client.count("tasks")
        harness.sim.faults.fail(401, times=None, html=True)
        harness.clear_log()
        for _ in range(3):
            with pytest.raises(AuthError):
                harness.client.count("tasks")
        assert harness.exchanges() == [("GET", 401), ("POST", 200), ("GET", 401), ("GET", 401), ("GET", 401)]
        clock.advance(REMINT_BACKOFF + 1)
        harness.clear_log()
        with pytest.raises(AuthError):
            harness.client.count("tasks")
        assert harness.exchanges() == [("GET", 401), ("POST", 200), ("GET", 401)]
        harness.sim.faults.clear()
        assert harness.client.count("tasks") > 0


class TestRefusals:
    """The token endpoint's refusals become clean, typed errors."""

    def test_revoked_credentials_give_an_auth_error_naming_client_and_host(self, harness: Harness) -> None:
        """The message says which client was refused where; never the secret."""
        harness.client.count("tasks")
        harness.sim.faults.revoke_credentials()
        harness.sim.faults.expire_tokens()
        with pytest.raises(AuthError) as caught:
            harness.client.count("tasks")
        message = str(caught.value)
        assert "API client 'demo-client' was refused by 127.0.0.1 (HTTP 401: invalid_client)" in message
        harness.assert_clean(message)
        failures = harness.sample(
            "acronis_exporter_token_request_failures_total", grant_type="client_credentials", reason="auth"
        )
        assert failures == 1

    def test_missing_scope_gives_permission_denied_naming_the_scope(self, harness: Harness) -> None:
        """A token without a task_manager scope is a 403 that says which scope to grant."""
        harness.sim.faults.drop_scope()
        with pytest.raises(PermissionDenied) as caught:
            harness.client.count("tasks")
        assert "urn:acronis.com::task_manager::viewer" in str(caught.value)
        assert caught.value.reason == "forbidden"
        harness.assert_clean(str(caught.value))

    def test_a_granted_scope_is_picked_up_by_the_next_token(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """A 403 resends nothing, but retires a token older than the backoff for the next request."""
        harness.sim.faults.drop_scope()
        with pytest.raises(PermissionDenied):
            harness.client.count("tasks")
        with pytest.raises(PermissionDenied):
            harness.client.count("tasks")  # the token is brand new: no point minting another
        assert harness.exchanges() == [("POST", 200), ("GET", 403), ("GET", 403)]
        harness.sim.faults.clear()  # the role is granted: only a new token carries it
        clock.advance(REMINT_BACKOFF + 1)
        harness.clear_log()
        with pytest.raises(PermissionDenied):
            harness.client.count("tasks")
        assert harness.client.count("tasks") > 0
        assert harness.exchanges() == [("GET", 403), ("POST", 200), ("GET", 200)]

    def test_token_endpoint_down_once_is_retried(self, harness: Harness) -> None:
        """A 503 from the token endpoint is retried like any 5xx, and counted as a token failure."""
        harness.sim.faults.token_endpoint_down(times=1)
        assert harness.client.count("tasks") > 0
        assert harness.token_posts() == 2
        failures = harness.sample(
            "acronis_exporter_token_request_failures_total",
            grant_type="client_credentials",
            reason="http_5xx",
        )
        assert failures == 1
        assert harness.sample("acronis_exporter_api_retries_total", endpoint="/tasks", reason="http_5xx") == 1

    def test_token_endpoint_down_for_good_gives_api_unavailable(self, harness: Harness) -> None:
        """When every retry meets a 503 at the token endpoint, the request fails as unavailable."""
        harness.sim.faults.token_endpoint_down()
        with pytest.raises(ApiUnavailable) as caught:
            harness.client.count("tasks")
        assert "token endpoint at 127.0.0.1 answered HTTP 503" in str(caught.value)
        assert harness.sample("acronis_exporter_api_requests_total", endpoint="/idp/token", code="503") == 2


class TestGrants:
    """Password grant, tenant-scoped tokens and static bearer tokens."""

    def test_password_grant_gets_a_working_token(self, harness_factory: Callable[..., Harness]) -> None:
        """grant_type=password with a user's credentials reads the API."""
        harness = harness_factory(
            {
                "grant_type": "password",
                "client_id": None,
                "client_secret": None,
                "username": "demo-user",
                "password": SecretStr("demo-password"),
            }
        )
        assert harness.client.count("tasks") > 0
        assert harness.sample("acronis_exporter_token_requests_total", grant_type="password") == 1

    def test_wrong_password_names_the_user_not_the_password(
        self, harness_factory: Callable[..., Harness]
    ) -> None:
        """A refused password grant says which user was refused."""
        harness = harness_factory()
        wrong = "wrong-password-value"
        api = api_for(
            harness.sim,
            grant_type="password",
            username="demo-user",
            password=SecretStr(wrong),
            client_id=None,
        )
        with pytest.raises(AuthError) as caught:
            TokenSource(api, SelfMetrics(CollectorRegistry())).mint()
        assert "user 'demo-user' was refused" in str(caught.value)
        assert wrong not in str(caught.value)

    def test_tenant_scoped_token_sees_only_that_subtree(
        self, harness_factory: Callable[..., Harness], clock: ManualClock
    ) -> None:
        """api.tenant_id asks for a token whose counts cover the tenant and its sub-tenants only."""
        harness = harness_factory()
        tenants = harness.sim.truth.tenants()
        locators = {t.id: t.locator for t in tenants}
        open_items = harness.sim.truth.open_items("tasks")

        def open_under(locator: str) -> int:
            return sum(1 for item in open_items if locators[item.tenant_id].startswith(locator))

        tenant = max(
            (t for t in tenants if t.uuid and t.locator.count("/") > 3), key=lambda t: open_under(t.locator)
        )
        expected = open_under(tenant.locator)
        scoped_api = api_for(harness.sim, tenant_id=tenant.uuid)
        metrics = SelfMetrics(CollectorRegistry())
        tokens = RecordingTokenSource(scoped_api, metrics, clock=clock.now)
        with TaskManagerClient(scoped_api, OAuth2Auth(tokens, clock=clock.now), metrics) as scoped:
            open_states = [("state", s) for s in ("enqueued", "assigned", "started", "paused")]
            assert scoped.count("tasks", open_states) == expected
        assert 0 < expected < len(open_items)
        harness.tokens.minted.extend(tokens.minted)

    def test_unknown_tenant_scope_is_an_auth_error(self, harness: Harness) -> None:
        """A tenant the IdP does not know is refused with a 400, reported as AuthError."""
        api = api_for(harness.sim, tenant_id="00000000-0000-0000-0000-000000000000")
        with pytest.raises(AuthError, match="HTTP 400: invalid_scope"):
            TokenSource(api, SelfMetrics(CollectorRegistry())).mint()

    def test_static_bearer_token_is_sent_without_minting(self, harness: Harness) -> None:
        """api.bearer_token skips the token endpoint entirely."""
        token = harness.tokens.mint()
        harness.clear_log()
        api = api_for(harness.sim, client_id=None, client_secret=None, bearer_token=SecretStr(token.value))
        metrics = SelfMetrics(CollectorRegistry())
        auth = build_auth(api, metrics)
        assert isinstance(auth, StaticBearerAuth)
        assert token.value not in repr(auth)
        with TaskManagerClient(api, auth, metrics) as client:
            assert client.count("tasks") > 0
        assert harness.token_posts() == 0

    def test_build_auth_uses_oauth2_for_client_credentials(self, harness: Harness) -> None:
        """Client credentials give the caching OAuth2Auth."""
        assert isinstance(build_auth(harness.api, SelfMetrics(CollectorRegistry())), OAuth2Auth)


class TestNoLeaks:
    """Secrets stay out of every error and log line, whatever goes wrong."""

    @pytest.mark.parametrize(
        "breakage",
        ["revoke_credentials", "drop_scope", "token_endpoint_down", "expire_tokens"],
    )
    def test_failures_never_show_a_secret(self, harness: Harness, breakage: str) -> None:
        """Each auth fault ends in success or an ApiError whose text holds no secret or token."""
        harness.client.count("tasks")
        getattr(harness.sim.faults, breakage)()
        harness.sim.faults.expire_tokens()
        try:
            harness.client.count("tasks")
        except ApiError as error:
            harness.assert_clean(f"{error!s} {error!r}")
        harness.assert_clean(harness.log.getvalue())
