"""SIGTERM and SIGINT stop the exporter whatever it is doing: starting up, or checking passwords.

Real processes and real signals. A stop is anchored on the exporter's own log lines; the
bound on the exit after them catches a hang, it does not time the shutdown.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import bcrypt
import pytest

from tests.support.processes import start_exporter, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.support.processes import ExporterProcess

pytestmark = pytest.mark.slow

# Exit takes milliseconds once the stop is logged; one bcrypt check at cost 16 takes seconds
# of CPU, four of them at once more still. Generous for the one, short of the other.
_EXIT_AFTER_STOP_LOGGED = 3.0
_CHECKS_HELD = 12  # exporter.httpworkers.CHECKS_HELD: four running, eight waiting; one more is refused
_WRONG = base64.b64encode(b"alice:a-wrong-guess").decode()
_GUESS = f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {_WRONG}\r\n\r\n".encode()


def _cost_16_users(directory: Path) -> Path:
    """Write a web config whose one user has a cost-16 hash that no password matches."""
    unmatched = (bcrypt.gensalt(rounds=16) + b"." * 31).decode()  # every guess pays the full cost
    config = directory / "web.yml"
    config.write_text(f"basic_auth_users:\n  alice: '{unmatched}'\n", encoding="utf-8")
    return config


@contextlib.contextmanager
def _guesses(port: int, count: int) -> Iterator[list[socket.socket]]:
    """Send one wrong-password scrape on each of ``count`` connections, held open."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.create_connection(("127.0.0.1", port))) for _ in range(count)]
        for sock in sockets:
            sock.sendall(_GUESS)
        yield sockets


def _exits_after_stop(exporter: ExporterProcess) -> int:
    wait_until(
        lambda: exporter.events("exporter_stopped_by_signal") or None,  # an empty list is an answer too
        timeout=30.0,
        what=f"exporter_stopped_by_signal\n{exporter.stderr()[-4000:]}",
    )
    return exporter.wait_exit(timeout=_EXIT_AFTER_STOP_LOGGED)  # TimeoutExpired: exit waited for something


def test_sigterm_does_not_wait_for_running_password_checks(tmp_path: Path) -> None:
    """Four cost-16 checks running when SIGTERM comes: the process exits without them, exit 0."""
    args = ["--demo", "--web.config.file", str(_cost_16_users(tmp_path)), "--log.level", "debug"]
    with start_exporter(args, workdir=tmp_path) as exporter, _guesses(exporter.port, _CHECKS_HELD + 1):
        # One refused: every check thread has a check and eight more wait for one.
        wait_until(
            lambda: exporter.events("http_request_refused") or None,
            timeout=30.0,
            what="the checks queue full",
        )
        exporter.send_signal(signal.SIGTERM)
        assert _exits_after_stop(exporter) == 0
    assert "Traceback" not in exporter.stderr()
    assert exporter.events()[-1].name == "exporter_stopped_by_signal"  # no check wrote anything after


def _caught(pid: int) -> set[int]:
    """Return the signals ``pid`` has a handler for, from the kernel's view (/proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return {signum for signum in range(1, 65) if mask >> (signum - 1) & 1}


def _importing(exporter: ExporterProcess) -> bool | None:
    """Tell whether the exporter loads its settings' libraries (pydantic), else None while it starts."""
    if exporter.returncode is not None:
        raise AssertionError(f"exporter exited with {exporter.returncode}\n{exporter.stderr()}")
    with contextlib.suppress(OSError):
        return "pydantic_core" in Path(f"/proc/{exporter.process.pid}/maps").read_text() or None
    return None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_while_starting_is_a_clean_exit(tmp_path: Path, signum: signal.Signals) -> None:
    """A signal while the exporter imports and reads its settings (no handler of main() yet): exit 0."""
    with start_exporter(["--demo"], workdir=tmp_path, wait_ready=False) as exporter:
        pid = exporter.process.pid
        wait_until(lambda: _importing(exporter), timeout=60.0, what="the exporter importing pydantic")
        os.kill(pid, signal.SIGSTOP)  # held where it is: still starting, or this run cannot tell
        try:
            starting = signal.SIGHUP not in _caught(pid)  # main() installs SIGHUP's handler last
            exporter.send_signal(signum)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert exporter.wait_exit(timeout=60.0) == 0, exporter.stderr()
    if not starting:
        pytest.skip("the exporter was past its start when stopped: nothing shown")
    names = [event.name for event in exporter.events()]
    assert names[-1] == "exporter_stopped_by_signal", exporter.stderr()
    assert exporter.events("exporter_stopped_by_signal")[0].fields["signal"] == signum.name
    assert "exporter_started" not in names  # stopped before serving, not after
    assert "Traceback" not in exporter.stderr()
