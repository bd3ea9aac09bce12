"""The command line as operators run it: real subprocesses against the simulator."""

from __future__ import annotations

import signal
import socket
from typing import TYPE_CHECKING

import pytest
from prometheus_client.parser import text_string_to_metric_families

from simulator.config import DEMO_CLIENT_SECRET
from tests.support.processes import run_exporter, start_exporter

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from simulator import RunningSimulator

pytestmark = pytest.mark.slow  # each test starts the exporter as a subprocess

PROG = "acronis-task-exporter"
# A secret value the bad-settings tests hand over; it must never be echoed back.
CANARY = "canary-Secret-7f3a9c"
# No waiting between retries: a failing source should fail fast in these tests.
FAST_RETRIES = ["--api.max-retries", "0", "--api.backoff-initial", "0", "--api.backoff-max", "0"]


def api_args(sim: RunningSimulator) -> list[str]:
    """Return flags pointing the exporter at a simulator (the secret goes through the environment)."""
    return ["--api.url", sim.url, "--api.client-id", sim.config.client_id, *FAST_RETRIES]


def api_env(secret: str = DEMO_CLIENT_SECRET) -> dict[str, str]:
    """Return the client secret as operators should pass it: in the environment, not in argv."""
    return {"ACRONIS_EXPORTER_API__CLIENT_SECRET": secret}


@pytest.fixture
def live_api(simulator_factory: Callable[..., RunningSimulator]) -> RunningSimulator:
    """Start a simulator on the wall clock, so the subprocess's token expiry maths holds."""
    return simulator_factory(wall_clock=True)


def samples_of(text: str) -> dict[str, list[dict[str, str]]]:
    """Map family name to the label sets of its samples, parsed with the real parser."""
    return {
        family.name: [sample.labels for sample in family.samples]
        for family in text_string_to_metric_families(text)
    }


class TestOnce:
    """--once polls one time, prints the exposition and reports failure in its exit code."""

    def test_once_prints_tenant_labelled_series_and_exits_0(self, live_api: RunningSimulator) -> None:
        """A healthy API gives exit 0 and an exposition with per-tenant open tasks and tenant names."""
        result = run_exporter(["--once", *api_args(live_api)], env=api_env())
        assert result.returncode == 0, result.stderr[-3000:]
        families = samples_of(result.stdout)
        tenants = {labels["tenant_id"] for labels in families["acronis_open_tasks"]}
        known = {tenant.id for tenant in live_api.truth.tenants()}
        assert tenants
        assert tenants <= known | {"__other__"}
        assert len(families["acronis_tenant_info"]) >= 1
        assert families["acronis_up"] == [{}]

    def test_once_exits_1_when_a_source_fails(self, live_api: RunningSimulator) -> None:
        """With /activities answering 500, --once still prints everything but exits 1."""
        live_api.faults.fail(500, times=None, path_prefix="/api/task_manager/v2/activities")
        result = run_exporter(["--once", *api_args(live_api)], env=api_env())
        assert result.returncode == 1, result.stderr[-3000:]
        values = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(result.stdout)
            for sample in family.samples
        }
        assert values[("acronis_up", ())] == 0
        assert values[("acronis_exporter_source_up", (("source", "activity_counts"),))] == 0
        assert values[("acronis_exporter_source_up", (("source", "task_counts"),))] == 1


class TestCheckConfig:
    """--check-config proves the settings and credentials work, in one line."""

    def test_good_credentials_pass_with_one_line(self, live_api: RunningSimulator) -> None:
        """A token is minted and tasks counted: exit 0 and one line on stdout."""
        result = run_exporter(["--check-config", *api_args(live_api)], env=api_env())
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.count("\n") == 1
        assert result.stdout.startswith(f"{PROG}: configuration ok")

    def test_wrong_secret_fails_with_one_line_and_no_secret(self, live_api: RunningSimulator) -> None:
        """A refused secret gives exit 1 and one error line that does not repeat the secret."""
        result = run_exporter(["--check-config", *api_args(live_api)], env=api_env(CANARY))
        assert result.returncode == 1
        assert result.stdout == ""
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"{PROG}: error:")
        assert CANARY not in result.stderr


