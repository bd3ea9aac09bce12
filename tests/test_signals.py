"""SIGHUP and SIGUSR1, delivered as real signals to the exporter process: logged, never fatal."""

from __future__ import annotations

import signal
from functools import partial
from typing import TYPE_CHECKING

import pytest

from tests.support.hostile_api import CLIENT_ID, CLIENT_SECRET, HostileApi
from tests.support.processes import start_exporter, wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.processes import ExporterProcess, LogEvent

pytestmark = pytest.mark.slow


def _logged(exporter: ExporterProcess, name: str, count: int) -> list[LogEvent] | None:
    events = exporter.events(name)
    return events if len(events) >= count else None


def test_sighup_and_sigusr1_are_logged_and_the_exporter_keeps_serving(tmp_path: Path) -> None:
    """SIGHUP says reload is not supported; SIGUSR1 dumps each source's state; SIGTERM still stops."""
    with HostileApi() as api:
        args = ["--api.url", api.url, "--api.client-id", CLIENT_ID, "--poll.interval", "1"]
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": CLIENT_SECRET}
        with start_exporter(args, workdir=tmp_path, env=env) as exporter:
            for count in (1, 2):  # a second one too: the handler stays installed
                exporter.send_signal(signal.SIGHUP)
                wait_until(
                    partial(_logged, exporter, "reload_not_supported", count), timeout=10.0, what="SIGHUP"
                )
            assert exporter.returncode is None
            assert exporter.get("/metrics").status_code == 200
            exporter.send_signal(signal.SIGUSR1)
            dumped = wait_until(lambda: _logged(exporter, "state_dump", 1), timeout=10.0, what="SIGUSR1")
            state = dumped[0].fields
            assert state["ready"] is True
            assert state["healthy"] is True
            sources = state["sources"]
            assert isinstance(sources, dict)
            assert sources["open_tasks"]["ok"] is True
            assert "restart" in str(exporter.events("reload_not_supported")[0].fields["note"])
            assert exporter.get("/readyz").status_code == 200
            exporter.send_signal(signal.SIGTERM)
            assert exporter.wait_exit(timeout=20.0) == 0
        assert "Traceback" not in exporter.stderr()
        assert [event.name for event in exporter.events()][-1] == "exporter_stopped_by_signal"
