"""The sections of the settings: api, poll, metrics and log, each a frozen model (web: ``config_web``).

Each field's docstring is its --help text. Numbers take the shared bounded types of
``config_values`` (finite, and at most a day or a million). Validators check what one
section can check alone (pairs that go together, secret and TLS files that must load, regexes);
whether the whole is usable (a URL and credentials unless --demo) is ``Settings``'s to say.
Secrets are ``SecretStr``; files (secrets, ids, user names) are re-read on every use: rotation works.
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
from exporter.config_help import shown_as
from exporter.config_resources import ResourceRules
from exporter.config_sources import invalid_setting
from exporter.config_values import (
    Count,
    DroppableLabel,
    PollInterval,
    PositiveSeconds,
    Seconds,
    StrList,
    check_header_token,
    check_secret_file,
    check_tls,
    read_plain,
    read_secret,
    split_list,
    without_userinfo,
)

# A full task is about 2 KB of JSON; 8 KiB each leaves room for long error texts while
# four replies in flight, parsed, stay well inside the Helm chart's 256 MiB.
REPLY_BYTES_PER_ITEM = 8 * 1024
REPLY_BYTES_MIN = 64 * 1024  # the envelope, and the least any reply may be allowed
REPLY_BYTES_MAX = 1024**3  # past a GiB no reply could be held, let alone parsed, in the chart's limit


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)


class ApiSettings(_Section):
    """Acronis API: data centre, credentials, timeouts and retries."""

    url: HttpUrl | None = None
    """Data-centre URL, e.g. https://eu2-cloud.acronis.com (required unless --demo)."""
    client_id: str | None = Field(None, json_schema_extra=shown_as("ID"))
    """API client id (client_credentials grant)."""
    client_id_file: Path | None = None
    """File holding the client id, re-read on every token request."""
    client_secret: SecretStr | None = None
    """API client secret; prefer the environment or --api.client-secret-file over this flag."""
    client_secret_file: Path | None = None
    """File holding the client secret, re-read on every token request."""
    grant_type: Literal["client_credentials", "password"] = "client_credentials"
    """OAuth2 grant used at /api/2/idp/token."""
    username: str | None = Field(None, json_schema_extra=shown_as("USER"))
    """User name for the password grant."""
    username_file: Path | None = None
    """File holding the user name, re-read on every token request."""
    password: SecretStr | None = None
    """Password for the password grant."""
    password_file: Path | None = None
    """File holding the password."""
    bearer_token: SecretStr | None = None
    """Static bearer token; skips the token endpoint."""
    bearer_token_file: Path | None = None
    """File holding a static bearer token."""
    tenant_id: str | None = Field(None, json_schema_extra=shown_as("UUID"))
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
    max_reply_bytes: int | None = Field(
        None, ge=REPLY_BYTES_MIN, le=REPLY_BYTES_MAX, json_schema_extra=shown_as("BYTES")
    )
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

    def resolved_client_id(self) -> str | None:
        """Return the client id, read from the file when one is set."""
        return read_plain(self.client_id, self.client_id_file, "api.client_id_file")

    def resolved_username(self) -> str | None:
        """Return the user name, read from the file when one is set."""
        return read_plain(self.username, self.username_file, "api.username_file")

    def resolved_client_secret(self) -> SecretStr | None:
        """Return the client secret, read from the file when one is set."""
        return read_secret(self.client_secret, self.client_secret_file, "api.client_secret_file")

    def resolved_password(self) -> SecretStr | None:
        """Return the password, read from the file when one is set."""
        return read_secret(self.password, self.password_file, "api.password_file")

    def resolved_bearer_token(self) -> SecretStr | None:
        """Return the static bearer token, read from the file when one is set."""
        return read_secret(self.bearer_token, self.bearer_token_file, "api.bearer_token_file", header=True)

    @model_validator(mode="after")
    def _files_are_readable_and_unambiguous(self) -> Self:
        for name in ("client_id", "client_secret", "username", "password", "bearer_token"):
            if getattr(self, name) is not None and getattr(self, f"{name}_file") is not None:
                raise invalid_setting(f"api.{name}", f"set api.{name} or api.{name}_file, not both")
            check_secret_file(
                getattr(self, f"{name}_file"), f"api.{name}_file", header=name == "bearer_token"
            )
        check_header_token(self.bearer_token, "api.bearer_token")
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
            user = self.username or self.username_file
            required = {"api.username": user, "api.password": self.password or self.password_file}
        else:
            secret = self.client_secret or self.client_secret_file
            required = {"api.client_id": self.client_id or self.client_id_file, "api.client_secret": secret}
        for setting, value in required.items():
            if not value:
                raise invalid_setting(setting, f"field required for the {self.grant_type} grant")


class PollSettings(_Section):
    """Polling: how often, and what."""

    interval: PollInterval = 60.0
    """Seconds between polls (at least 1)."""
    jitter: float = Field(0.1, ge=0, le=0.5, json_schema_extra=shown_as("FRACTION"))
    """Random spread of the interval, as a fraction of it."""
    completion_overlap: Seconds = 600.0
    """Seconds the completion window reaches back behind the watermark, for late writes."""
    queues: StrList = Field([], json_schema_extra=shown_as("QUEUE"))
    """Queues to count (empty: discover them from the listings)."""
    activities: bool = True
    """Also poll activities."""
    lookback: Seconds = 86400.0
    """With --metrics.resources: seconds of completions walked at start, seeding last outcomes (0: none)."""


class MetricsSettings(ResourceRules, _Section):
    """Cardinality: which tenants and how many label values reach /metrics."""

    max_tenants: Count = 100
    """Tenants with their own series; the rest fold into tenant_id="__other__"."""
    tenant_allow: StrList = Field([], json_schema_extra=shown_as("TENANT_ID"))
    """Only these tenant ids (empty: all)."""
    tenant_deny: StrList = Field([], json_schema_extra=shown_as("TENANT_ID"))
    """Never these tenant ids."""
    tenant_name_allow: str | None = Field(None, json_schema_extra=shown_as("REGEX"))
    """Only tenants whose name matches this regular expression."""
    tenant_name_deny: str | None = Field(None, json_schema_extra=shown_as("REGEX"))
    """Never tenants whose name matches this regular expression."""
    tenant_locator_prefix: StrList = Field([], json_schema_extra=shown_as("LOCATOR"))
    """Only tenants whose locator starts with one of these, e.g. /1/1496262/."""
    max_queues: Count = 50
    """Queues with their own series; the rest fold into "__other__"."""
    max_task_types: Count = 50
    """Task and activity types with their own series; the rest fold into "__other__"."""
    # task_type and priority multiply every tenant's series by types x priorities: at
    # 5,000 tenants and 20,000 open tasks that was 110,000 series. Opt in with an empty list.
    drop_labels: Annotated[list[DroppableLabel], NoDecode, BeforeValidator(split_list)] = Field(
        ["task_type", "priority"], json_schema_extra=shown_as("LABEL")
    )
    """Labels to aggregate away (tenant_id, queue, task_type, activity_type, priority; none: '[]')."""

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
            except (OverflowError, RecursionError):  # a{99999999999}, or thousands of nested groups
                raise PydanticCustomError(
                    "invalid_regex", "not a regular expression Python can compile (too large or too deep)"
                ) from None
        return value


class LogSettings(_Section):
    """Logging."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    """Least severe level logged."""
    format: Literal["auto", "json", "console"] = "auto"
    """auto: JSON lines unless stderr is a terminal."""
