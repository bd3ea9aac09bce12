"""Settings: what the exporter reads from flags, environment and an optional YAML file.

Precedence, highest first:

1. command-line flags        ``--api.url https://eu2-cloud.acronis.com``
2. environment variables     ``ACRONIS_EXPORTER_API__URL`` (prefix, then ``__`` between levels)
3. the YAML file             ``--config.file exporter.yaml`` (or ``ACRONIS_EXPORTER_CONFIG_FILE``)
4. defaults

Nested settings merge field by field across sources, so an environment variable can
override one key of a section the YAML file sets. Secrets are ``SecretStr`` (masked in
repr, str and ``redacted()``) and may come from files, re-read on every use so that a
rotated Kubernetes secret is picked up. ``load()`` turns every problem into a
``ConfigError`` with one line that names the setting, and never its value.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    CliApp,
    CliSettingsSource,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from exporter.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

ENV_PREFIX = "ACRONIS_EXPORTER_"
PROG = "acronis-task-exporter"
_HELP_WIDTH = 100  # fixed, so that --help reads the same in every terminal (and in the golden test)
_LISTEN_ADDRESS = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]*):(?P<port>\d{1,5})$")
_EPILOG = """\
Lists take repeated flags (--poll.queues a --poll.queues b) or, in the environment,
a,b or a JSON list. Secrets are best passed as files (--api.client-secret-file) or
environment variables: flags show up in the process list.

Examples:
  acronis-task-exporter --demo
  ACRONIS_EXPORTER_API__CLIENT_SECRET=... acronis-task-exporter \\
      --api.url https://eu2-cloud.acronis.com --api.client-id 0f1e...
  acronis-task-exporter --config.file /etc/acronis-task-exporter.yaml --check-config
"""
# The YAML file's content, handed from load() to settings_customise_sources for one parse.
_YAML_DATA: ContextVar[dict[str, Any]] = ContextVar("yaml_data", default={})  # noqa: B039 - never mutated


def _split_list(value: object) -> object:
    """Accept `a,b` as well as JSON `["a","b"]` from the environment, where lists arrive as one string."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


StrList = Annotated[list[str], NoDecode, BeforeValidator(_split_list)]
DroppableLabel = Literal["tenant_id", "queue", "task_type", "activity_type", "priority"]


