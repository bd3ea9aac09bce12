"""Run the exporter as a real subprocess: free port, captured stderr, /readyz wait, SIGTERM stop.

Shared by every test that needs the exporter as operators run it (the console script, not
an in-process call). The child's environment is scrubbed of ``ACRONIS_EXPORTER_*`` so a
developer's shell never leaks into a test; pass what the test needs through ``env``.

Usage::

    with start_exporter(["--api.url", sim.url, ...], workdir=tmp_path) as exporter:
        httpx.get(exporter.url + "/metrics")
    assert exporter.returncode == 0
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx

from tests.support.lifetime import StopsOnExit, answers_ok, pause_unless_exits, verifying

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping, Sequence

T = TypeVar("T")

ENV_PREFIX = "ACRONIS_EXPORTER_"
_CONSOLE_SCRIPT = Path(sys.executable).with_name("acronis-task-exporter")
# The console script is what operators run; fall back to the module if the venv lacks it.
EXPORTER_COMMAND: tuple[str, ...] = (
    (str(_CONSOLE_SCRIPT),) if _CONSOLE_SCRIPT.exists() else (sys.executable, "-m", "exporter")
)
_POLL_INTERVAL = 0.05


class WaitTimeoutError(AssertionError):
    """A condition did not come true before its deadline."""


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    pause: Callable[[float], object] | None = None,
) -> T:
    """Poll ``condition`` until it returns something other than None/False; return that.

    ``pause`` waits between polls; pass e.g. ``process.wait`` wrapped so that a dying
    process ends the wait early. The default pause waits on a private event.
    """
    waiter = pause or threading.Event().wait
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        waiter(_POLL_INTERVAL)


def pause_for(seconds: float) -> Callable[[float], object]:
    """Return a ``wait_until`` pause of ``seconds``, for a condition that is costly to check."""
    return lambda _default: threading.Event().wait(seconds)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this environment minus any ACRONIS_EXPORTER_* setting, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(ENV_PREFIX)}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_exporter(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run the exporter to completion (``--once``, ``--check-config``, bad flags)."""
    return subprocess.run(
        [*EXPORTER_COMMAND, *args],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@dataclass(frozen=True)
class LogEvent:
    """One JSON log line of the exporter: its event name, its time, and every field."""

    name: str
    wall: float  # Unix seconds of the line's timestamp
    fields: Mapping[str, object]

    @property
    def monotonic(self) -> float:
        """The line's time on this machine's monotonic clock, the one request logs keep."""
        return self.wall + (time.monotonic() - time.time())


def log_events(text: str) -> list[LogEvent]:
    """Parse the JSON lines of an exporter log, skipping anything else (a traceback, a demo banner)."""
    events = []
    for line in text.splitlines():
        try:
            fields = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(fields, dict) and "event" in fields and "timestamp" in fields:
            wall = dt.datetime.fromisoformat(fields["timestamp"]).timestamp()
            events.append(LogEvent(str(fields["event"]), wall, fields))
    return events


@dataclass
class ExporterProcess(StopsOnExit):
    """A running exporter subprocess and where to reach it."""

    process: subprocess.Popen[bytes]
    url: str  # scheme://127.0.0.1:port, no trailing slash
    port: int
    stderr_path: Path
    stdout_path: Path
    verify: bool | ssl.SSLContext = field(default=True, repr=False)

    @property
    def returncode(self) -> int | None:
        """Exit status once the process ended, else None."""
        return self.process.poll()

    def stderr(self) -> str:
        """Everything the exporter wrote to stderr so far (its log)."""
        return self.stderr_path.read_text(errors="replace")

    def events(self, *names: str) -> list[LogEvent]:
        """Return the exporter's JSON log lines named ``names`` (all when none), in the order written."""
        return [event for event in log_events(self.stderr()) if not names or event.name in names]

    def stdout(self) -> str:
        """Everything the exporter wrote to stdout so far."""
        return self.stdout_path.read_text(errors="replace")

    def get(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> httpx.Response:
        """GET a path of the exporter's web server."""
        verify = verifying(verify=self.verify)
        return httpx.get(self.url + path, headers=headers, auth=auth, verify=verify, timeout=10.0)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until /readyz answers 200; fail early, with the log, if the process dies."""
        wait_until(
            self._ready,
            timeout=timeout,
            what=f"{self.url}/readyz\n--- exporter stderr ---\n{self.stderr()[-4000:]}",
            pause=self._pause,
        )

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the process to end by itself; return its exit status."""
        return self.process.wait(timeout=timeout)

    def send_signal(self, signum: int) -> None:
        """Deliver ``signum`` (SIGTERM, SIGINT, ...) to the exporter."""
        self.process.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Ask the exporter to stop with ``signum`` and wait; kill it only if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"exporter exited with {self.process.returncode} before it was ready\n{self.stderr()[-4000:]}"
            )
        return answers_ok(self.url + "/readyz", verify=self.verify, timeout=10.0)

    def _pause(self, seconds: float) -> None:
        pause_unless_exits(self.process, seconds)


def start_exporter(  # noqa: PLR0913 - every keyword is an independent, optional knob
    args: Sequence[str],
    *,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    scheme: str = "http",
    verify: bool | ssl.SSLContext = True,
    wait_ready: bool = True,
    ready_timeout: float = 60.0,
) -> ExporterProcess:
    """Start the exporter on 127.0.0.1:``port`` (a free one by default) with ``args``.

    ``--web.listen-address`` is added unless ``args`` already has one (then pass ``port``).
    stdout and stderr go to files in ``workdir``. With ``wait_ready`` the call returns once
    /readyz is 200, i.e. after the first poll was published.
    """
    chosen = port or free_port()
    argv = list(args)
    if not any(arg.startswith("--web.listen-address") for arg in argv):
        argv += ["--web.listen-address", f"127.0.0.1:{chosen}"]
    workdir.mkdir(parents=True, exist_ok=True)
    stderr_path = _unused_path(workdir, "exporter-stderr", ".log")
    stdout_path = stderr_path.with_name(stderr_path.name.replace("stderr", "stdout"))
    with stderr_path.open("wb") as err, stdout_path.open("wb") as out:
        process = subprocess.Popen(
            [*EXPORTER_COMMAND, *argv],
            env=child_env(env),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    exporter = ExporterProcess(
        process=process,
        url=f"{scheme}://127.0.0.1:{chosen}",
        port=chosen,
        stderr_path=stderr_path,
        stdout_path=stdout_path,
        verify=verify,
    )
    if wait_ready:
        try:
            exporter.wait_ready(ready_timeout)
        except BaseException:
            exporter.process.kill()
            exporter.process.wait()
            raise
    return exporter


def _unused_path(directory: Path, stem: str, suffix: str) -> Path:
    candidate = directory / f"{stem}{suffix}"
    number = 1
    while candidate.exists():
        number += 1
        candidate = directory / f"{stem}-{number}{suffix}"
    return candidate
