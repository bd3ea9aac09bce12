"""The acronis-tm-simulator console script, run as a real process."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import httpx
import pytest

# `python -m simulator` runs the same main() as the console script, and needs no installed
# entry point (a shared development venv may hold one from an older layout).
SIMULATOR = (sys.executable, "-m", "simulator")


@pytest.mark.slow  # starts the simulator's console script as a subprocess
class TestConsoleScript:
    """Start, query, stop."""

    @pytest.mark.parametrize("log_level", ["info", "debug"])
    def test_serves_until_sigterm(self, log_level: str) -> None:
        """The script prints its URL, serves the API with the demo credentials, and exits 0 on SIGTERM.

        Requests are logged, at debug level, only when --log-level debug asks for them.
        """
        command = [*SIMULATOR, "--port", "0", "--tasks", "200", "--open-tasks", "20", "--tenants", "5"]
        command += ["--log-level", log_level]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            assert process.stdout is not None
            line = process.stdout.readline()
            match = re.match(
                r"simulator listening on (http://[\d.]+:\d+) \(client id demo-client, secret demo-secret\)",
                line,
            )
            assert match, line
            url = match.group(1)
            token = httpx.post(
                f"{url}/api/2/idp/token",
                data={"grant_type": "client_credentials"},
                auth=("demo-client", "demo-secret"),
            ).json()["access_token"]
            count = httpx.get(
                f"{url}/api/task_manager/v2/tasks",
                params={"lod": "count"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0
        assert count["count"] > 150
        lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        assert "simulator_started" in [line["event"] for line in lines]
        served = [line["level"] for line in lines if line["event"] == "request_served"]
        assert served == (["debug", "debug"] if log_level == "debug" else [])

    def test_help_shows_every_default(self) -> None:
        """--help states the default of each flag that has one."""
        command = [*SIMULATOR, "--help"]
        result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
        text = " ".join(result.stdout.split())
        shown = ("(default: 127.0.0.1)", "(default: demo-client)", "(default: info)", "(default: paging)")
        for default in shown:
            assert default in text, default
        tasks_default = re.search(r"--tasks TASKS .*?\(default: (\d+)\)", text)
        assert tasks_default, text

    def test_module_entry_point_rejects_bad_flags(self) -> None:
        """Running `python -m simulator` exits 2 on an invalid setting."""
        result = subprocess.run(
            [sys.executable, "-m", "simulator", "--open-tasks", "10", "--tasks", "5"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2
        assert "open_tasks" in result.stderr
