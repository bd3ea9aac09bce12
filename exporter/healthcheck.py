"""``--healthcheck``: ask the running exporter's own /healthz and turn the answer into 0 or 1.

Made for container health checks (the image's ``HEALTHCHECK``), where no curl exists and
the check must follow the exporter's settings: it loads them exactly as the exporter does
(flags, environment, YAML file) and derives scheme, address and port from them. In a
container the exporter is PID 1 and the check is a second process started without the
container's arguments, so the flags PID 1 was started with are read from /proc/1/cmdline
and come first; the check's own flags follow and win.

The probe goes to the listen address's own host, or loopback when it listens on every
interface. It does not verify the certificate: the certificate names the service, not
127.0.0.1, and the probe only asks whether this host's exporter is alive. /healthz is
never behind basic auth, so no credential is sent. When the web configuration file
requires client certificates (``RequireAndVerifyClientCert``), the probe presents the
exporter's own certificate and key, the one certificate it has: ``client_ca_file`` must
trust it, and when it does not the check says so.
"""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from exporter.config import WebSettings
    from exporter.webconfig import TlsServerConfig

TIMEOUT_SECONDS: Final = 4.0  # under Docker's default 30 s, and under the image's --timeout=5s
HEALTH_PATH: Final = "/healthz"
_PID1_CMDLINE: Final = Path("/proc/1/cmdline")
_COMMAND: Final = "acronis-task-exporter"
_WILDCARDS: Final = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - mapping, not binding


def entrypoint_args(cmdline: Path = _PID1_CMDLINE) -> list[str]:
    """Return the flags PID 1 got when PID 1 is this exporter (a container), else none.

    The exporter may be PID 1 itself (``acronis-task-exporter ...``, ``python -m exporter
    ...``) or run under an init such as tini; anything else at PID 1 (systemd on a host)
    contributes nothing.
    """
    try:
        parts = [part.decode("utf-8", "replace") for part in cmdline.read_bytes().split(b"\0")]
    except OSError:
        return []
    for index, part in enumerate(parts):
        if Path(part).name == _COMMAND:
            return _flags(parts[index + 1 :])
        if part == "-m" and parts[index + 1 : index + 2] == ["exporter"]:
            return _flags(parts[index + 2 :])
    return []


def _flags(args: list[str]) -> list[str]:
    # The trailing NUL leaves one empty string; a one-shot mode of PID 1 is not ours to repeat.
    return [arg for arg in args if arg and arg not in {"--healthcheck", "--check-config", "--once"}]


def healthz_url(web: WebSettings) -> str:
    """Where this exporter's /healthz answers, from its listen address and TLS settings."""
    host, port = web.host_port()
    host = _WILDCARDS.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    return f"{web.scheme}://{shown}:{port}{HEALTH_PATH}"


def probe(web: WebSettings, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    """Ask /healthz once; return whether it answered 200, and what happened, in a few words."""
    url = healthz_url(web)
    host, port = web.host_port()
    host = _WILDCARDS.get(host, host)
    presented = _client_certificate(web) if web.scheme == "https" else None
    try:
        connection = _connection(web, host, port, timeout, presented)
    except (OSError, ssl.SSLError) as error:  # loading the client certificate: nothing else can fail
        return False, f"cannot present tls_server_config's cert_file and key_file to {url} ({error})"
    try:
        connection.request("GET", HEALTH_PATH, headers={"User-Agent": f"{_COMMAND} --healthcheck"})
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        return False, f"{url} did not answer ({type(error).__name__}: {error}){_refused(presented, error)}"
    finally:
        connection.close()
    return status == http.HTTPStatus.OK, f"{url} answered {status}"


def _connection(
    web: WebSettings, host: str, port: int, timeout: float, presented: TlsServerConfig | None
) -> http.client.HTTPConnection:
    if web.scheme == "http":
        return http.client.HTTPConnection(host, port, timeout=timeout)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # see the module docstring: a liveness probe of ourselves
    if presented is not None:  # an empty pass-phrase: an encrypted key fails here, never prompts
        context.load_cert_chain(presented.cert_file, presented.key_file, password="")
    return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)


def _client_certificate(web: WebSettings) -> TlsServerConfig | None:
    """Return the TLS settings whose certificate the probe presents: those requiring one of clients."""
    config = web.web_config()  # TLS by flag asks for no client certificate, and excludes this file's
    tls = None if config is None else config.tls_server_config
    return tls if tls is not None and tls.client_auth_type == "RequireAndVerifyClientCert" else None


def _refused(presented: TlsServerConfig | None, error: Exception) -> str:
    """Say why a refused handshake is likely: client_ca_file does not trust the certificate presented."""
    # The refusal arrives as a TLS alert, or (TLS 1.3) as the connection closed after the handshake.
    if presented is None or not isinstance(error, (ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        return ""
    return (
        f"; client certificates are required, and the probe presented the exporter's own "
        f"{presented.cert_file}: client_ca_file {presented.client_ca_file} must trust it"
    )
