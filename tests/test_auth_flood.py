"""Clients flooding basic auth with wrong passwords cannot keep the probes out.

With basic auth from ``--web.config.file`` every wrong password costs a bcrypt check on a
worker thread; a flood of them keeps the checks queued. The kubelet's probes need no
credentials and must be answered whatever such clients do, however many connections they
hold. The exporter runs as a real process; the flood and the probes are real sockets.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from typing import TYPE_CHECKING

import bcrypt
import pytest

from tests.support.processes import ExporterProcess, start_exporter, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow

HOSTILE_CLIENTS = 70  # more than the 64 connections the server holds by default
IN_FLIGHT = 8  # requests each hostile client keeps pipelined
PROBES = 20  # of each path
_WRONG = base64.b64encode(b"prometheus:not-the-password").decode()
_GUESS = f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {_WRONG}\r\n\r\n".encode()


class _WrongPasswordFlood:
    """Clients that pipeline wrong-password scrapes, keep-alive, and connect again when closed."""

    def __init__(self, address: tuple[str, int], clients: int) -> None:
        self._address = address
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.answers: dict[bytes, int] = {}  # status code -> answers received
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _client(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError), socket.create_connection(self._address, timeout=1.0) as sock:
                sock.sendall(_GUESS * IN_FLIGHT)
                while not self._stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        received = sock.recv(65536)
                        if not received:
                            break  # closed by the server: connect again
                        answered = self._count(received)
                        sock.sendall(_GUESS * answered)  # another request for each answer

    def _count(self, received: bytes) -> int:
        codes = [part[:3] for part in received.split(b"HTTP/1.1 ")[1:]]
        with self._lock:
            for code in codes:
                self.answers[code] = self.answers.get(code, 0) + 1
        return len(codes)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10.0)


@contextlib.contextmanager
def _flooded(exporter: ExporterProcess) -> Iterator[_WrongPasswordFlood]:
    flood = _WrongPasswordFlood(("127.0.0.1", exporter.port), HOSTILE_CLIENTS)
    try:
        yield flood
    finally:
        flood.stop()


def _probe(port: int, path: str) -> str:
    """One kubelet probe: a new connection, one GET, the status line (or what went wrong)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10.0) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    except OSError as error:
        return type(error).__name__
    return received.partition(b"\r\n")[0].decode("latin-1") or "closed unanswered"


def test_probes_are_answered_while_wrong_passwords_flood_every_connection(tmp_path: Path) -> None:
    """70 clients pipelining wrong passwords hold every connection; each probe still gets its 200."""
    hashed = bcrypt.hashpw(b"the-password", bcrypt.gensalt(rounds=10)).decode()  # as deployed: ~70 ms a check
    config = tmp_path / "web.yml"
    config.write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n", encoding="utf-8")
    args = ["--demo", "--web.config.file", str(config), "--log.level", "debug"]
    with start_exporter(args, workdir=tmp_path) as exporter, _flooded(exporter) as flood:
        wait_until(
            # The server says so: checks refused past its queue, newcomers evicting to find a slot.
            lambda: flood.answers.get(b"503") and exporter.events("http_connection_evicted"),
            timeout=30.0,
            what="the flood to fill the check queue and every connection",
        )
        probes = [_probe(exporter.port, path) for _ in range(PROBES) for path in ("/healthz", "/readyz")]
        assert probes == ["HTTP/1.1 200 OK"] * len(probes)
        assert flood.answers.get(b"401"), flood.answers  # the wrong passwords were checked, and refused
