"""Astra Control's error body (seed 003): ``{type, title, detail, status, correlationID, invalidParams}``.

An RFC 7807-like problem document; ``status`` is a string, as the seed's table says.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

_TITLES: Final = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
_ECHO_LIMIT: Final = 256


class Problem(Exception):
    """A refused request; the server turns it into ``status`` plus the problem body."""

    def __init__(self, status: int, detail: str, invalid_params: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.invalid_params = invalid_params

    def body(self) -> dict[str, Any]:
        """Return the documented error body."""
        return problem_body(self.status, str(self), self.invalid_params)


def problem_body(
    status: int, detail: str, invalid_params: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """Build one problem document."""
    body: dict[str, Any] = {
        "type": f"https://astra.netapp.io/problems/{status}",
        "title": _TITLES.get(status, "Error"),
        "detail": detail[:_ECHO_LIMIT],
        "status": str(status),
        "correlationID": str(uuid.uuid4()),
    }
    if invalid_params is not None:
        body["invalidParams"] = invalid_params
    return body


def invalid(parameter: str, reason: str) -> Problem:
    """Return a 400 naming one invalid query parameter."""
    return Problem(
        400, f"The query parameter {parameter} is invalid.", [{"name": parameter, "reason": reason}]
    )
