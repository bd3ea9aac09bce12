"""The exporter under test: the real console script, in a process of its own.

A separate process keeps its CPU time and peak RSS apart from the simulator's and the
harness's. The client secret travels in the environment, never on the command line
where ``ps`` would show it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

_ENV_PREFIX = "ACRONIS_EXPORTER_"
_CONSOLE_SCRIPT = Path(sys.executable).with_name("acronis-task-exporter")
_STOP_GRACE_SECONDS = 15.0


@dataclass(frozen=True)
class ExporterOptions:
    """How the benchmark configures the exporter; everything else keeps its default."""

    api_url: str
    client_id: str
    client_secret: str
    poll_interval: float
    page_size: int
    max_tenants: int | None  # None keeps the exporter's default cap

    def argv(self, listen_port: int) -> list[str]:
        """Return the command-line flags; the secret goes in the environment instead."""
        return [
            "--api.url",
            self.api_url,
            "--api.client-id",
            self.client_id,
            "--api.page-size",
            str(self.page_size),
            "--poll.interval",
            f"{self.poll_interval:g}",
            "--poll.jitter",
            "0",  # cycles on a fixed beat, so the harness knows when the next one comes
            *(["--metrics.max-tenants", str(self.max_tenants)] if self.max_tenants else []),
            "--web.listen-address",
            f"127.0.0.1:{listen_port}",
            "--log.level",
            "info",  # the harness follows the exporter's one poll_finished line per poll
            "--log.format",
            "json",
        ]


@dataclass
class ExporterProcess:
    """A running exporter and where its web server listens."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        """The process id, for /proc."""
        return self.process.pid

    def log_tail(self, characters: int = 2_000) -> str:
        """Return the end of what the exporter logged, to explain a failed run."""
        return self.log_path.read_text(errors="replace")[-characters:]

    def check_alive(self) -> None:
        """Raise with the exporter's log if it has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"the exporter exited with {self.process.returncode}:\n{self.log_tail()}")


@contextlib.contextmanager
def running_exporter(options: ExporterOptions) -> Iterator[ExporterProcess]:
    """Start the exporter, yield it, and stop it with SIGTERM as an operator would."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-exporter-") as workdir:
        log_path = Path(workdir) / "exporter.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*_command(), *options.argv(port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=_environment(options.client_secret),
            )
        exporter = ExporterProcess(process, f"http://127.0.0.1:{port}", log_path)
        try:
            yield exporter
        finally:
            _stop(process)


def _command() -> Sequence[str]:
    # The console script is what operators run; the module is the same code if it is missing.
    return (str(_CONSOLE_SCRIPT),) if _CONSOLE_SCRIPT.exists() else (sys.executable, "-m", "exporter")


def _environment(client_secret: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_ENV_PREFIX)}
    env[f"{_ENV_PREFIX}API__CLIENT_SECRET"] = client_secret
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
