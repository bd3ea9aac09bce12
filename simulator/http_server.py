"""The HTTP front: routing, authentication, faults on the wire, the request log.

A stdlib ThreadingHTTPServer speaking HTTP/1.1 with keep-alive, one thread per
connection, the way a real client's connection pool meets a server. It keeps track
of its connections and of the requests in flight, so that stopping can let them
finish before the database closes.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from simulator.api import Reply
from simulator.api_errors import ApiError, bad_request, error_body
from simulator.requestlog import RequestRecord
from simulator.store import StoreClosedError
from simulator.wirefaults import encode_json, fault_headers, mangle, reply_copy
from simulator.wirefaults import failure as failure_reply

if TYPE_CHECKING:
    from collections.abc import Iterator

    from simulator.core import Simulator

# A client that timed out or closed its connection mid-reply: routine, never an error.
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
_STOPPING = ApiError(503, "ServiceUnavailable", "the simulator is stopping")
_INTERNAL = ApiError(500, "InternalError", "the simulator failed to answer; its log has the traceback")
MAX_BODY = 1 << 20  # token forms and fault specs are tiny; reading a declared 10 GB would allocate it
_DIGITS = re.compile(r"[0-9]+")
_LINGER_SECONDS = 1.0
_ITEM = re.compile(r"^/api/task_manager/v2/(tasks|activities)(?:/([^/]*))?/?$")


class SimulatorServer(ThreadingHTTPServer):
    """A threaded HTTP server that knows the simulator it fronts."""

    daemon_threads = True
    allow_reuse_address = True
    # The stdlib's backlog of 5 makes the sixth simultaneous connect wait for a 1 s SYN retransmit;
    # a connection pool opening a burst of connections would see that as latency.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        if ":" in address[0]:  # an IPv6 literal such as "::1"
            self.address_family = socket.AF_INET6
        self._open: dict[threading.Thread, socket.socket] = {}
        self._in_flight = 0
        self._lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:  # noqa: ANN401  the stdlib's signature
        """Serve a new connection on its own thread, registered before it starts so stop() sees it."""
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="simulator-connection",
            daemon=True,
        )
        with self._lock:
            self._open[thread] = request
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:  # noqa: ANN401  the stdlib's signature
        """Serve one connection, then forget it."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._open.pop(threading.current_thread(), None)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]  # the stdlib's is untyped
        """Close a connection without resetting it: a reply sent before the request was read must arrive.

        Closing a socket with unread input (a 414's rest of the URL, a 413's body) sends a TCP
        reset, which can destroy the reply in the client's buffer. Reading what is left first, for a
        bounded time and size, lets the client see the reply and then end-of-file.
        """
        with contextlib.suppress(OSError):
            request.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            drained = 0
            while drained < MAX_BODY and (left := deadline - time.monotonic()) > 0:
                request.settimeout(left)
                chunk = request.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        self.close_request(request)

    @property
    def in_flight(self) -> int:
        """How many requests are being answered right now."""
        with self._lock:
            return self._in_flight

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Count one request as in flight while the block runs."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def finish_connections(self, timeout: float) -> None:
        """Let requests in flight finish, end idle kept-alive connections, and wait for their threads.

        Shutting down only the reading side wakes a handler waiting for the next request
        (it reads end-of-file) while one busy answering can still write its reply.
        """
        with self._lock:
            open_now = dict(self._open)
        for sock in open_now.values():
            with contextlib.suppress(OSError):  # the client may have gone already
                sock.shutdown(socket.SHUT_RD)
        deadline = time.monotonic() + timeout
        for thread in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))


