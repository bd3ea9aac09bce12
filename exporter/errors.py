"""Errors the exporter tells apart.

* ExporterError
  x ConfigError        bad settings; the CLI prints one line and exits 2
  x ApiError           anything from Task Manager; ``.reason`` feeds the error counters
    + AuthError        the token endpoint or the API refused us (401/403); never carries a secret
      + PermissionDenied  403: the token lacks a Task Manager scope
    + RateLimited      429/503 that outlasted our retries; ``.retry_after`` in seconds
    + ApiUnavailable   5xx, timeouts, connection errors, after retries
    + BadPayload       a body we cannot read (HTML where JSON was due, wrong shape, truncated)
    + PaginationError  a cursor chain that repeats or never ends

``reason`` values are a closed vocabulary, because they become label values:
``timeout, connect, http_4xx, http_5xx, throttled, auth, forbidden, decode, shape, too_large,
pagination, clock`` (``selfmetrics.FAILURE_REASONS``),
and ``cancelled`` for a wait cut short by shutdown (never counted as a failure).
"""

from __future__ import annotations


class ExporterError(Exception):
    """Base of every error the exporter raises on purpose."""


class ConfigError(ExporterError):
    """Settings that cannot work; the message is one line meant for a person."""


class ApiError(ExporterError):
    """Task Manager or its token endpoint did not give us what we asked for."""

    reason: str = "http_4xx"

    def __init__(self, message: str, *, reason: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason
        self.status = status


class AuthError(ApiError):
    """401 from the token endpoint or the API, after one fresh token was tried."""

    reason = "auth"


class PermissionDenied(AuthError):
    """403: the token is valid but lacks a scope the endpoint needs."""

    reason = "forbidden"


class RateLimited(ApiError):
    """429 or 503 that kept coming after every retry we allowed ourselves."""

    reason = "throttled"

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ApiUnavailable(ApiError):
    """5xx, timeout or connection failure that outlasted the retries."""

    reason = "http_5xx"


class BadPayload(ApiError):
    """A body we cannot use: not JSON, truncated, or JSON of the wrong shape."""

    reason = "decode"


class PaginationError(ApiError):
    """A cursor chain that loops or runs past the page budget."""

    reason = "pagination"
