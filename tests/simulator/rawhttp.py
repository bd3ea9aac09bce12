"""Raw HTTP over a socket, for requests no well-behaved client would send.

httpx refuses URLs over 64 kB, NUL bytes and invalid escapes before they leave the
client; these helpers put any bytes on the wire and read whatever comes back, so a
dropped connection surfaces as `http.client.RemoteDisconnected`, not as a skipped case.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from simulator.models import ErrorBody

if TYPE_CHECKING:
    from simulator import RunningSimulator

API = "/api/task_manager/v2"
ERROR_KEYS = {"domain", "code", "reason", "context", "kbLink", "debug"}


@dataclass(frozen=True)
class RawReply:
    """A reply as read off the wire."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:  # noqa: ANN401  any JSON body
        """Decode the body as JSON."""
        return json.loads(self.body)

    def error(self) -> ErrorBody:
        """Return the body as the documented error body, checking it has every documented key."""
        body = self.json()
        assert isinstance(body, dict), body
        assert body.keys() >= ERROR_KEYS, body
        # The IdP adds OAuth2's `error` and `error_description`; the documented part must be whole.
        return ErrorBody.model_validate({key: body[key] for key in ERROR_KEYS})


def exchange(base_url: str, request: bytes, *, timeout: float = 30.0) -> RawReply:
    """Send raw request bytes on a new connection and read one reply."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout) as sock:
        sock.sendall(request)
        method = request.split(b" ", 1)[0].decode("latin-1")
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()  # raises RemoteDisconnected if the server hung up without a reply
            body = response.read()
        finally:
            response.close()
        return RawReply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


def get(base_url: str, target: bytes | str, token: str, *, headers: bytes = b"") -> RawReply:
    """GET a raw request target (path and query, sent byte for byte) with a bearer token."""
    raw = target.encode("latin-1") if isinstance(target, str) else target
    request = (
        b"GET " + raw + b" HTTP/1.1\r\nHost: simulator\r\nAuthorization: Bearer " + token.encode() + b"\r\n"
    )
    return exchange(base_url, request + headers + b"Connection: close\r\n\r\n")


def post(base_url: str, path: str, body: bytes, *, headers: bytes = b"") -> RawReply:
    """POST a raw body with its Content-Length (unless `headers` brings its own framing)."""
    framing = (
        b""
        if b"content-length" in headers.lower() or b"transfer-encoding" in headers.lower()
        else (b"Content-Length: " + str(len(body)).encode() + b"\r\n")
    )
    head = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: simulator\r\nConnection: close\r\n" + framing
    return exchange(base_url, head + headers + b"\r\n" + body)


def basic(user: str, password: str) -> bytes:
    """Return an HTTP Basic Authorization header line."""
    return b"Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()) + b"\r\n"


def query_string(params: list[tuple[str, str]]) -> str:
    """Percent-encode name=value pairs, every reserved character escaped."""
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in params)


class Client:
    """Raw GETs against the shared simulator."""

    def __init__(self, sim: RunningSimulator, token: str) -> None:
        self.sim, self.token = sim, token

    def get(self, path: str, query: str = "") -> RawReply:
        """GET an API path with a raw (already encoded) query string."""
        return get(self.sim.url, API + path + (f"?{query}" if query else ""), self.token)

    def count(self, kind: str, params: list[tuple[str, str]]) -> int:
        """Return the lod=count of a filtered listing."""
        reply = self.get(f"/{kind}", query_string([("lod", "count"), *params]))
        assert reply.status == 200, reply.body[:300]
        return int(reply.json()["count"])

    def refused(self, path: str, query: str, status: int = 400) -> dict[str, object]:
        """Assert a refusal with `status` and the documented body; return its context."""
        reply = self.get(path, query)
        assert reply.status == status, (path, query[:200], reply.status, reply.body[:300])
        return reply.error().context
