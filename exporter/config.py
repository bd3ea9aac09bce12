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

This module holds the root ``Settings`` and ``load()``; the sections are in
``config_sections``, the values they share (bounded numbers, secret and TLS files) in
``config_values``, and the flag, environment and YAML plumbing with the one-line error
(usage errors included) in ``config_sources``. Import them all from here.
"""

from __future__ import annotations

import inspect
from pathlib import Path  # noqa: TC003 - pydantic resolves the annotations at runtime
from typing import TYPE_CHECKING, Any, Self

from pydantic import HttpUrl, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, CliApp, CliSettingsSource, SettingsConfigDict, SettingsError

from exporter import PRODUCT, config_help, config_sources
from exporter.astra_config import AstraSettings
from exporter.config_sections import ApiSettings, LogSettings, MetricsSettings, PollSettings
from exporter.config_sources import ENV_PREFIX, invalid_setting
from exporter.config_web import WebSettings
from exporter.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pydantic_settings import PydanticBaseSettingsSource

__all__ = [
    "ENV_PREFIX",
    "ApiSettings",
    "AstraSettings",
    "LogSettings",
    "MetricsSettings",
    "PollSettings",
    "Settings",
    "WebSettings",
    "load",
]


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
        cli_prog_name=PRODUCT,
        cli_kebab_case=True,
        cli_show_env_vars=True,
        cli_implicit_flags=True,
        cli_hide_none_type=True,
        cli_avoid_json=True,
        cli_use_class_docs_for_groups=True,
        cli_shortcuts={"config-file": "config.file", "web.config-file": "web.config.file"},
    )

    api: ApiSettings = ApiSettings()
    poll: PollSettings = PollSettings()
    metrics: MetricsSettings = MetricsSettings()
    web: WebSettings = WebSettings()
    log: LogSettings = LogSettings()
    astra: AstraSettings = AstraSettings()
    demo: bool = False
    """Run against the embedded simulator instead of Acronis; no credentials needed."""
    once: bool = False
    """Poll once, print the exposition to stdout and exit."""
    check_config: bool = False
    """Check settings and credentials (mint a token, run one lod=count query), print one line, exit 0 or 1."""
    healthcheck: bool = False
    """Ask the running exporter's /healthz (found from these same settings), print one line, exit 0 or 1."""
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
        return init_settings, env_settings, config_sources.yaml_source(settings_cls)

    @model_validator(mode="after")
    def _api_is_usable(self) -> Self:
        if self.demo or self.healthcheck:  # the check asks the running exporter, never the API
            return self
        if self.api.url is None and not self.astra.enabled:
            raise invalid_setting("api.url", "field required")  # or astra.url: README says so
        if self.api.url is not None:
            self.api.check_credentials()
        self.astra.check_usable()
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
                "client_id_file": None,
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
    with config_sources.yaml_file(args, environ):
        try:
            parser = config_sources.root_parser(inspect.getdoc(Settings))
            source: CliSettingsSource[Settings] = CliSettingsSource(Settings, root_parser=parser)
            config_help.humanise(parser, Settings)
            return CliApp.run(Settings, cli_args=args, cli_settings_source=source)
        except ValidationError as error:
            raise ConfigError(config_sources.one_line(error, Settings.model_fields)) from None
        except SettingsError as error:  # a section given a value that is not even JSON
            raise ConfigError(config_sources.unparsable(error)) from None