class TestBadSettings:
    """Unusable settings stop the exporter at once with exit 2 and one readable line."""

    @pytest.mark.parametrize(
        ("args", "expected"),
        [
            pytest.param(["--api.client-id", "x"], "api.url", id="missing-url"),
            pytest.param(["--api.url", "not a url", "--api.client-id", "x"], "api.url", id="malformed-url"),
            pytest.param(["--api.url", "https://dc.example"], "api.client_id", id="missing-client-id"),
            pytest.param(["--poll.interval", "-5", "--demo"], "poll.interval", id="negative-interval"),
            pytest.param(["--bogus-flag", "--demo"], "--bogus-flag", id="unknown-flag"),
        ],
    )
    def test_bad_settings_exit_2_with_one_readable_line(self, args: list[str], expected: str) -> None:
        """The last stderr line names the problem, and the secret from the environment is never shown."""
        result = run_exporter(args, env=api_env(CANARY))
        assert result.returncode == 2, result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"{PROG}: error:")
        assert expected in last
        assert CANARY not in result.stderr + result.stdout

    def test_missing_secret_exits_2(self) -> None:
        """Client id without any secret is refused before anything starts."""
        result = run_exporter(["--api.url", "https://dc.example", "--api.client-id", "x"])
        assert result.returncode == 2
        assert "api.client_secret" in result.stderr.strip().splitlines()[-1]

    def test_unreadable_secret_file_exits_2_naming_the_file(self, tmp_path: Path) -> None:
        """A secret file that cannot be read is named in the error, its content never shown."""
        missing = tmp_path / "no-such-secret"
        args = [
            "--api.url",
            "https://dc.example",
            "--api.client-id",
            "x",
            "--api.client-secret-file",
            str(missing),
        ]
        result = run_exporter(args)
        assert result.returncode == 2
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"{PROG}: error:")
        assert str(missing) in last


class TestSignals:
    """SIGTERM and SIGINT stop a serving exporter cleanly."""

    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
    def test_signal_stops_the_exporter_with_exit_0(
        self, signum: signal.Signals, live_api: RunningSimulator, tmp_path: Path
    ) -> None:
        """After the first poll, the signal makes the process exit 0 and log that it stopped."""
        exporter = start_exporter(api_args(live_api), env=api_env(), workdir=tmp_path)
        assert exporter.stop(signum, timeout=60) == 0, exporter.stderr()[-3000:]
        assert "exporter_stopped" in exporter.stderr()


class TestDemo:
    """--demo serves tenant-labelled metrics from the embedded simulator, without credentials."""

    def test_demo_serves_tenant_labelled_open_tasks_and_tenant_info(self, tmp_path: Path) -> None:
        """Once ready, /metrics has acronis_open_tasks with tenant_id and acronis_tenant_info."""
        with start_exporter(["--demo"], workdir=tmp_path) as exporter:
            families = samples_of(exporter.get("/metrics").text)
            announcement = exporter.stderr()
        assert any(labels.get("tenant_id") for labels in families["acronis_open_tasks"])
        assert families["acronis_tenant_info"]
        assert f"metrics at http://127.0.0.1:{exporter.port}/metrics" in announcement


class TestListenFailure:
    """A listen address that cannot be bound is a runtime failure, reported in one line."""

    def test_taken_port_exits_1_naming_the_address(self) -> None:
        """With the port held by another socket, the exporter exits 1 and names the address."""
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            address = f"127.0.0.1:{holder.getsockname()[1]}"
            args = [
                "--api.url",
                "https://dc.example",
                "--api.client-id",
                "x",
                "--web.listen-address",
                address,
            ]
            result = run_exporter(args, env=api_env())
        assert result.returncode == 1
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"{PROG}: error: cannot listen on {address}")
