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
never behind basic auth, so no credential is sent.
"""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from exporter.config import WebSettings

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
    connection: http.client.HTTPConnection
    if web.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # see the module docstring: a liveness probe of ourselves
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", HEALTH_PATH, headers={"User-Agent": f"{_COMMAND} --healthcheck"})
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        return False, f"{url} did not answer ({type(error).__name__}: {error})"
    finally:
        connection.close()
    return status == http.HTTPStatus.OK, f"{url} answered {status}"
