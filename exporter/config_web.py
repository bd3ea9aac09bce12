"""The web section of the settings: where and how /metrics is served.

The listen address and path, TLS and basic auth given by flags, or the same given by an
exporter-toolkit web configuration file (``webconfig``), never both for one thing.
"""

from __future__ import annotations

import re
import ssl  # noqa: TC003 - pydantic resolves the annotations at runtime
from functools import partial
from pathlib import Path  # noqa: TC003 - pydantic resolves the annotations at runtime
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from exporter import tls, webconfig
from exporter.config_help import shown_as
from exporter.config_sections import _Section
from exporter.config_sources import invalid_setting
from exporter.config_values import check_secret_file, check_tls, read_secret
from exporter.errors import ConfigError

_LISTEN_ADDRESS = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]*):(?P<port>\d{1,5})$")
# No "%": the server routes the decoded path, so an escape here could never be matched.
_TELEMETRY_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$")
_RESERVED_PATHS = frozenset({"/", "/healthz", "/readyz"})  # the landing page and the probes


class WebSettings(_Section):
    """The /metrics endpoint."""

    listen_address: str = Field(":9862", json_schema_extra=shown_as("[HOST]:PORT"))
    """host:port or :port to serve /metrics on."""
    tls_cert_file: Path | None = None
    """Serve HTTPS with this certificate (PEM); needs --web.tls-key-file."""
    tls_key_file: Path | None = None
    """Private key for --web.tls-cert-file."""
    basic_auth_username: str | None = Field(None, json_schema_extra=shown_as("USER"))
    """Require HTTP basic auth with this user."""
    basic_auth_password: SecretStr | None = None
    """Password for --web.basic-auth-username."""
    basic_auth_password_file: Path | None = None
    """File holding the basic-auth password."""
    max_connections: int = Field(64, ge=2, le=4096)
    """Connections served at once; past it one gives way for the newcomer (README: Reliability)."""
    config_file: Path | None = None
    """exporter-toolkit web configuration file (tls_server_config, basic_auth_users, http_server_config)."""
    telemetry_path: str = Field("/metrics", json_schema_extra=shown_as("PATH"))
    """Path under which to serve the metrics."""

    @field_validator("telemetry_path")
    @classmethod
    def _is_a_free_path(cls, value: str) -> str:
        if "%" in value:
            raise PydanticCustomError("telemetry_path", "give the path unescaped, without %")
        if not _TELEMETRY_PATH.match(value):
            raise PydanticCustomError("telemetry_path", "expected an absolute path such as /metrics")
        if value in _RESERVED_PATHS:
            raise PydanticCustomError("telemetry_path", "{path} is the exporter's own", {"path": value})
        return value

    @property
    def scheme(self) -> Literal["http", "https"]:
        """Https when a certificate is set, by flag or by the web configuration file."""
        config = self.web_config()
        has_tls = self.tls_cert_file is not None or (
            config is not None and config.tls_server_config is not None
        )
        return "https" if has_tls else "http"

    def web_config(self) -> webconfig.WebConfig | None:
        """Return the --web.config.file's content, or None without one (ConfigError if it broke since)."""
        return None if self.config_file is None else webconfig.load(self.config_file)

    def tls_context(self) -> ssl.SSLContext | None:
        """Return the listener's TLS context from the flags or the web configuration file; None: HTTP."""
        if self.tls_cert_file is not None and self.tls_key_file is not None:
            return tls.server_context(self.tls_cert_file, self.tls_key_file)
        config = self.web_config()
        return None if config is None else config.tls_context()

    @field_validator("listen_address")
    @classmethod
    def _is_host_port(cls, value: str) -> str:
        match = _LISTEN_ADDRESS.match(value)
        if match is None or int(match["port"]) > 65535:  # noqa: PLR2004 - the largest TCP port
            raise PydanticCustomError("listen_address", "expected host:port or :port, e.g. :9862")
        return value

    def host_port(self) -> tuple[str, int]:
        """Return the address to bind; host "" means every interface."""
        host, _, port = self.listen_address.rpartition(":")
        return host.strip("[]"), int(port)

    def resolved_basic_auth_password(self) -> SecretStr | None:
        """Return the basic-auth password, read from the file when one is set."""
        return read_secret(
            self.basic_auth_password, self.basic_auth_password_file, "web.basic_auth_password_file"
        )

    @model_validator(mode="after")
    def _pairs_are_complete(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise invalid_setting(
                "web.tls_cert_file", "set both web.tls_cert_file and web.tls_key_file, or neither"
            )
        has_password = self.basic_auth_password is not None or self.basic_auth_password_file is not None
        if (self.basic_auth_username is not None) == has_password:
            return self
        raise invalid_setting(
            "web.basic_auth_username", "set both the basic-auth user and password, or neither"
        )

    @model_validator(mode="after")
    def _files_are_usable(self) -> Self:
        check_secret_file(self.basic_auth_password_file, "web.basic_auth_password_file")
        if self.tls_cert_file is not None and self.tls_key_file is not None:
            check_tls(partial(tls.server_context, self.tls_cert_file, self.tls_key_file))
        self._web_config_fits_the_flags()
        return self

    def _web_config_fits_the_flags(self) -> None:
        """Check that the web configuration file loads and says nothing the flags say too."""
        try:
            config = self.web_config()
        except ConfigError as error:
            raise invalid_setting("web.config_file", str(error).removeprefix("web.config_file: ")) from None
        if config is None:
            return
        if config.tls_server_config is not None and self.tls_cert_file is not None:
            raise invalid_setting(
                "web.config_file", "tls_server_config and --web.tls-cert-file both set TLS; keep one"
            )
        if config.basic_auth_users and self.basic_auth_username is not None:
            raise invalid_setting(
                "web.config_file",
                "basic_auth_users and --web.basic-auth-username both set basic auth; keep one",
            )