def _invalid(path: str, problem: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_setting", "{path}: {problem}", {"path": path, "problem": problem})


def _check_readable(path: Path | None, setting: str) -> None:
    """Fail at start-up, naming the file, rather than on first use; never read out the content."""
    if path is None:
        return
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        raise _invalid(setting, f"cannot read {path} ({error.strerror or type(error).__name__})") from None


def _read_secret(value: SecretStr | None, path: Path | None, setting: str) -> SecretStr | None:
    if path is None:
        return value
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as error:
        raise ConfigError(f"{setting}: cannot read {path} ({error.strerror})") from None


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


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
    timeout: float = Field(30.0, gt=0)
    """Seconds to wait for one response."""
    connect_timeout: float = Field(10.0, gt=0)
    """Seconds to wait for a connection."""
    max_retries: int = Field(2, ge=0, le=10)
    """Retries per request after 429, 5xx and transport errors."""
    backoff_initial: float = Field(1.0, ge=0)
    """First retry delay in seconds (exponential, full jitter)."""
    backoff_max: float = Field(30.0, ge=0)
    """Longest retry delay in seconds."""
    retry_after_max: float = Field(300.0, ge=0)
    """Longest Retry-After we wait for; beyond it the request fails at once."""
    concurrency: int = Field(4, ge=1, le=32)
    """Requests in flight at once."""
    page_size: int = Field(500, ge=1, le=10000)
    """Items per listing page (limit)."""
    max_pages: int = Field(2000, ge=1)
    """Pages one listing may take before it is abandoned as endless."""
    token_refresh_margin: float = Field(900.0, ge=0)
    """Renew the access token this many seconds before it expires."""

    @property
    def base_url(self) -> str:
        """The data-centre URL without a trailing slash ("" when unset)."""
        return str(self.url).rstrip("/") if self.url else ""

    def resolved_client_secret(self) -> SecretStr | None:
        """Return the client secret, read from the file when one is set."""
        return _read_secret(self.client_secret, self.client_secret_file, "api.client_secret_file")

    def resolved_password(self) -> SecretStr | None:
        """Return the password, read from the file when one is set."""
        return _read_secret(self.password, self.password_file, "api.password_file")

    def resolved_bearer_token(self) -> SecretStr | None:
        """Return the static bearer token, read from the file when one is set."""
        return _read_secret(self.bearer_token, self.bearer_token_file, "api.bearer_token_file")

    @model_validator(mode="after")
    def _files_are_readable_and_unambiguous(self) -> Self:
        for name in ("client_secret", "password", "bearer_token"):
            if getattr(self, name) is not None and getattr(self, f"{name}_file") is not None:
                raise _invalid(f"api.{name}", f"set api.{name} or api.{name}_file, not both")
            _check_readable(getattr(self, f"{name}_file"), f"api.{name}_file")
        _check_readable(self.ca_file, "api.ca_file")
        if self.backoff_initial > self.backoff_max:
            raise _invalid("api.backoff_initial", "must not exceed api.backoff_max")
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
                raise _invalid(setting, f"field required for the {self.grant_type} grant")


class PollSettings(_Section):
    """Polling: how often, and what."""

    interval: float = Field(60.0, gt=0)
    """Seconds between polls."""
    jitter: float = Field(0.1, ge=0, le=0.5)
    """Random spread of the interval, as a fraction of it."""
    completion_overlap: float = Field(600.0, ge=0)
    """Seconds the completion window reaches back behind the watermark, for late writes."""
    queues: StrList = []
    """Queues to count (empty: discover them from the listings)."""
    activities: bool = True
    """Also poll activities."""


class MetricsSettings(_Section):
    """Cardinality: which tenants and how many label values reach /metrics."""

    max_tenants: int = Field(100, ge=1)
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
    max_queues: int = Field(50, ge=1)
    """Queues with their own series; the rest fold into "__other__"."""
    max_task_types: int = Field(50, ge=1)
    """Task and activity types with their own series; the rest fold into "__other__"."""
    drop_labels: Annotated[list[DroppableLabel], NoDecode, BeforeValidator(_split_list)] = []
    """Labels to aggregate away entirely."""

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
        return _read_secret(
            self.basic_auth_password, self.basic_auth_password_file, "web.basic_auth_password_file"
        )

    @model_validator(mode="after")
    def _pairs_are_complete(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise _invalid("web.tls_cert_file", "set both web.tls_cert_file and web.tls_key_file, or neither")
        has_password = self.basic_auth_password is not None or self.basic_auth_password_file is not None
        if (self.basic_auth_username is not None) == has_password:
            return self
        raise _invalid("web.basic_auth_username", "set both the basic-auth user and password, or neither")

    @model_validator(mode="after")
    def _files_are_readable(self) -> Self:
        for name in ("tls_cert_file", "tls_key_file", "basic_auth_password_file"):
            _check_readable(getattr(self, name), f"web.{name}")
        return self


class LogSettings(_Section):
    """Logging."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    """Least severe level logged."""
    format: Literal["auto", "json", "console"] = "auto"
    """auto: JSON lines unless stderr is a terminal."""


class Settings(BaseSettings):
    """Prometheus exporter for the Acronis Cyber Protect Cloud Task Manager API v2.

    Every setting comes from a flag, an environment variable or the YAML file given with
    --config.file, in that order of precedence; nested YAML keys mirror the flag names
    (api.url is api: {url: ...}).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        cli_prog_name=PROG,
        cli_kebab_case=True,
        cli_show_env_vars=True,
        cli_implicit_flags=True,
        cli_hide_none_type=True,
        cli_avoid_json=True,
        cli_use_class_docs_for_groups=True,
        cli_shortcuts={"config-file": "config.file"},
    )

    api: ApiSettings = ApiSettings()
    poll: PollSettings = PollSettings()
    metrics: MetricsSettings = MetricsSettings()
    web: WebSettings = WebSettings()
    log: LogSettings = LogSettings()
    demo: bool = False
    """Run against the embedded simulator instead of Acronis; no credentials needed."""
    once: bool = False
    """Poll once, print the exposition to stdout and exit."""
    check_config: bool = False
    """Validate the settings, print them (secrets masked) and exit."""
    config_file: Path | None = None
    """YAML file with settings (lowest precedence after defaults)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files: the environment is explicit
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - secrets come from *_file settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: flags (CliApp puts them first), init arguments, environment, YAML file."""
        return init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=_YAML_DATA.get())

    @model_validator(mode="after")
    def _api_is_usable(self) -> Self:
        if self.demo:
            return self
        if self.api.url is None:
            raise _invalid("api.url", "field required")
        self.api.check_credentials()
        return self

    def redacted(self) -> dict[str, Any]:
        """Return the effective settings as plain data with every secret masked: safe to log."""
        return self.model_dump(mode="json")

    def for_simulator(self, url: str, client_id: str, client_secret: str) -> Settings:
        """Return these settings pointed at an embedded simulator instead of Acronis."""
        api = self.api.model_copy(
            update={
                "url": HttpUrl(url),
                "client_id": client_id,
                "client_secret": SecretStr(client_secret),
                "client_secret_file": None,
                "grant_type": "client_credentials",
                "bearer_token": None,
                "bearer_token_file": None,
                "tenant_id": None,
                "ca_file": None,
                "insecure_skip_verify": False,
            }
        )
        return self.model_copy(update={"api": api})


