"""Minting OAuth2 tokens at the data centre's token endpoint, and reading its replies.

``TokenSource.mint()`` posts to ``{dc}/api/2/idp/token`` (client_credentials with HTTP
Basic, or the password grant) and turns the reply into a ``Token``: its expiry on our
clock, whatever the API's clock says, and a one-line error that names the client and the
host but never carries a secret or the reply's body. Caching and renewal are ``auth``'s job.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeGuard

import httpx

from exporter import logs
from exporter.deadline import request_deadline
from exporter.errors import (
    ApiError,
    ApiUnavailable,
    AuthError,
    BadPayload,
    ConfigError,
    PermissionDenied,
    RateLimited,
)
from exporter.payloads import BodyError, decode_json
from exporter.redaction import SecretRegistry
from exporter.status_codes import code_label
from exporter.transport import endpoint_of, error_code, http_client, http_date, read_reply

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import SecretStr

    from exporter.config import ApiSettings
    from exporter.selfmetrics import SelfMetrics

TOKEN_PATH: Final = "/api/2/idp/token"  # noqa: S105 - a URL path, not a password
TOKEN_REPLY_MAX: Final = 64 * 1024  # bytes: a token reply is a JWT and a few fields
DEFAULT_LIFETIME: Final = 7200.0  # API notes: tokens live two hours when the reply does not say
MAX_LIFETIME: Final = 366 * 86400.0  # far beyond any real token; past it the value is garbage
MAX_EXPIRES_ON: Final = 253402300799.0  # 9999-12-31T23:59:59Z: the last time RFC 3339 can write
_TENANT_SCOPE: Final = "urn:acronis.com:tenant-id:"
# Visible ASCII only: RFC 6750's b64token is narrower still, and any JWT fits it.
_TOKEN_CHARACTERS: Final = re.compile(r"[\x21-\x7e]+")
_ERROR_KEYS: Final = ("error", "code")  # OAuth2 names its error code "error"
_CODE_MAX: Final = 60  # characters of the error code we repeat in our message
# Seconds a token is used at the least, whatever lifetime its reply claims: a claim of 1 s
# (or 1 ms) would otherwise cost a token request before every API request. One minute is
# about one mint per poll at most; a token that truly dies sooner meets a 401, which
# replaces it at once (auth.renew), so the floor never keeps a dead token in use.
MIN_TOKEN_USE: Final = 60.0

_log = logs.get_logger(component="auth")


@dataclass(frozen=True)
class Token:
    """An access token and when it stops working (Unix seconds)."""

    value: str = field(repr=False)
    expires_at: float
    issued_at: float = 0.0

    def renew_at(self, margin: float) -> float:
        """Return when to replace it: `margin` early, never before half its lifetime or MIN_TOKEN_USE."""
        if not self.issued_at:
            return self.expires_at - margin
        lifetime = self.expires_at - self.issued_at
        return max(self.expires_at - min(margin, lifetime / 2), self.issued_at + MIN_TOKEN_USE)


class TokenSource:
    """Mints tokens at the data centre's token endpoint."""

    def __init__(
        self,
        api: ApiSettings,
        metrics: SelfMetrics,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        secrets: SecretRegistry | None = None,
    ) -> None:
        self._api, self._metrics, self._transport, self._clock = api, metrics, transport, clock
        # The app's registry, so that log lines never carry a token; a registry of its own otherwise.
        self._secrets = secrets if secrets is not None else SecretRegistry()
        self.grant_type: str = api.grant_type

    def mint(self) -> Token:
        """Request a new token; raise AuthError, PermissionDenied, ApiUnavailable or BadPayload."""
        self._metrics.token_requests.labels(grant_type=self.grant_type).inc()
        try:
            token = self._request_token()
        except ApiError as error:
            self._metrics.token_request_failures.labels(grant_type=self.grant_type, reason=error.reason).inc()
            raise
        except ConfigError:
            # A credentials file could not be read again (unmounted, emptied): a failed mint
            # all the same, with the reason its sources fail with.
            self._metrics.token_request_failures.labels(grant_type=self.grant_type, reason="auth").inc()
            raise
        self._secrets.register(token.value)
        self._metrics.token_expiry.set(token.expires_at)
        _log.info("token_minted", grant_type=self.grant_type, expires_at=token.expires_at)
        return token

    def forget(self, token: Token) -> None:
        """Stop scrubbing a token that is no longer in use, so the registry holds only live ones."""
        self._secrets.forget(token.value)

    def _request_token(self) -> Token:
        form, basic = self._form()
        started = time.perf_counter()
        # A client per mint: tokens are minted every couple of hours, and this keeps the
        # token endpoint's connection entirely apart from the API's authenticated pool.
        with (
            http_client(self._api, connections=1, transport=self._transport) as http,
            request_deadline(self._api.timeout),
        ):
            try:
                with http.stream(
                    "POST",
                    self._api.base_url + TOKEN_PATH,
                    data=form,
                    auth=httpx.BasicAuth(*basic) if basic else httpx.USE_CLIENT_DEFAULT,
                ) as streamed:
                    response = read_reply(
                        streamed, cap=TOKEN_REPLY_MAX, what=f"token endpoint at {self._where()}"
                    )
            except httpx.TimeoutException:
                message = f"token request to {self._where()} got no full reply within {self._api.timeout:g}s"
                raise ApiUnavailable(message, reason="timeout") from None
            except httpx.TransportError as exc:
                message = f"cannot reach {self._where()} ({type(exc).__name__})"
                raise ApiUnavailable(message, reason="connect") from None
            finally:
                duration = time.perf_counter() - started
                self._metrics.api_request_duration.labels(endpoint="/idp/token").observe(duration)
        code = code_label(response.status_code)
        self._metrics.api_requests.labels(endpoint=endpoint_of(TOKEN_PATH), code=code).inc()
        return self._parse(response)

    def _form(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        api = self._api
        secret = _plain(api.resolved_client_secret())
        client_id = api.resolved_client_id()
        basic = (client_id, secret) if client_id and secret else None
        # Re-read files may hold a rotated secret: register it, and the Basic form it travels in.
        self._secrets.register_credentials(client_id, secret)
        if api.grant_type == "password":
            form = {
                "grant_type": "password",
                "username": api.resolved_username() or "",
                "password": _plain(api.resolved_password()),
            }
            self._secrets.register(form["password"])
        else:
            form = {"grant_type": "client_credentials"}
        if api.tenant_id:
            form["scope"] = _TENANT_SCOPE + api.tenant_id
        return form, basic

    def _parse(self, response: httpx.Response) -> Token:
        status = response.status_code
        if status in (400, 401):
            code = error_code(response, keys=_ERROR_KEYS, limit=_CODE_MAX, secrets=self._secrets)
            raise AuthError(
                f"{self._who()} was refused by {self._where()} (HTTP {status}{code})",
                status=status,
            )
        if status == 403:  # noqa: PLR2004
            raise PermissionDenied(
                f"{self._who()} is not allowed a token at {self._where()} (HTTP 403)", status=status
            )
        if status == 429:  # noqa: PLR2004
            raise RateLimited(f"token endpoint at {self._where()} throttled us (HTTP 429)", status=status)
        if status >= 500:  # noqa: PLR2004
            raise ApiUnavailable(f"token endpoint at {self._where()} answered HTTP {status}", status=status)
        if status >= 300:  # noqa: PLR2004
            raise ApiError(f"token endpoint at {self._where()} answered HTTP {status}", status=status)
        try:
            body = decode_json(response.content)
        except BodyError as error:
            raise BadPayload(
                f"token endpoint at {self._where()} sent a body that is {error}", status=status
            ) from None
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(value, str) or not value:
            raise BadPayload(
                f"token reply from {self._where()} has no access_token", reason="shape", status=status
            )
        if not _TOKEN_CHARACTERS.fullmatch(value):
            # A token that cannot go into an Authorization header would fail every request
            # as a transport error (reason connect) for its whole lifetime: refuse it here.
            raise BadPayload(
                f"token reply from {self._where()} holds an access_token unusable in a header",
                reason="shape",
                status=status,
            )
        now = self._clock()
        return Token(value, _expires_at(body, now, http_date(response.headers.get("Date"))), issued_at=now)

    def _who(self) -> str:
        if self._api.grant_type == "password":
            return f"user {self._api.resolved_username()!r}"
        return f"API client {self._api.resolved_client_id()!r}"

    def _where(self) -> str:
        url = self._api.url
        return (url.host or str(url)) if url is not None else "(no api.url)"


def _plain(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else ""


def _expires_at(body: dict[str, object], now: float, server_now: float | None) -> float:
    """Return when the token expires on our clock; BadPayload for a lifetime no token has.

    ``expires_in`` is relative and immune to clock skew, so it wins. ``expires_on`` is
    absolute on the API's clock: its lifetime is measured against the reply's ``Date``
    header (the server's clock), so an API clock hours off ours cannot make every token
    look expired on arrival. A lifetime that still comes out non-positive means the clocks
    disagree beyond what ``Date`` tells; assume the default, and a 401 will renew it.
    A lifetime past ``MAX_LIFETIME`` (or too large for a float) is refused: a token that
    never needs renewing would be trusted until the API refused it.
    """
    expires_on, expires_in = body.get("expires_on"), body.get("expires_in")
    if _positive(expires_in):
        return now + _bounded(expires_in, MAX_LIFETIME, "expires_in")
    if _positive(expires_on):
        at = _bounded(expires_on, MAX_EXPIRES_ON, "expires_on")
        lifetime = at - (now if server_now is None else server_now)
        return now + (_bounded(lifetime, MAX_LIFETIME, "expires_on") if lifetime > 0 else DEFAULT_LIFETIME)
    return now + DEFAULT_LIFETIME


def _bounded(value: float, limit: float, name: str) -> float:
    """Return ``value`` as a float if it is at most ``limit``; BadPayload naming the field if not."""
    if not value <= limit:  # NaN fails too; an int of any size compares exactly, without overflow
        raise BadPayload(f"token reply: {name} is out of range", reason="shape", status=200)
    return float(value)


def _positive(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
