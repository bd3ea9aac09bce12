"""``--web.config.file``: the web configuration file every official Prometheus exporter reads.

The format is exporter-toolkit's (docs/web-configuration.md in prometheus/exporter-toolkit):
``tls_server_config`` (certificate, key, client CA, client auth type, TLS versions),
``http_server_config.headers`` (the five security headers it allows) and
``basic_auth_users`` (user: bcrypt hash). A key the format does not have, or one this
exporter cannot honour (inline PEM, Go cipher-suite and curve names, client SAN
matching, rate limits, client auth types that accept unverified certificates), is an
error at start rather than a setting silently ignored. Relative paths are taken from the
file's directory, as exporter-toolkit does. The file is read once at start.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path  # noqa: TC003 - pydantic resolves the annotations at runtime
from typing import Annotated, Final, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from exporter import tls, yamlfile
from exporter.errors import ConfigError

SETTING: Final = "web.config_file"
ALLOWED_HEADERS: Final = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Strict-Transport-Security",
)
# Matched whole (no trailing newline). Only the prefixes bcrypt checks: "$2$" looked like a
# hash, and bcrypt.checkpw then raised on every login, so no one could ever log in.
_BCRYPT = re.compile(r"\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}")
# bcrypt refuses a cost below 4; each step doubles the work, paid by every wrong guess on a
# scrape thread and once at start (the unknown user's stand-in): 16 is about 5 s a check.
_COST_MIN: Final = 4
_COST_MAX: Final = 16
# RFC 9110's field-value without obs-text: visible ASCII, spaces and tabs. CR or LF would split
# the response, and a character beyond Latin-1 cannot be sent at all: every reply failed.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")
_VERSIONS: Final = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
# Python's ssl cannot ask for a client certificate without verifying it, so the two Go
# policies that accept unverified certificates (insecure, says exporter-toolkit) are refused.
_CLIENT_AUTH: Final = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNSUPPORTED: Final = {
    "tls_server_config": (
        "cert",
        "key",
        "client_ca",
        "client_allowed_sans",
        "cipher_suites",
        "curve_preferences",
    ),
    "": ("rate_limit",),
}


def _one_line(value: str) -> str:
    if not _FIELD_VALUE.fullmatch(value):
        raise ValueError("a header value must be printable ASCII (no CR, LF or other control characters)")
    return value


HeaderValue = Annotated[str, AfterValidator(_one_line)]
BcryptHash = Annotated[str, StringConstraints(pattern=f"^{_BCRYPT.pattern}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TlsServerConfig(_Strict):
    """tls_server_config: the server's certificate, and whom it asks for one."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    client_auth_type: Literal["NoClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"] = (
        "NoClientCert"
    )
    min_version: Literal["TLS12", "TLS13"] = "TLS12"
    max_version: Literal["TLS12", "TLS13"] = "TLS13"
    prefer_server_cipher_suites: bool = True  # accepted as Go exporters do; OpenSSL picks by its own order

    @field_validator("cert_file", "key_file", "client_ca_file", mode="before")
    @classmethod
    def _path_is_given(cls, value: object) -> object:
        """Refuse an empty path: Path("") is ".", the directory, and read as such."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("must name a file, not be empty")
        return value

    @model_validator(mode="after")
    def _client_auth_is_whole(self) -> Self:
        verifies = self.client_auth_type != "NoClientCert"
        if verifies and self.client_ca_file is None:
            raise ValueError(f"client_auth_type {self.client_auth_type} needs client_ca_file")
        if not verifies and self.client_ca_file is not None:
            raise ValueError("client_ca_file is set but client_auth_type is NoClientCert")
        if _VERSIONS[self.min_version] > _VERSIONS[self.max_version]:
            raise ValueError("min_version is newer than max_version")
        return self

    def context(self) -> ssl.SSLContext:
        """Build the server context; a file that does not load raises ConfigError naming it."""
        context = tls.server_context(self.cert_file, self.key_file, section="tls_server_config")
        context.minimum_version = _VERSIONS[self.min_version]
        context.maximum_version = _VERSIONS[self.max_version]
        if self.client_ca_file is not None:  # through the same guards: a FIFO blocked the start
            tls.load_certificates(context, self.client_ca_file, "tls_server_config.client_ca_file")
        context.verify_mode = _CLIENT_AUTH[self.client_auth_type]
        return context


class HttpServerConfig(_Strict):
    """http_server_config: headers added to every response."""

    http2: bool = True  # accepted as Go exporters do; this server speaks HTTP/1.1
    headers: dict[Literal[ALLOWED_HEADERS], HeaderValue] = {}  # type: ignore[valid-type]


class WebConfig(_Strict):
    """The whole file."""

    tls_server_config: TlsServerConfig | None = None
    http_server_config: HttpServerConfig = HttpServerConfig()
    basic_auth_users: dict[str, SecretStr] = {}

    @model_validator(mode="after")
    def _hashes_are_bcrypt(self) -> Self:
        for user, hashed in self.basic_auth_users.items():
            match = _BCRYPT.fullmatch(hashed.get_secret_value())
            if match is None:
                raise ValueError(
                    f"basic_auth_users.{user}: not a bcrypt hash (htpasswd -nBC 10 '' | tr -d ':\\n')"
                )
            if not _COST_MIN <= int(match.group(1)) <= _COST_MAX:
                raise ValueError(f"basic_auth_users.{user}: bcrypt cost must be {_COST_MIN} to {_COST_MAX}")
        return self

    def response_headers(self) -> list[tuple[str, str]]:
        """Return the configured headers; a blank value leaves the header unset, as in exporter-toolkit."""
        return [(name, value) for name, value in self.http_server_config.headers.items() if value.strip()]

    def tls_context(self) -> ssl.SSLContext | None:
        """Return the server's TLS context, or None when the file asks for none."""
        return None if self.tls_server_config is None else self.tls_server_config.context()


