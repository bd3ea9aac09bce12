"""The sections of the settings: api, poll, metrics, web and log, each a frozen model.

Each field's docstring is its --help text. Numbers take the shared bounded types of
``config_values`` (finite, and at most a day or a million). Validators check what one
section can check alone (pairs that go together, secret and TLS files that must load,
regular expressions); whether the whole is usable (a URL and credentials unless --demo) is
``Settings``'s to say.
Secret values are ``SecretStr``; a secret given as a file is re-read on every use, so that
a rotated Kubernetes secret is picked up.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path  # noqa: TC003 - pydantic resolves the annotations at runtime
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import NoDecode

from exporter import tls
from exporter.config_resources import ResourceRules
from exporter.config_sources import invalid_setting
from exporter.config_values import (
    Count,
    DroppableLabel,
    PollInterval,
    PositiveSeconds,
    Seconds,
    StrList,
    check_secret_file,
    check_tls,
    read_secret,
    split_list,
    without_userinfo,
)

# A full task is about 2 KB of JSON; 8 KiB each leaves room for long error texts while
# four replies in flight, parsed, stay well inside the Helm chart's 256 MiB.
REPLY_BYTES_PER_ITEM = 8 * 1024
REPLY_BYTES_MIN = 64 * 1024  # the envelope, and the least any reply may be allowed
REPLY_BYTES_MAX = 1024**3  # past a GiB no reply could be held, let alone parsed, in the chart's limit
_LISTEN_ADDRESS = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]*):(?P<port>\d{1,5})$")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)


class ApiSettings(_Section):
    """Acronis API: data centre, credentials, timeouts and retries."""

    url: HttpUrl | None = None
    """Data-centre URL, e.g. https://eu2-cloud.acronis.com (required unless --demo)."""
    client_id: str | None = None
    """API client id (client_credentials grant)."""
    client_secret: SecretStr | None = None
    """API client secret; prefer the environment or --api.client-secret-file over this flag."""
    client_secret_file: Path | None = None
    """File holding the client secret, re-read on every token request."""
    grant_type: Literal["client_credentials", "password"] = "client_credentials"
    """OAuth2 grant used at /api/2/idp/token."""
    username: str | None = None
    """User name for the password grant."""
    password: SecretStr | None = None
    """Password for the password grant."""
    password_file: Path | None = None
    """File holding the password."""
    bearer_token: SecretStr | None = None
    """Static bearer token; skips the token endpoint."""
    bearer_token_file: Path | None = None
    """File holding a static bearer token."""
    tenant_id: str | None = None
    """Ask for a token scoped to this tenant (uuid)."""
    ca_file: Path | None = None
    """PEM bundle to verify the API's TLS certificate with."""
    insecure_skip_verify: bool = False
    """Do not verify the API's TLS certificate (logged loudly)."""
    timeout: PositiveSeconds = 30.0
    """Seconds one request may take in all: connect, send, headers and body."""
    connect_timeout: PositiveSeconds = 10.0
    """Seconds to wait for a connection."""
    max_retries: int = Field(2, ge=0, le=10)
    """Retries per request after 429, 5xx and transport errors."""
    backoff_initial: Seconds = 1.0
    """First retry delay in seconds (exponential, full jitter)."""
    backoff_max: Seconds = 30.0
    """Longest retry delay in seconds."""
    retry_after_max: Seconds = 300.0
    """Longest Retry-After waited for, and the longest hold; beyond it the request fails at once."""
    concurrency: int = Field(4, ge=1, le=32)
    """Requests in flight at once."""
    page_size: int = Field(500, ge=1, le=10000)
    """Items per listing page (limit)."""
    max_pages: Count = 2000
    """Pages one listing may take before it is abandoned as endless."""
    max_reply_bytes: int | None = Field(None, ge=REPLY_BYTES_MIN, le=REPLY_BYTES_MAX)
    """Largest reply body read, once decompressed; unset: 8 KiB per item of --api.page-size plus 64 KiB."""
    token_refresh_margin: Seconds = 900.0
    """Renew the access token this many seconds before it expires."""

    @field_validator("url")
    @classmethod
    def _without_userinfo(cls, url: HttpUrl | None) -> HttpUrl | None:
        # Credentials go in api.client_id/client_secret; a user:password@ in the URL would
        # only be shown wherever the URL is (logs, errors, the landing page): drop it.
        return without_userinfo(url)

    @property
    def reply_byte_cap(self) -> int:
        """The byte cap of one reply: api.max_reply_bytes, or derived from api.page_size."""
        if self.max_reply_bytes is not None:
            return self.max_reply_bytes
        return self.page_size * REPLY_BYTES_PER_ITEM + REPLY_BYTES_MIN

    @property
    def base_url(self) -> str:
        """The data-centre URL without a trailing slash ("" when unset)."""
        return str(self.url).rstrip("/") if self.url else ""

    def resolved_client_secret(self) -> SecretStr | None:
        """Return the client secret, read from the file when one is set."""
        return read_secret(self.client_secret, self.client_secret_file, "api.client_secret_file")

    def resolved_password(self) -> SecretStr | None:
        """Return the password, read from the file when one is set."""
        return read_secret(self.password, self.password_file, "api.password_file")

    def resolved_bearer_token(self) -> SecretStr | None:
        """Return the static bearer token, read from the file when one is set."""
        return read_secret(self.bearer_token, self.bearer_token_file, "api.bearer_token_file")

    @model_validator(mode="after")
    def _files_are_readable_and_unambiguous(self) -> Self:
        for name in ("client_secret", "password", "bearer_token"):
            if getattr(self, name) is not None and getattr(self, f"{name}_file") is not None:
                raise invalid_setting(f"api.{name}", f"set api.{name} or api.{name}_file, not both")
            check_secret_file(getattr(self, f"{name}_file"), f"api.{name}_file")
        if self.ca_file is not None and not self.insecure_skip_verify:
            check_tls(partial(tls.client_context, self.ca_file))
        if self.backoff_initial > self.backoff_max:
            raise invalid_setting("api.backoff_initial", "must not exceed api.backoff_max")
        return self

    def check_credentials(self) -> None:
        """Raise unless the settings name a way to get a token."""
        if self.bearer_token is not None or self.bearer_token_file is not None:
            return
        if self.grant_type == "password":
            required = {"api.username": self.username, "api.password": self.password or self.password_file}
        else:
            secret = self.client_secret or self.client_secret_file
            required = {"api.client_id": self.client_id, "api.client_secret": secret}
        for setting, value in required.items():
            if not value:
                raise invalid_setting(setting, f"field required for the {self.grant_type} grant")


