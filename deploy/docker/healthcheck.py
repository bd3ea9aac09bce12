"""Container health check: exit 0 when the exporter's /healthz answers 200, else 1.

Images built from python:*-slim have no curl or wget, so Docker's HEALTHCHECK runs this
with the image's own Python. It reads the same ACRONIS_EXPORTER_WEB__* variables as the
exporter, so a changed listen address or TLS keeps the check pointed at the right place.
It only ever talks to the loopback interface and never needs a credential.
"""

# ruff: noqa: INP001 - a standalone script copied into the image, not part of a package

from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request

DEFAULT_PORT = "9862"
TIMEOUT_SECONDS = 4.0


def healthz_url(environ: dict[str, str]) -> str:
    """Build the loopback URL of /healthz for the listen address and TLS settings in ``environ``."""
    listen = environ.get("ACRONIS_EXPORTER_WEB__LISTEN_ADDRESS", f":{DEFAULT_PORT}")
    port = listen.rsplit(":", 1)[-1] or DEFAULT_PORT
    scheme = "https" if environ.get("ACRONIS_EXPORTER_WEB__TLS_CERT_FILE") else "http"
    return f"{scheme}://127.0.0.1:{port}/healthz"


def main() -> int:
    """Ask /healthz once and turn the answer into an exit code."""
    url = healthz_url(dict(os.environ))
    context = None
    if url.startswith("https"):
        # The certificate names the service, not 127.0.0.1; this probe checks liveness only.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS, context=context) as response:  # noqa: S310 - URL built above, scheme is http(s)
            return 0 if response.status == 200 else 1  # noqa: PLR2004 - HTTP OK
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
