"""The serving loop when a request or the app misbehaves: every client still gets an answer.

In-process ``MetricsServer`` over real sockets; the apps stand in for the exporter's own
(tests/test_server.py serves the real one).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from typing import TYPE_CHECKING

import structlog.testing

from exporter.config import WebSettings
from exporter.httpworkers import CHECK_WORKERS, CHECKS_HELD
from exporter.listener import tls_context
from tests.support.certs import self_signed
from tests.support.metrics_server import serving

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path
    from wsgiref.types import StartResponse, WSGIEnvironment


def _read_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _hello(_environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello\n"]


def test_a_target_that_does_not_parse_gets_a_400_and_no_error_log() -> None:
    """A client's malformed absolute-form target is its error: a 400, nothing logged at error level."""
    with serving(_hello) as server:
        with structlog.testing.capture_logs() as logged:
            for _ in range(2):
                with socket.create_connection(server.address, timeout=10.0) as sock:
                    sock.sendall(b"GET http://[::1/metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                    assert _read_all(sock).startswith(b"HTTP/1.1 400 Bad request target\r\n")
        assert [entry for entry in logged if entry["log_level"] == "error"] == []


class _BrokenTriage:
    """An app whose question "can the loop answer this at once?" raises: a bug on the loop's side."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return _hello(environ, start_response)

    def worker_for(self, environ: WSGIEnvironment) -> str | None:
        if environ["PATH_INFO"] == "/broken":
            msg = "a bug"
            raise RuntimeError(msg)
        return None


def test_a_bug_in_the_loop_answers_500_before_the_connection_closes() -> None:
    """The request being answered when the loop's own step failed gets a 500, and others are served on."""
    with serving(_BrokenTriage()) as server:
        with structlog.testing.capture_logs() as logged:
            with socket.create_connection(server.address, timeout=10.0) as sock:
                sock.sendall(b"GET /broken HTTP/1.1\r\n\r\n")
                reply = _read_all(sock)
            assert reply.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
            assert b"Connection: close\r\n" in reply
            with socket.create_connection(server.address, timeout=10.0) as sock:
                sock.sendall(b"GET /fine HTTP/1.1\r\nConnection: close\r\n\r\n")
                assert _read_all(sock).endswith(b"\r\n\r\nhello\n")
        errors = [entry["event"] for entry in logged if entry["log_level"] == "error"]
        assert errors == ["http_connection_failed"]


def test_a_client_cannot_renegotiate_tls(tmp_path: Path) -> None:
    """The server's context refuses renegotiation (whatever OpenSSL's default), and the loop serves on."""
    cert, key = self_signed(tmp_path)
    assert tls_context(str(cert), str(key)).options & ssl.OP_NO_RENEGOTIATION
    web = WebSettings(listen_address="127.0.0.1:0", tls_cert_file=str(cert), tls_key_file=str(key))
    with serving(_hello, web) as server:
        connect = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.address[1]}", "-tls1_2", "-quiet"]
        request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        renegotiate = [*connect, "-no_ign_eof"]
        refused = subprocess.run(
            renegotiate, input=b"R\n" + request, capture_output=True, timeout=30, check=False
        )
        assert b"no renegotiation" in refused.stderr
        assert refused.stdout == b""
        served = subprocess.run(connect, input=request, capture_output=True, timeout=30, check=False)
        assert served.stdout.endswith(b"\r\n\r\nhello\n")


class _HeldChecks:
    """An app whose ``/check`` requests hold a credential-check worker until released; ``/render`` renders."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.checking = threading.Semaphore(0)  # one per check that started

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/check":
            self.checking.release()
            self.release.wait(timeout=30.0)
        return _hello(environ, start_response)

    def worker_for(self, environ: WSGIEnvironment) -> str | None:
        return {"/check": "check", "/render": "render"}.get(environ["PATH_INFO"])


def _send(address: tuple[str, int], path: str) -> socket.socket:
    sock = socket.create_connection(address, timeout=10.0)
    sock.sendall(f"GET {path} HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
    return sock


def test_a_scrape_that_renders_does_not_wait_behind_credential_checks() -> None:
    """Every check worker busy and more checks waiting: a render has its own worker and is answered."""
    app = _HeldChecks()
    with serving(app, before_shutdown=app.release.set) as server, contextlib.ExitStack() as held:
        for _ in range(CHECK_WORKERS * 2):
            held.enter_context(_send(server.address, "/check"))
        for _ in range(CHECK_WORKERS):
            assert app.checking.acquire(timeout=10.0)
        with _send(server.address, "/render") as render:
            assert _read_all(render).endswith(b"\r\n\r\nhello\n")


def test_credential_checks_past_the_bound_get_a_503_and_the_held_ones_their_answer() -> None:
    """A flood of checks holds at most a bounded queue; the one past it is told 503, the others are served."""
    app = _HeldChecks()
    with serving(app, before_shutdown=app.release.set) as server, contextlib.ExitStack() as held:
        checks = [held.enter_context(_send(server.address, "/check")) for _ in range(CHECKS_HELD)]
        with _send(server.address, "/fine") as fine:  # answered once every check above was read
            assert _read_all(fine).endswith(b"hello\n")
        with _send(server.address, "/check") as refused:
            reply = _read_all(refused)
        assert reply.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert b"Connection: close\r\n" in reply
        app.release.set()
        for check in checks:
            assert _read_all(check).endswith(b"\r\n\r\nhello\n")