def load(argv: Sequence[str], environ: dict[str, str] | None = None) -> Settings:
    """Read settings from flags, the environment and the YAML file; raise a one-line `ConfigError`.

    `environ` only locates the YAML file before parsing (tests pass their own); the
    environment itself is read by pydantic-settings from ``os.environ``.
    """
    args = list(argv)
    token = _YAML_DATA.set(_read_yaml(_yaml_path(args, environ)))
    try:
        source: CliSettingsSource[Settings] = CliSettingsSource(Settings, root_parser=_root_parser())
        return CliApp.run(Settings, cli_args=args, cli_settings_source=source)
    except ValidationError as error:
        raise ConfigError(one_line(error)) from None
    finally:
        _YAML_DATA.reset(token)


def _root_parser() -> ArgumentParser:
    return ArgumentParser(
        prog=PROG,
        usage="%(prog)s [flags]",
        description=inspect.getdoc(Settings),
        epilog=_EPILOG,
        formatter_class=partial(RawDescriptionHelpFormatter, width=_HELP_WIDTH),
        allow_abbrev=False,
        add_help=True,
    )


def _yaml_path(args: list[str], environ: dict[str, str] | None) -> Path | None:
    parser = ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--config.file", "--config-file", dest="file")
    known, _ = parser.parse_known_args(args)
    if known.file:
        return Path(known.file)
    from_env = (os.environ if environ is None else environ).get(f"{ENV_PREFIX}CONFIG_FILE")
    return Path(from_env) if from_env else None


def _read_yaml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"config.file: cannot read {path} ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config.file: {path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config.file: {path} must hold a mapping of settings")
    return data


def one_line(error: ValidationError) -> str:
    """Describe the first problem in one line naming the setting and how to set it, never its value."""
    problems = error.errors(include_input=False, include_url=False)
    first = _describe(problems[0])
    more = len(problems) - 1
    return f"{first} (and {more} more)" if more else first


def _describe(problem: ErrorDetails) -> str:
    if problem["type"] == "invalid_setting":
        path = str(problem.get("ctx", {}).get("path", ""))
        text = problem["msg"]
    elif problem["type"] == "extra_forbidden":
        return ".".join(str(part) for part in problem["loc"]) + ": unknown setting"
    else:
        path = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if message[1:2].islower():  # "Input should..." reads on after a colon; "URL ..." keeps its case
            message = message[:1].lower() + message[1:]
        text = f"{path}: {message}"
    if not path or ("." not in path and path not in Settings.model_fields):
        return text
    flag = "--" + path.replace("_", "-")
    env = ENV_PREFIX + path.replace(".", "__").upper()
    return f"{text} (set {flag} or {env})"
