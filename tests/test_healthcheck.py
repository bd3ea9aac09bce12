"""--healthcheck, the image's HEALTHCHECK: it finds the running exporter from the same settings.

The exporter runs as a real process; the check runs as Docker runs it, a second process
that gets the settings from the environment, the config file, or (in a container) the
flags PID 1 was started with.
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
from pathlib import Path

import pytest

from exporter import PRODUCT
from tests.support.certs import self_signed
from tests.support.lifetime import answers_ok
from tests.support.processes import (
    EXPORTER_COMMAND,
    child_env,
    free_port,
    run_exporter,
    start_exporter,
    wait_until,
)

pytestmark = pytest.mark.slow  # every test runs the exporter and the check as subprocesses


def check(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``acronis-task-exporter --healthcheck`` with ``args`` as a fresh process."""
    return run_exporter(["--healthcheck", *args], env=env, timeout=60)


def test_port_from_the_config_file(tmp_path: Path) -> None:
    """A listen address set in the YAML file: healthy while it runs, unhealthy (exit 1) once stopped."""
    port = free_port()
    config = tmp_path / "exporter.yaml"
    config.write_text(f"demo: true\nweb:\n  listen_address: '127.0.0.1:{port}'\n", encoding="utf-8")
    with start_exporter(["--config.file", str(config)], workdir=tmp_path, port=port) as exporter:
        result = check(["--config.file", str(config)])
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"{PRODUCT}: healthy: http://127.0.0.1:{port}/healthz answered 200\n"
        assert result.stderr == ""
        exporter.stop()
    result = check(["--config.file", str(config)])
    assert result.returncode == 1
    assert result.stderr.startswith(f"{PRODUCT}: unhealthy: http://127.0.0.1:{port}/healthz did not answer")


def test_port_from_the_environment_over_tls_from_the_web_config(tmp_path: Path) -> None:
    """The listen address from the environment, HTTPS from --web.config.file: the check speaks TLS."""
    port = free_port()
    self_signed(tmp_path)
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: server-cert.pem\n  key_file: server-key.pem\n")
    env = {"ACRONIS_EXPORTER_WEB__LISTEN_ADDRESS": f"127.0.0.1:{port}", "ACRONIS_EXPORTER_DEMO": "true"}
    args = ["--web.config.file", str(web)]
    verify = ssl.create_default_context(cafile=tmp_path / "server-cert.pem")
    with start_exporter(args, workdir=tmp_path, env=env, port=port, scheme="https", verify=verify):
        result = check(args, env=env)
        assert result.returncode == 0, result.stderr
        assert f"https://127.0.0.1:{port}/healthz answered 200" in result.stdout
        assert check([], env=env).returncode == 1  # without the TLS setting it asks in plain HTTP: refused


def _mutual_tls(directory: Path, client_ca: str) -> tuple[list[str], ssl.SSLContext]:
    """Write a web config requiring client certificates issued by ``client_ca``; return flags and a client."""
    self_signed(directory)
    self_signed(directory, "other")
    web = directory / "web.yml"
    web.write_text(
        "tls_server_config:\n  cert_file: server-cert.pem\n  key_file: server-key.pem\n"
        f"  client_ca_file: {client_ca}-cert.pem\n  client_auth_type: RequireAndVerifyClientCert\n"
    )
    client = ssl.create_default_context(cafile=directory / "server-cert.pem")
    client.load_cert_chain(directory / f"{client_ca}-cert.pem", directory / f"{client_ca}-key.pem")
    return ["--demo", "--web.config.file", str(web)], client


def test_under_mutual_tls_the_check_presents_the_exporters_own_certificate(tmp_path: Path) -> None:
    """Client certificates required, the server's own trusted by client_ca_file: healthy."""
    port = free_port()
    args, client = _mutual_tls(tmp_path, client_ca="server")
    with start_exporter(args, workdir=tmp_path, port=port, scheme="https", verify=client):
        result = check([*args, "--web.listen-address", f"127.0.0.1:{port}"])
        assert result.returncode == 0, result.stderr
        assert f"https://127.0.0.1:{port}/healthz answered 200" in result.stdout


def test_under_mutual_tls_an_untrusted_own_certificate_is_named(tmp_path: Path) -> None:
    """client_ca_file does not trust the exporter's certificate: unhealthy, and one line says why."""
    port = free_port()
    args, client = _mutual_tls(tmp_path, client_ca="other")
    with start_exporter(args, workdir=tmp_path, port=port, scheme="https", verify=client):
        result = check([*args, "--web.listen-address", f"127.0.0.1:{port}"])
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1, result.stderr
        assert f"client_ca_file {tmp_path / 'other-cert.pem'} must trust it" in result.stderr


def test_settings_that_cannot_work_are_exit_2() -> None:
    """A broken setting is reported like the exporter's own: one line, exit 2."""
    result = check(["--web.listen-address", "nowhere"])
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1


@pytest.fixture
def namespaces() -> None:
    """Skip unless unprivileged user and PID namespaces work here (unshare, nsenter)."""
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        pytest.skip("unshare/nsenter missing")
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc", "true"],
        capture_output=True,
        check=False,
        timeout=30,
    )
    if probe.returncode != 0:
        pytest.skip(f"no unprivileged namespaces: {probe.stderr.decode(errors='replace')}")


def child_of(pid: int) -> int | None:
    """Return the first child of ``pid``, once it has one."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else None


@pytest.mark.usefixtures("namespaces")
def test_in_a_container_the_flags_of_pid_1_are_seen(tmp_path: Path) -> None:
    """The exporter as PID 1 started with flags only; the bare check (as in the Dockerfile) finds it."""
    port = free_port()
    flags = ["--demo", "--web.listen-address", f"127.0.0.1:{port}"]
    unshare = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc", "--kill-child"]
    log_path = tmp_path / "pid1.log"
    log = log_path.open("wb")
    ready = f"http://127.0.0.1:{port}/readyz"
    container = subprocess.Popen([*unshare, *EXPORTER_COMMAND, *flags], env=child_env(), stderr=log)
    try:
        pid1 = wait_until(lambda: child_of(container.pid), timeout=30, what="the exporter as PID 1")
        wait_until(lambda: answers_ok(ready, timeout=5), timeout=60, what=f"{ready}\n{log_path.read_text()}")
        enter = ["nsenter", "--target", str(pid1), "--user", "--pid", "--mount", "--preserve-credentials"]
        inside = subprocess.run(
            [*enter, *EXPORTER_COMMAND, "--healthcheck"],
            env=child_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert inside.returncode == 0, inside.stderr
        assert f"http://127.0.0.1:{port}/healthz answered 200" in inside.stdout
    finally:
        exporter = child_of(container.pid) if container.poll() is None else None
        if exporter is not None:  # unshare forwards no signal: stop the exporter itself
            os.kill(exporter, signal.SIGTERM)
        try:
            container.wait(timeout=30)
        finally:
            container.kill()  # --kill-child takes the exporter along if it hung
            container.wait()
            log.close()
