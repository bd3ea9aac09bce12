"""The ``astra`` section of the settings: a NetApp Astra Control account to poll beside Acronis.

Acronis (``api``) and Astra Control (``astra``) are each optional; ``Settings`` requires at
least one. The token is a bearer API token that does not expire: from a file (re-read on
every use, so a rotated Kubernetes secret is picked up) or the environment.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path  # noqa: TC003 - pydantic resolves the annotations at runtime
from typing import Self

from pydantic import BaseModel, ConfigDict, HttpUrl, SecretStr, field_validator, model_validator

from exporter import tls
from exporter.config_sources import invalid_setting
from exporter.config_values import (
    check_header_token,
    check_secret_file,
    check_tls,
    read_secret,
    without_userinfo,
)


class AstraSettings(BaseModel):
    """NetApp Astra Control: account and API token (each of Acronis and Astra is optional)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)

    url: HttpUrl | None = None
    """Astra Control URL, e.g. https://astra.netapp.io (unset: Astra is not polled)."""
    account_id: str | None = None
    """Astra Control account id (required with astra.url)."""
    token: SecretStr | None = None
    """API token; prefer the environment or --astra.token-file over this flag."""
    token_file: Path | None = None
    """File holding the API token, re-read on every use."""
    ca_file: Path | None = None
    """PEM bundle to verify Astra Control's TLS certificate with."""
    insecure_skip_verify: bool = False
    """Do not verify Astra Control's TLS certificate (logged loudly)."""

    @field_validator("url")
    @classmethod
    def _without_userinfo(cls, url: HttpUrl | None) -> HttpUrl | None:
        return without_userinfo(url)

    @property
    def enabled(self) -> bool:
        """True when an Astra Control URL is set."""
        return self.url is not None

    @property
    def base_url(self) -> str:
        """The URL without a trailing slash ("" when unset)."""
        return str(self.url).rstrip("/") if self.url else ""

    def resolved_token(self) -> SecretStr | None:
        """Return the API token, read from the file when one is set."""
        return read_secret(self.token, self.token_file, "astra.token_file", header=True)

    @model_validator(mode="after")
    def _files_are_readable_and_unambiguous(self) -> Self:
        if self.token is not None and self.token_file is not None:
            raise invalid_setting("astra.token", "set astra.token or astra.token_file, not both")
        check_secret_file(self.token_file, "astra.token_file", header=True)
        check_header_token(self.token, "astra.token")
        if self.ca_file is not None and not self.insecure_skip_verify:
            check_tls(partial(tls.client_context, self.ca_file, setting="astra.ca_file"))
        return self

    def check_usable(self) -> None:
        """Raise unless an enabled section names an account and a token."""
        if not self.enabled:
            return
        if not self.account_id:
            raise invalid_setting("astra.account_id", "field required with astra.url")
        if self.token is None and self.token_file is None:
            raise invalid_setting("astra.token", "field required with astra.url (or astra.token_file)")
