"""Faults applied on the wire: an injected status, or a successful body mangled on its way out."""

from __future__ import annotations

import itertools
import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from simulator.api_errors import error_body

if TYPE_CHECKING:
    from simulator.core import Simulator

_PROXY_401 = (
    "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
    "<center><h1>401 Authorization Required</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_COOKIE_NAMES = itertools.count()  # every cookie of the set_cookies fault is a new one: a jar would grow


def encode_json(body: Any) -> bytes:  # noqa: ANN401  any JSON-able value
    """Encode a reply body compactly."""
    return json.dumps(body, separators=(",", ":")).encode()


def failure(options: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Answer like the `fail` fault says: its status, Retry-After, and a JSON or HTML body."""
    status: int = options["status"]
    headers: dict[str, str] = {}
    retry_after = options["retry_after"]
    if retry_after is not None:
        headers["Retry-After"] = retry_after if isinstance(retry_after, str) else str(round(retry_after))
    if options["html"]:
        headers["Content-Type"] = "text/html"
        page = _PROXY_401 if status == 401 else f"<html><body><h1>{status}</h1></body></html>"  # noqa: PLR2004
        return status, headers, page.encode()
    code = {401: "Unauthorized", 403: "Forbidden", 429: "TooManyRequests", 503: "ServiceUnavailable"}
    return (
        status,
        headers,
        encode_json(error_body("TaskManager", code.get(status, "InternalError"), "injected fault")),
    )


def mangle(sim: Simulator, path: str, payload: bytes) -> bytes:
    """Apply body faults: wrong shape, truncation, not JSON at all."""
    if sim.faults.take("wrong_shape", path):
        payload = encode_json([{"unexpected": "shape"}])
    if sim.faults.take("truncate_json", path):
        payload = payload[: max(1, len(payload) // 2)]
    if sim.faults.take("malformed_json", path):
        payload = b"<<not json>> {items: [ oops"
    return payload


def fault_headers(sim: Simulator, path: str) -> dict[str, str]:
    """Return the headers header faults add to a reply: a ``Set-Cookie`` of a new name, an extra header."""
    headers = {}
    if sim.faults.take("set_cookies", path) is not None:
        headers["Set-Cookie"] = f"sim-{next(_COOKIE_NAMES)}={'c' * 1024}; Path=/"
    if (extra := sim.faults.take("extra_header", path)) is not None:
        headers[extra.options["name"]] = extra.options["value"]
    return headers


def reply_copy(status: int, content_type: str, payload: bytes) -> bytes:
    """Return a second reply with the same status and body: what ``duplicate_reply`` sends after the first."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    head = f"HTTP/1.1 {status} {phrase}\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
    return f"{head}\r\n".encode("latin-1") + payload
