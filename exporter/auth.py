"""OAuth2 for the Acronis API, as an ``httpx.Auth``: the client never sees a token.

``OAuth2Auth`` takes tokens from a ``tokens.TokenSource``, caches them, renews them before
they expire and, when the API still answers 401 (an expired or revoked token, or a proxy's
HTML page), mints one fresh token and resends once. A 403 retires the token for the next
request, since a role granted later is only in a token minted after it. The token source
registers every token with the app's ``SecretRegistry`` while it is in use, so no log line
can carry it, and none appears in a repr or an error message.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Final

import httpx

from exporter import logs
from exporter.tokens import Token, TokenSource
from exporter.transport import endpoint_of

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from pydantic import SecretStr

    from exporter.config import ApiSettings
    from exporter.redaction import SecretRegistry
    from exporter.selfmetrics import SelfMetrics

# After a freshly minted token meets a 401 too (a proxy refusing everything, say), 401s are
# returned as they are for this long instead of each costing a token request: a fault must
# never raise the load on the API. Also the youngest token a 403 retires. Short enough that
# a fixed fault is noticed by the next poll.
REMINT_BACKOFF: Final = 10.0

_log = logs.get_logger(component="auth")


class OAuth2Auth(httpx.Auth):
    """Bearer tokens from a TokenSource: cached, renewed early, and re-minted once on a 401.

    When the re-minted token is refused as well, 401s within REMINT_BACKOFF go back as
    they are: minting again would only add load. A 403 is final for its request, but
    retires a token older than REMINT_BACKOFF so the next request carries current roles.

    Sync only (httpx.Client): minting is blocking I/O under a thread lock, which httpx's
    docs place in `sync_auth_flow`.
    """

    def __init__(
        self, tokens: TokenSource, *, refresh_margin: float = 900.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._tokens, self._margin, self._clock = tokens, refresh_margin, clock
        self._lock = threading.Lock()  # the poller's threads share one token; one of them mints
        self._token: Token | None = None
        self._distrusted: Token | None = None
        self._distrusted_at = 0.0

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send with the cached token; on a 401 mint one fresh token and resend once."""
        token = self._current()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code == 403:  # noqa: PLR2004
            self._retire_if_old(token)
            return
        if response.status_code != 401:  # noqa: PLR2004
            return
        # The body may be a proxy's HTML page: the status alone decides, the body is never read.
        _log.info("token_rejected", status=401, endpoint=endpoint_of(request.url.path))
        fresh = self._replace(token)
        if fresh is None:
            return  # a fresh token met the same 401 moments ago: another one would fare no better
        request.headers["Authorization"] = f"Bearer {fresh.value}"
        response = yield request
        if response.status_code == 401:  # noqa: PLR2004
            self._distrust(fresh)

    def _current(self) -> Token:
        with self._lock:
            if self._token is None or self._clock() >= self._token.renew_at(self._margin):
                self._install(self._tokens.mint())
            assert self._token is not None  # noqa: S101 - for mypy: _install just set it
            return self._token

    def _replace(self, rejected: Token) -> Token | None:
        """Return a token to resend with, minting one unless that was just shown to be useless."""
        with self._lock:
            if self._token is not None and self._token is not rejected:
                return self._token  # another thread already replaced it
            if rejected is self._distrusted and self._clock() < self._distrusted_at + REMINT_BACKOFF:
                return None
            self._install(self._tokens.mint())
            return self._token

    def _distrust(self, token: Token) -> None:
        """Remember that a token minted for a 401 was refused too, so 401s stop costing a mint each."""
        with self._lock:
            self._distrusted, self._distrusted_at = token, self._clock()

    def _retire_if_old(self, token: Token) -> None:
        """After a 403, let the next request mint: a role granted since is only in a new token.

        Not resent now (a 403 is final for the request that got it), and not for a token
        minted within REMINT_BACKOFF, which already had every role there was to have.
        """
        with self._lock:
            if self._token is token and self._clock() >= token.issued_at + REMINT_BACKOFF:
                self._tokens.forget(token)
                self._token = None
                _log.info("token_retired", reason="forbidden")

    def _install(self, token: Token) -> None:
        if self._token is not None:
            self._tokens.forget(self._token)  # keeps the redaction list at the tokens in use
        self._token = token


class StaticBearerAuth(httpx.Auth):
    """A fixed bearer token (api.bearer_token): no minting, no renewal."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token  # the app registered it with its SecretRegistry

    def __repr__(self) -> str:
        return "StaticBearerAuth(token=**********)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the token."""
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request


def build_auth(
    api: ApiSettings,
    metrics: SelfMetrics,
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    secrets: SecretRegistry | None = None,
) -> httpx.Auth:
    """Return the auth the settings ask for; the tokens it mints join ``secrets`` while in use."""
    bearer = api.resolved_bearer_token()
    if bearer is not None:
        return StaticBearerAuth(bearer)
    tokens = TokenSource(api, metrics, transport=transport, clock=clock, secrets=secrets)
    return OAuth2Auth(tokens, refresh_margin=api.token_refresh_margin, clock=clock)