def load(path: Path) -> WebConfig:
    """Read and check the file; raise ConfigError with one line naming the problem, never a value."""
    data = yamlfile.read_mapping(path, SETTING, expected="(tls_server_config, basic_auth_users, ...)")
    _refuse_unsupported(data)
    try:
        config = WebConfig.model_validate(_resolve_paths(data, path.parent))
    except ValidationError as error:
        raise ConfigError(f"{SETTING}: {path}: {_first_problem(error)}") from None
    try:
        config.tls_context()  # load the certificate and key now: a bad one stops the start
    except tls.TlsFileError as error:
        raise ConfigError(f"{SETTING}: {path}: {error}") from None
    return config


def _refuse_unsupported(data: dict[str, object]) -> None:
    for section, keys in _UNSUPPORTED.items():
        holder = data.get(section) if section else data
        if not isinstance(holder, dict):
            continue
        for key in keys:
            if key in holder:
                where = f"{section}.{key}" if section else key
                raise ConfigError(f"{SETTING}: {where} is not supported by this exporter")


def _resolve_paths(data: dict[str, object], base: Path) -> dict[str, object]:
    section = data.get("tls_server_config")
    if not isinstance(section, dict):
        return data
    resolved = dict(section)
    for key in ("cert_file", "key_file", "client_ca_file"):
        value = resolved.get(key)
        if isinstance(value, str) and value:
            resolved[key] = str(base / value)  # an absolute value stays what it is
    return {**data, "tls_server_config": resolved}


def _first_problem(error: ValidationError) -> str:
    problems = error.errors(include_input=False, include_url=False)
    # An unknown key first: it is usually the cause of the rest (a misspelt key_file reads as missing).
    problem = next((p for p in problems if p["type"] == "extra_forbidden"), problems[0])
    where = ".".join(str(part) for part in problem["loc"] if not isinstance(part, int))
    if problem["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    message = problem["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
