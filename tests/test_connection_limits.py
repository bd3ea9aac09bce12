"""Idle connections cannot lock scrapes out: the web server bounds its connections and evicts idlers.

The exporter runs as a real process under a low RLIMIT_NOFILE; far more idle sockets than
it has file descriptors are opened to it, and a scrape must still answer 200.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import socket
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from exporter.config import WebSettings
from exporter.httpserver import CONNECTION_TIMEOUT
from exporter.listener import MetricsServer
from tests.support.hostile_api import CLIENT_ID, CLIENT_SECRET, HostileApi
from tests.support.processes import (
    EXPORTER_COMMAND,
    ExporterProcess,
    child_env,
    free_port,
    start_exporter,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from wsgiref.types import StartResponse, WSGIEnvironment

pytestmark = pytest.mark.slow

NOFILE = 256  # the exporter's descriptor limit in this test
IDLE_SOCKETS = 600  # well past it


def _low_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


@contextlib.contextmanager
def _exporter_with_few_descriptors(api: HostileApi, workdir: Path) -> Iterator[ExporterProcess]:
    port = free_port()
    args = ["--api.url", api.url, "--api.client-id", CLIENT_ID, "--web.listen-address", f"127.0.0.1:{port}"]
    env = child_env({"ACRONIS_EXPORTER_API__CLIENT_SECRET": CLIENT_SECRET})
    stderr_path, stdout_path = workdir / "exporter-stderr.log", workdir / "exporter-stdout.log"
    with stderr_path.open("wb") as err, stdout_path.open("wb") as out:
        process = subprocess.Popen(
            [*EXPORTER_COMMAND, *args],
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            preexec_fn=_low_nofile,  # noqa: PLW1509 - setrlimit takes no lock a forked thread could hold
        )
    exporter = ExporterProcess(process, f"http://127.0.0.1:{port}", port, stderr_path, stdout_path)
    with exporter:
        exporter.wait_ready()
        yield exporter


def _open_idle(port: int, count: int) -> list[socket.socket]:
    """Open ``count`` connections that never send a byte (those the backlog refuses are skipped)."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.settimeout(0.0)  # non-blocking: connect() returns at once
        with contextlib.suppress(BlockingIOError):
            sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


def test_a_scrape_gets_through_hundreds_of_idle_connections(tmp_path: Path) -> None:
    """With more idle sockets open than the exporter has descriptors, /metrics still answers 200."""
    with HostileApi() as api, _exporter_with_few_descriptors(api, tmp_path) as exporter:
        idle = _open_idle(exporter.port, IDLE_SOCKETS)
        try:
            for _ in range(3):  # again and again: the idlers keep arriving, the scrapes keep getting through
                idle += _open_idle(exporter.port, 50)
                response = httpx.get(exporter.url + "/metrics", timeout=httpx.Timeout(20.0))
                assert response.status_code == 200
                assert "acronis_up" in response.text
        finally:
            for sock in idle:
                sock.close()
        assert exporter.returncode is None, exporter.stderr()[-2000:]


def _hello(_environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello\n"]


def test_past_the_limit_the_connection_idle_longest_makes_room() -> None:
    """With two slots taken by idle sockets, a third connection evicts the first; a scrape then gets in."""
    server = MetricsServer(WebSettings(listen_address="127.0.0.1:0", max_connections=2), _hello)
    server.start()
    first = socket.create_connection(server.address, timeout=10.0)
    second = socket.create_connection(server.address, timeout=10.0)
    try:
        with socket.create_connection(server.address, timeout=10.0):
            assert first.recv(1) == b"", "the connection idle longest was not closed"
        response = httpx.get(f"http://127.0.0.1:{server.address[1]}/", timeout=10.0)
        assert response.status_code == 200
        assert response.text == "hello\n"
    finally:
        first.close()
        second.close()
        server.shutdown()


class _Trickler:
    """A client that sends a request line and then its headers a byte at a time, never ending them.

    When the server closes its connection it connects again, so the pressure never lets up.
    """

    def __init__(self, address: tuple[str, int]) -> None:
        self._address = address
        self._stop = threading.Event()
        self.bytes_sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError), socket.create_connection(self._address, timeout=10.0) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
                while not self._stop.wait(0.2) and not select.select([sock], [], [], 0)[0]:
                    sock.sendall(b"a")
                    self.bytes_sent += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)


def _probe(address: tuple[str, int]) -> bytes:
    with socket.create_connection(address, timeout=10.0) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        return sock.recv(64).partition(b"\r\n")[0]


