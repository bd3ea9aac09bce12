"""Authentication faults: a proxy's HTML 401, the token endpoint down, revoked credentials, 403."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from exporter.selfmetrics import SOURCES
from tests.faults.checks import absorb, fail_and_recover, new_failures, scenario
from tests.faults.truth import assert_counts_exact

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.faults.exposition import Exposition
    from tests.faults.rig import Rig

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

TOKENS = "acronis_exporter_token_requests_total"
TOKEN_FAILURES = "acronis_exporter_token_request_failures_total"  # noqa: S105 - a metric name


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
            before, after = absorb(rig, lambda: rig.sim.faults.fail(401, times=1, html=True))
            assert after.total(TOKENS) == before.total(TOKENS) + 1, "expected exactly one fresh token"
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
