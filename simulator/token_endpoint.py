"""The IdP's token endpoint (`POST /api/2/idp/token`) and the tokens it hands out.

Both grants of the reference: client_credentials (HTTP Basic client id and secret,
optional `scope=urn:acronis.com:tenant-id:<uuid>`) and password. Expiry is judged
on the simulator's clock, so a manual clock moved two hours expires every token.
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulator.api_errors import ApiError

if TYPE_CHECKING:
    from simulator.clock import Clock
    from simulator.config import SimulatorConfig

VIEWER = "urn:acronis.com::task_manager::viewer"
ADMIN = "urn:acronis.com::task_manager::admin"
TASK_MANAGER_SCOPES = frozenset({VIEWER, ADMIN})
_TENANT_SCOPE = "urn:acronis.com:tenant-id:"


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: its scopes and the subtree of tenants it sees."""

    scopes: frozenset[str]
    locator: str  # the token's tenant locator; the root's "/1/" sees everything
    expires_at: float
    issued_at: float


class TokenStore:
    """Issues and checks bearer tokens."""

    def __init__(self, config: SimulatorConfig, clock: Clock, tenant_locators: dict[str, str]) -> None:
        self._config = config
        self._clock = clock
        self._by_uuid = tenant_locators  # tenant uuid → locator, for tenant-scoped tokens
        self._tokens: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self.revoked = False  # fault: credentials revoked, token endpoint answers 401
        self.scopeless = False  # fault: tokens issued without any task_manager scope

    def issue(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """Check a token request and return the reply body; raise ApiError(401/400) otherwise."""
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            if basic is None or basic != (self._config.client_id, self._config.client_secret) or self.revoked:
                raise _denied("invalid_client", "bad client credentials")
        elif grant_type == "password":
            good = (form.get("username"), form.get("password")) == (
                self._config.username,
                self._config.password,
            )
            if not good or self.revoked or (basic is not None and basic[0] != self._config.client_id):
                raise _denied("invalid_grant", "bad username or password")
        else:
            raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r}", domain="IdP")
        locator = self._scope_locator(form.get("scope", ""))
        now = self._clock.now()
        token = base64.b64encode(secrets.token_bytes(32)).decode()  # matches the reference's pattern
        scopes = frozenset() if self.scopeless else TASK_MANAGER_SCOPES
        grant = Grant(scopes, locator, now + self._config.token_lifetime, now)
        with self._lock:
            self._tokens[token] = grant
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_on": int(grant.expires_at),
            "id_token": _fake_jwt(),
            "scope": " ".join(sorted(scopes)),
        }

    def check(self, authorization: str | None) -> Grant:
        """Return the grant for an `Authorization` header; ApiError 401 or 403 otherwise."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiError(401, "Unauthorized", "missing bearer token", domain="Access")
        with self._lock:
            grant = self._tokens.get(authorization[7:].strip())
        if grant is None or self._clock.now() >= grant.expires_at:
            raise ApiError(401, "Unauthorized", "unknown or expired token", domain="Access")
        if not grant.scopes & TASK_MANAGER_SCOPES:
            raise ApiError(403, "Forbidden", "token lacks a task_manager scope", domain="Access")
        return grant

    def expire_all(self) -> None:
        """Expire every token issued so far (a fault)."""
        now = self._clock.now()
        with self._lock:
            self._tokens = {
                token: Grant(g.scopes, g.locator, min(g.expires_at, now), g.issued_at)
                for token, g in self._tokens.items()
            }

    def _scope_locator(self, scope: str) -> str:
        for item in scope.split():
            if item.startswith(_TENANT_SCOPE):
                locator = self._by_uuid.get(item.removeprefix(_TENANT_SCOPE).lower())
                if locator is None:
                    raise OAuthError(400, "invalid_scope", f"unknown tenant in scope {item!r}", domain="IdP")
                return locator
        return "/1/"


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """Decode an HTTP Basic `Authorization` header into (user, password)."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text all are ValueErrors
        return None
    return user, password


class OAuthError(ApiError):
    """An IdP refusal: the documented error body plus OAuth2's `error` and `error_description`."""

    def body(self) -> dict[str, Any]:
        """Return the error body with the OAuth2 fields added."""
        return {**super().body(), "error": self.code, "error_description": str(self)}


def _denied(code: str, message: str) -> ApiError:
    return OAuthError(401, code, message, domain="IdP")


def _fake_jwt() -> str:
    parts = ('{"alg":"RS256","typ":"JWT"}', '{"iss":"acronis-tm-simulator"}', secrets.token_hex(16))
    return ".".join(base64.urlsafe_b64encode(p.encode()).decode().rstrip("=") for p in parts)