class PollSettings(_Section):
    """Polling: how often, and what."""

    interval: PollInterval = 60.0
    """Seconds between polls (at least 1)."""
    jitter: float = Field(0.1, ge=0, le=0.5)
    """Random spread of the interval, as a fraction of it."""
    completion_overlap: Seconds = 600.0
    """Seconds the completion window reaches back behind the watermark, for late writes."""
    queues: StrList = []
    """Queues to count (empty: discover them from the listings)."""
    activities: bool = True
    """Also poll activities."""
    lookback: Seconds = 86400.0
    """With --metrics.resources: seconds of completions walked at start, seeding last outcomes (0: none)."""


class MetricsSettings(ResourceRules, _Section):
    """Cardinality: which tenants and how many label values reach /metrics."""

    max_tenants: Count = 100
    """Tenants with their own series; the rest fold into tenant_id="__other__"."""
    tenant_allow: StrList = []
    """Only these tenant ids (empty: all)."""
    tenant_deny: StrList = []
    """Never these tenant ids."""
    tenant_name_allow: str | None = None
    """Only tenants whose name matches this regular expression."""
    tenant_name_deny: str | None = None
    """Never tenants whose name matches this regular expression."""
    tenant_locator_prefix: StrList = []
    """Only tenants whose locator starts with one of these, e.g. /1/1496262/."""
    max_queues: Count = 50
    """Queues with their own series; the rest fold into "__other__"."""
    max_task_types: Count = 50
    """Task and activity types with their own series; the rest fold into "__other__"."""
    # task_type and priority multiply every tenant's series by types x priorities: at
    # 5,000 tenants and 20,000 open tasks that was 110,000 series. Opt in with an empty list.
    drop_labels: Annotated[list[DroppableLabel], NoDecode, BeforeValidator(split_list)] = [
        "task_type",
        "priority",
    ]
    """Labels to aggregate away entirely (none: pass an empty list, e.g. '[]')."""

    @field_validator("tenant_name_allow", "tenant_name_deny")
    @classmethod
    def _is_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise PydanticCustomError(
                    "invalid_regex", "not a regular expression ({e})", {"e": error.msg}
                ) from None
        return value


class WebSettings(_Section):
    """The /metrics endpoint."""

    listen_address: str = ":9862"
    """host:port or :port to serve /metrics on."""
    tls_cert_file: Path | None = None
    """Serve HTTPS with this certificate (PEM); needs --web.tls-key-file."""
    tls_key_file: Path | None = None
    """Private key for --web.tls-cert-file."""
    basic_auth_username: str | None = None
    """Require HTTP basic auth with this user."""
    basic_auth_password: SecretStr | None = None
    """Password for --web.basic-auth-username."""
    basic_auth_password_file: Path | None = None
    """File holding the basic-auth password."""
    max_connections: int = Field(64, ge=2, le=4096)
    """Connections served at once; past it the one idle longest is closed for the newcomer."""

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
        return self


class LogSettings(_Section):
    """Logging."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    """Least severe level logged."""
    format: Literal["auto", "json", "console"] = "auto"
    """auto: JSON lines unless stderr is a terminal."""
