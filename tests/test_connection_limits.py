"""Idle connections cannot lock scrapes out: the web server bounds its connections and evicts idlers.

The exporter runs as a real process under a low RLIMIT_NOFILE; far more idle sockets than
it has file descriptors are opened to it, and a scrape must still answer 200.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
from typing import TYPE_CHECKING

import httpx
import pytest

from exporter.config import WebSettings
from exporter.listener import MetricsServer
from tests.support.hostile_api import CLIENT_ID, CLIENT_SECRET, HostileApi
from tests.support.processes import EXPORTER_COMMAND, ExporterProcess, child_env, free_port

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path
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
