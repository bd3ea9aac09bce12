"""Task Manager's documented error body and the exception that carries it to the handler."""

from __future__ import annotations

from typing import Any

_ECHO_LIMIT = 256  # a hostile 60 kB value is echoed in part: enough to recognise, not to amplify
_KB_LINK = {"lineTag": "", "serCode": "", "version": "", "build": 0, "product": "", "os": ""}


class ApiError(Exception):
    """A request the API refuses; the handler turns it into `status` plus the error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        domain: str = "TaskManager",
        context: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.domain = domain
        self.context = dict(context or {})

    def body(self) -> dict[str, Any]:
        """Return the documented body: domain, code, reason, context, kbLink, debug."""
        return error_body(self.domain, self.code, str(self), self.context)


def error_body(
    domain: str, code: str, message: str, context: dict[str, object] | None = None
) -> dict[str, Any]:
    """Build `{"domain","code","reason","context","kbLink","debug"}` as the reference documents it."""
    return {
        "domain": domain,
        "code": code,
        "reason": code,  # "Obsolete. Same as in 'code' field" (reference)
        "context": {key: _cut(value) for key, value in (context or {}).items()},
        "kbLink": dict(_KB_LINK),
        "debug": {"msg": _cut(message)},
    }


def _cut(value: object) -> object:
    if isinstance(value, str) and len(value) > _ECHO_LIMIT:
        return value[:_ECHO_LIMIT] + "..."
    return value


def bad_request(message: str, **context: object) -> ApiError:
    """Return a 400 for bad user input."""
    return ApiError(400, "BadRequest", message, context=context)


def not_found(message: str, **context: object) -> ApiError:
    """Return a 404 for an unknown id."""
    return ApiError(404, "NotFound", message, context=context)
