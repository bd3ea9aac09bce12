"""OAuth2 for the Acronis API, as an ``httpx.Auth``: the client never sees a token.

``OAuth2Auth`` takes tokens from a ``tokens.TokenSource``, caches them and renews them before
they expire. When the API still answers 401 (an expired or revoked token, or a proxy's HTML
page), the client, which read that reply under its caps, asks ``renew`` and resends once with
a fresh token: the auth never reads a reply itself. A 403 retires the token for the next
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
    """Bearer tokens from a TokenSource: cached, renewed early, and replaced once on a 401.

    The auth only attaches the token: a reply is never read here, so every byte of one goes
    through ``transport.read_reply``'s caps. The client that read a 401 calls ``renew``,
    and resends once if it says so. When the replacement is refused as well, 401s within
    REMINT_BACKOFF go back as they are: minting again would only add load. A 403 is final
    for its request, but retires a token older than REMINT_BACKOFF so the next request
    carries current roles.

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
        """Send with the cached token (minted or renewed first when due); a 403 may retire it."""
        token = self._current()
        request.headers["Authorization"] = _bearer(token)
        response = yield request
        if response.status_code == 403:  # noqa: PLR2004
            self._retire_if_old(token)

    def renew(self, refused: httpx.Request) -> bool:
        """Answer a 401 to ``refused``: return whether to resend it (the resend mints if need be).

        The token it carried is known by its Authorization header. Another thread may have
        replaced it already: resend with that one. A replacement refused moments ago
        (``refused_again``) is not replaced again within REMINT_BACKOFF: return False.
        """
        # The body may be a proxy's HTML page: the status alone decides, the body is never read.
        _log.info("token_rejected", status=401, endpoint=endpoint_of(refused.url.path))
        carried = refused.headers.get("Authorization")
        with self._lock:
            if self._token is None or _bearer(self._token) != carried:
                return True  # already replaced (or retired): the resend takes the current one
            if self._token is self._distrusted and self._clock() < self._distrusted_at + REMINT_BACKOFF:
                return False
            self._tokens.forget(self._token)
            self._token = None  # the resend mints, under its own request deadline
            return True

    def refused_again(self, refused: httpx.Request) -> None:
        """Note that the resend after a 401 met a 401 too, so 401s stop costing a mint each."""
        carried = refused.headers.get("Authorization")
        with self._lock:
            if self._token is not None and _bearer(self._token) == carried:
                self._distrusted, self._distrusted_at = self._token, self._clock()

    def _current(self) -> Token:
        with self._lock:
            if self._token is None or self._clock() >= self._token.renew_at(self._margin):
                self._install(self._tokens.mint())
            assert self._token is not None  # noqa: S101 - for mypy: _install just set it
            return self._token

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


def _bearer(token: Token) -> str:
    return f"Bearer {token.value}"


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
