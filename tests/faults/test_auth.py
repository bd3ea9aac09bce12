"""Authentication faults: a proxy's HTML 401, the token endpoint down, revoked credentials, 403."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from exporter.selfmetrics import SOURCES
from exporter.tokens import TOKEN_PATH
from tests.faults.checks import absorb, fail_and_recover, new_failures, scenario
from tests.faults.rig import PATIENCE
from tests.faults.truth import assert_counts_exact

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.faults.exposition import Exposition
    from tests.faults.rig import Rig

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

TOKENS = "acronis_exporter_token_requests_total"
TOKEN_FAILURES = "acronis_exporter_token_request_failures_total"  # noqa: S105 - a metric name
# What the exporter logs when the API refuses its token, and when it got a new one.
AUTH_EVENTS = ("token_rejected", "token_minted")
ONE_401_ONE_TOKEN = Counter(token_rejected=1, token_minted=1)


def _auth_events(rig: Rig) -> Counter[str]:
    """Count the exporter's AUTH_EVENTS log lines so far."""
    return Counter(event.name for event in rig.exporter.events(*AUTH_EVENTS))


def _tokens_granted(exposition: Exposition) -> float:
    """Return the token requests that got a token: every request not counted as failed.

    A token request is counted when it is sent, so one that timed out on a loaded machine
    and was retried counts twice, while only one token came of it.
    """
    return exposition.total(TOKENS) - exposition.total(TOKEN_FAILURES)


def _fail_every_source(
    rig: Rig, fault: Callable[[], object], *, reason: str
) -> tuple[Exposition, Exposition]:
    """Turn a token fault on and expire every token, so the next mint meets it; fail and recover.

    Return the scrapes from before the scenario and after its recovery.
    """
    before = rig.scrape()

    def inject() -> None:
        fault()
        rig.sim.faults.expire_tokens()

    with scenario(rig) as current:
        fail_and_recover(current, inject, failed=SOURCES, reason=reason)
    return before, rig.scrape()


class TestProxy401:
    """An HTML 401 page from a proxy in front of the API."""

    def test_one_html_401_is_answered_with_one_fresh_token(self, rig: Rig) -> None:
        """A single proxy 401 costs one token mint and a resend; no source fails."""
        with scenario(rig):
            logged = _auth_events(rig)
            before, after = absorb(rig, lambda: rig.sim.faults.fail(401, times=1, html=True))
            assert _auth_events(rig) - logged == ONE_401_ONE_TOKEN, "expected exactly one fresh token"
            assert _tokens_granted(after) - _tokens_granted(before) == 1, "the metrics disagree with the log"
            assert new_failures(before, after) == []
            assert_counts_exact(rig)

    def test_a_token_request_timing_out_after_a_401_is_retried_into_one_fresh_token(self, rig: Rig) -> None:
        """The mint a 401 asks for gets no reply in time: it is retried, counted, and one token results.

        The retried mint is a second token request (and a counted failure), never a second
        token: this is what a loaded machine does to the test above, made to happen.
        """
        released = threading.Event()

        def held(_path: str, body: bytes) -> bytes:
            released.wait(PATIENCE)  # the reply waits until the exporter has given up on it
            return body

        with scenario(rig):
            logged, before = _auth_events(rig), rig.scrape()
            rig.rewriter.rewrite(TOKEN_PATH, held, method="POST", times=1)
            try:
                rig.sim.faults.fail(401, times=1, html=True)
                rig.advance(10)  # completions meanwhile, for the counts to be checked against
                timeouts = before.total(TOKEN_FAILURES, reason="timeout")
                rig.wait_metrics(
                    lambda now: now.total(TOKEN_FAILURES, reason="timeout") > timeouts,
                    what="the held token request to time out",
                )
            finally:
                released.set()
            after = rig.wait_healthy()
            assert _auth_events(rig) - logged == ONE_401_ONE_TOKEN, "expected exactly one fresh token"
            assert _tokens_granted(after) - _tokens_granted(before) == 1, "the metrics disagree with the log"
            assert after.total(TOKENS) - before.total(TOKENS) >= 2, "no retry after the timeout"
            assert new_failures(before, after) == []
            assert_counts_exact(rig)

    def test_html_401s_that_persist_fail_every_source_with_reason_auth(self, rig: Rig) -> None:
        """A proxy that keeps answering 401 fails every source as auth, at no extra load."""
        with scenario(rig) as current:
            fail_and_recover(
                current,
                lambda: rig.sim.faults.fail(401, times=None, html=True),
                failed=SOURCES,
                reason="auth",
            )


class TestTokenEndpointDown:
    """The IdP's token endpoint answers 503."""

    def test_a_valid_cached_token_carries_the_exporter_through(self, rig: Rig) -> None:
        """While the cached token is valid, a dead token endpoint changes nothing."""
        with scenario(rig):
            before, after = absorb(rig, rig.sim.faults.token_endpoint_down)
            assert new_failures(before, after) == []
            assert after.total(TOKENS) == before.total(TOKENS), "no token should have been requested"
            assert_counts_exact(rig)

    def test_after_the_token_expires_every_source_fails_until_the_endpoint_returns(self, rig: Rig) -> None:
        """An expired token with the endpoint down fails every source; a fresh token recovers all."""
        before, after = _fail_every_source(rig, rig.sim.faults.token_endpoint_down, reason="http_5xx")
        assert after.total(TOKEN_FAILURES) > before.total(TOKEN_FAILURES), "token failures were not counted"


class TestRevokedCredentials:
    """The API client was deleted or its secret rotated: 401 that persists."""

    def test_revoked_credentials_fail_every_source_with_reason_auth(self, rig: Rig) -> None:
        """Every source fails as auth, token failures are counted, and restoring the client recovers."""
        before, after = _fail_every_source(rig, rig.sim.faults.revoke_credentials, reason="auth")
        assert after.total(TOKEN_FAILURES, reason="auth") > before.total(TOKEN_FAILURES, reason="auth")


@pytest.fixture
def scope_restored(rig: Rig) -> Iterator[None]:
    """Expire every token after the test, so no token minted without the scope outlives it."""
    yield
    rig.sim.faults.clear()
    rig.sim.faults.expire_tokens()


@pytest.mark.usefixtures("scope_restored")
class TestMissingScope:
    """The API client lacks the task_manager viewer role: 403."""

    def test_a_token_without_the_scope_fails_every_source_with_reason_forbidden(self, rig: Rig) -> None:
        """Every source fails as forbidden; once the role is granted a fresh token brings them back."""
        _fail_every_source(rig, rig.sim.faults.drop_scope, reason="forbidden")