class Handler(BaseHTTPRequestHandler):
    """One request: apply faults, route, encode, log."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid the 40 ms delayed-ACK stall
    server: SimulatorServer

    def do_GET(self) -> None:  # the stdlib's name
        """Serve a GET."""
        self._handle()

    def do_POST(self) -> None:  # the stdlib's name
        """Serve a POST."""
        self._handle()

    def do_DELETE(self) -> None:  # the stdlib's name
        """Serve a DELETE."""
        self._handle()

    def handle(self) -> None:
        """Serve the connection's requests; a client hanging up ends it with one debug line."""
        try:
            super().handle()
        except _CLIENT_GONE as error:
            self.close_connection = True
            host, port = self.client_address[:2]
            self.server.simulator.log_client_gone(f"{host}:{port}", type(error).__name__)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Stamp the Date header from the simulator's clock, as a real server uses its own."""
        return super().date_time_string(self.server.simulator.date() if timestamp is None else timestamp)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401  the stdlib's signature
        """Silence the stdlib's access log; the simulator logs with structlog instead."""

    def _handle(self) -> None:
        with self.server.answering():
            self._answer()

    def _answer(self) -> None:
        arrived = time.monotonic()
        sim = self.server.simulator
        path = self.path
        query: list[tuple[str, str]] = []
        try:
            path, query = _split(self.path)
            status, headers, payload = self._dispatch(path, query)
        except _CLIENT_GONE:
            raise  # routine, not a bug: handle() logs it at debug level and ends the connection
        except Exception:  # noqa: BLE001  the root of dispatch: whatever broke, the client gets an answer
            sim.log_failure(self.command, path, traceback.format_exc())
            self.close_connection = True  # the request's body may be half read: start afresh
            status, headers, payload = _INTERNAL.status, {}, encode_json(_INTERNAL.body())
        if self.close_connection:
            headers["Connection"] = "close"
        # Recorded and logged before it is sent: a client holding the reply finds it in the log
        # (a SIGTERM right after cannot lose the line), and one that hung up still counts.
        cookie = "Cookie" in self.headers
        sim.requests.add(RequestRecord(self.command, path, query, status, len(payload), arrived, cookie))
        sim.log_request(
            self.command, path, query, status=status, size=len(payload), seconds=time.monotonic() - arrived
        )
        self._send(status, headers, payload, twice=sim.faults.take("duplicate_reply", path) is not None)

    def _dispatch(self, path: str, query: list[tuple[str, str]]) -> tuple[int, dict[str, str], bytes]:
        """Answer one parsed request; refusals become their status and the documented body."""
        sim = self.server.simulator
        try:
            body = self._read_body()
            if sim.faults.added_latency and not path.startswith("/_sim/"):
                time.sleep(sim.faults.added_latency)  # the simulator's own delay, not a test waiting
            return self._respond(path, query, body)
        except StoreClosedError:  # stop() gave up waiting for this request: answer like a server going down
            self.close_connection = True
            return _STOPPING.status, {}, encode_json(_STOPPING.body())
        except ApiError as error:
            return error.status, {}, encode_json(error.body())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Refuse what the stdlib cannot parse (a URL or header too long, bad syntax, an unknown method).

        Same as the stdlib's, but with the documented JSON error body instead of an HTML page.
        """
        del explain  # the stdlib's HTML detail; the JSON body carries `message`
        # An unreadable request line leaves the stdlib's default, HTTP/0.9, which would send the body
        # with no status line at all; nobody speaks 0.9 any more, so answer as nginx does.
        self.request_version = "HTTP/1.0" if self.request_version == "HTTP/0.9" else self.request_version
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
        payload = encode_json(error_body("HTTP", re.sub(r"[^A-Za-z]", "", phrase), message or phrase))
        self.send_response(code)  # the standard phrase: `message` may echo the client's bytes
        self.send_header("Connection", "close")
        with_body = code >= 200 and code not in (204, 205, 304) and self.command != "HEAD"  # noqa: PLR2004
        if with_body:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if with_body:
            self.wfile.write(payload)

    def _respond(
        self, path: str, query: list[tuple[str, str]], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        sim = self.server.simulator
        if path.startswith("/_sim/"):
            reply = sim.admin.handle(self.command, path, query, body)
            return reply.status, reply.headers, encode_json(reply.body)
        failure = sim.faults.take("fail", path)
        if failure is not None:
            return failure_reply(failure.options)
        reply = self._route(path, query, body)
        payload = encode_json(reply.body)
        if reply.status == 200:  # noqa: PLR2004  only successful bodies get mangled
            payload = mangle(sim, path, payload)
        return reply.status, {**reply.headers, **fault_headers(sim, path)}, payload

    def _route(self, path: str, query: list[tuple[str, str]], body: bytes) -> Reply:
        sim = self.server.simulator
        if path == "/api/2/idp/token":
            if self.command != "POST":
                raise ApiError(405, "MethodNotAllowed", "use POST", domain="IdP")
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            return Reply(200, sim.issue_token(form, self.headers.get("Authorization")))
        match = _ITEM.match(path)
        if match is None or self.command != "GET":
            raise ApiError(404, "NotFound", f"no route for {self.command} {path}")
        grant = sim.tokens.check(self.headers.get("Authorization"))
        sim.before_api_request()
        kind, item_id = match.groups()
        if item_id is None:
            return sim.api.list_items(kind, path, query, grant)
        return sim.api.get_item(kind, unquote(item_id), query, grant)

    def _read_body(self) -> bytes:
        """Read a Content-Length body of at most MAX_BODY bytes; refuse anything else before reading."""
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True  # the unread chunks would be taken for the next request
            raise ApiError(411, "LengthRequired", "send the body with a Content-Length, not chunked")
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not _DIGITS.fullmatch(declared):
            self.close_connection = True
            raise bad_request("Content-Length must be a non-negative integer", header="Content-Length")
        if len(declared) > len(str(MAX_BODY)) or int(declared) > MAX_BODY:
            self.close_connection = True  # not read: the client may still be sending it
            raise ApiError(413, "PayloadTooLarge", f"the body may be at most {MAX_BODY} bytes")
        length = int(declared)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: dict[str, str], payload: bytes, *, twice: bool = False) -> None:
        self.send_response(status)
        headers.setdefault("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        # The copy goes out in the body's own write, so that a client reads it together with
        # the reply's end: it then sits in the client's buffer, not in the socket.
        self.wfile.write(payload + (reply_copy(status, headers["Content-Type"], payload) if twice else b""))


def _split(target: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a request target into its path and query pairs; a target urlsplit cannot read is a 400."""
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. "//[" reads as an unclosed IPv6 host
        raise bad_request("malformed request target") from None
    # Escapes that are not UTF-8 decode to U+FFFD, as Go's url package keeps them: a value, not a crash.
    return parts.path, parse_qsl(parts.query, keep_blank_values=True)