def test_clients_trickling_their_headers_do_not_hold_every_slot() -> None:
    """With every slot taken by clients that never finish their headers, probes are still answered."""
    server = MetricsServer(WebSettings(listen_address="127.0.0.1:0", max_connections=4), _hello)
    server.start()
    tricklers = [_Trickler(server.address) for _ in range(4)]
    try:
        wait_until(
            lambda: all(trickler.bytes_sent >= 3 for trickler in tricklers),
            timeout=20.0,
            what="every trickler to be sending its headers",
        )
        assert [_probe(server.address) for _ in range(5)] == [b"HTTP/1.1 200 OK"] * 5
    finally:
        for trickler in tricklers:
            trickler.stop()
        server.shutdown()


def _answer_or_close(sock: socket.socket) -> bytes | None:
    """Send one more header byte; return what the server sent (b"" for a close), or None yet."""
    try:
        sock.sendall(b"a")
        if not select.select([sock], [], [], 0.5)[0]:
            return None
        return sock.recv(64)
    except (BrokenPipeError, ConnectionResetError):  # it closed between two bytes
        return b""


@pytest.mark.parametrize(
    "start",
    [b"GET / HTTP/1.1\r\nX-Slow: ", b"GET /", b"G"],
    ids=["header-block", "request-line", "first-byte"],
)
def test_a_request_must_arrive_within_one_timeout_however_it_trickles(start: bytes) -> None:
    """A client sending a byte every half second is cut off; no read's timeout restarts the clock.

    The request line and the header block share one deadline from the request's first byte.
    """
    server = MetricsServer(WebSettings(listen_address="127.0.0.1:0"), _hello)
    server.start()
    try:
        with socket.create_connection(server.address, timeout=10.0) as sock:
            sock.sendall(start)
            ended = wait_until(
                lambda: _answer_or_close(sock),
                timeout=3 * CONNECTION_TIMEOUT,
                what="the server to end the trickling connection",
            )
            assert ended == b""
    finally:
        server.shutdown()


def _memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in KiB."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines()
    fields = dict(line.split(":", 1) for line in status)
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def _send_huge_header(port: int, request: bytes) -> None:
    """Send ``request`` and read what comes back; the server may hang up before taking all of it."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=20.0) as sock:
        sock.sendall(request)
        while sock.recv(1 << 16):
            pass


def test_memory_stays_bounded_whatever_size_of_headers_scrapers_send(tmp_path: Path) -> None:
    """Scrapes with distinct, huge Accept and Accept-Encoding headers leave the exporter's memory as it was.

    Each request repeats its header ~100 times in lines under the line limit: joined, one value
    would be megabytes, and remembered per distinct value.
    """
    with start_exporter(["--demo"], workdir=tmp_path) as exporter:
        assert exporter.get("/metrics").status_code == 200
        pid = exporter.process.pid
        before = _memory_kib(pid)
        for index in range(40):
            name = b"Accept" if index % 2 == 0 else b"Accept-Encoding"
            line = name + b": " + str(index).encode() + b"x" * 65000 + b"\r\n"
            request = b"GET /metrics HTTP/1.1\r\nConnection: close\r\n" + line * 98 + b"\r\n"
            _send_huge_header(exporter.port, request)
        assert exporter.get("/metrics").status_code == 200
        after = _memory_kib(pid)
    growth_mib = {name: (after[name] - before[name]) / 1024 for name in after}
    assert growth_mib["VmHWM"] < 64, growth_mib  # 40 such values joined would be ~250 MiB
    assert growth_mib["VmRSS"] < 64, growth_mib


class _Gate:
    """An app whose ``/gate`` holds the serving loop until released."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/gate":
            self.entered.set()
            self.release.wait(timeout=30.0)
        return _hello(environ, start_response)


def _read_to_end(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _lowest_free_descriptor() -> int:
    probe = os.dup(0)
    os.close(probe)
    return probe


def test_out_of_descriptors_a_connection_of_the_same_accept_batch_is_not_evicted() -> None:
    """Two clients queued together, a descriptor for one: the first is answered, the second after it."""
    app = _Gate()
    server = MetricsServer(WebSettings(listen_address="127.0.0.1:0"), app)
    server.start()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    clients = [socket.socket(), socket.socket()]  # their descriptors, taken before the limit drops
    try:
        with socket.create_connection(server.address, timeout=10.0) as gate:
            gate.sendall(b"GET /gate HTTP/1.1\r\nConnection: close\r\n\r\n")
            assert app.entered.wait(timeout=10.0)
            # The server's end of the gate connection frees one descriptor below the limit: one
            # accept succeeds, the next runs out of descriptors in the same batch.
            resource.setrlimit(resource.RLIMIT_NOFILE, (_lowest_free_descriptor(), hard))
            for client in clients:
                client.settimeout(10.0)
                client.connect(server.address)  # queued in the backlog while the loop is held
                client.sendall(b"GET /queued HTTP/1.1\r\nConnection: close\r\n\r\n")
            app.release.set()
            assert _read_to_end(gate).endswith(b"hello\n")
            for client in clients:
                assert _read_to_end(client).endswith(b"\r\n\r\nhello\n")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        app.release.set()
        for client in clients:
            client.close()
        server.shutdown()
