"""The acronis-tm-simulator console script, run as a real process."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

SCRIPT = Path(sys.executable).parent / "acronis-tm-simulator"


@pytest.mark.slow  # starts the simulator's console script as a subprocess
class TestConsoleScript:
    """Start, query, stop."""

    def test_serves_until_sigterm(self) -> None:
        """The script prints its URL, serves the API with the demo credentials, and exits 0 on SIGTERM."""
        command = [str(SCRIPT), "--port", "0", "--tasks", "200", "--open-tasks", "20", "--tenants", "5"]
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
        events = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
        assert "simulator_started" in events
        assert "request_served" in events

    def test_module_entry_point_rejects_bad_flags(self) -> None:
        """Running `python -m simulator` exits 2 on an invalid setting."""
        result = subprocess.run(
            [sys.executable, "-m", "simulator", "--open-tasks", "10", "--tasks", "5"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2
        assert "open_tasks" in result.stderr
