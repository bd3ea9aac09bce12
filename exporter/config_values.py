"""The values settings are made of: bounded numbers, lists, secret files, TLS files, URLs.

Shared by every section in ``config_sections``, so that a rule is stated once: every
number is finite and bounded, a secret file is readable, UTF-8 and not empty, a TLS file
loads (naming the file when it does not), a URL never keeps a password.
"""

from __future__ import annotations

import json
import re
from pathlib import Path  # noqa: TC003 - pydantic resolves the annotations at runtime
from typing import TYPE_CHECKING, Annotated, Final, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BeforeValidator, Field, HttpUrl, SecretStr
from pydantic_settings import NoDecode

from exporter.config_sources import invalid_setting
from exporter.errors import ConfigError
from exporter.small_files import read_small_text
from exporter.tls import TlsFileError

if TYPE_CHECKING:
    from collections.abc import Callable

_DAY: Final = 86_400.0  # no timeout, delay, interval or window the exporter takes is longer
_MAX_SECRET_BYTES: Final = 64 * 1024  # a JWT is a few KiB; more is a wrong file
_MAX_COUNT: Final = 1_000_000  # beyond any real tenant, queue or page count, still a finite loop
# A bearer token travels in a header: visible ASCII only (RFC 9110 field values, RFC 6750 tokens).
_HEADER_TOKEN: Final = re.compile(r"[\x21-\x7e]+")
_UNFIT_FOR_HEADER: Final = "holds a space, a line break or a character outside visible ASCII"


def split_list(value: object) -> object:
    """Accept `a,b` as well as JSON `["a","b"]` from the environment, where lists arrive as one string."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except RecursionError:  # a ValueError reads as "invalid"; this would be a traceback
                raise ValueError("the JSON list is nested too deeply") from None
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


# The shared numeric types. Every number a section takes is finite (``_Section`` forbids inf
# and NaN for all of them) and bounded above, from a flag, the environment or YAML alike:
# an infinite interval or timeout once made polls run back to back or crash.
Seconds = Annotated[float, Field(ge=0, le=_DAY)]
PositiveSeconds = Annotated[float, Field(gt=0, le=_DAY)]
# Polls closer than a second apart would hammer the API as if polling back to back (a tiny
# interval is no better than an infinite loop); nothing the API reports changes that fast.
PollInterval = Annotated[float, Field(ge=1, le=_DAY)]
Count = Annotated[int, Field(ge=1, le=_MAX_COUNT)]
StrList = Annotated[list[str], NoDecode, BeforeValidator(split_list)]
DroppableLabel = Literal["tenant_id", "queue", "task_type", "activity_type", "priority"]


def read_secret_file(path: Path, *, header: bool = False) -> str:
    """Return the file's stripped text; raise ValueError naming the file, never quoting it.

    With ``header`` the text is a bearer token, which only visible ASCII can carry.
    """
    too_large = "{path} is larger than {kib} KiB, too large for a secret"
    text = read_small_text(path, _MAX_SECRET_BYTES, too_large=too_large).strip()
    if not text:
        raise ValueError(f"{path} is empty")
    if header and not usable_in_header(text):
        raise ValueError(f"{path} {_UNFIT_FOR_HEADER}")
    return text


def usable_in_header(token: str) -> bool:
    """Tell whether a bearer token can go into an Authorization header as it is."""
    return _HEADER_TOKEN.fullmatch(token) is not None


def read_secret(
    value: SecretStr | None, path: Path | None, setting: str, *, header: bool = False
) -> SecretStr | None:
    """Return the secret, from its file when one is set; raise a one-line ConfigError naming the file."""
    if path is None:
        return value
    try:
        return SecretStr(read_secret_file(path, header=header))
    except ValueError as problem:
        raise ConfigError(f"{setting}: {problem}") from None


def read_plain(value: str | None, path: Path | None, setting: str) -> str | None:
    """Return an id or user name, from its file when one is set (read like a secret file)."""
    from_file = read_secret(None, path, setting)
    return value if from_file is None else from_file.get_secret_value()


def check_secret_file(path: Path | None, setting: str, *, header: bool = False) -> None:
    """Read a secret file once at start-up, so that a missing, empty or binary one stops it there."""
    if path is None:
        return
    try:
        read_secret_file(path, header=header)
    except ValueError as problem:
        raise invalid_setting(setting, str(problem)) from None


def check_header_token(value: SecretStr | None, setting: str) -> None:
    """Refuse at start-up a bearer token given directly that no header can carry (never quoting it)."""
    if value is not None and not usable_in_header(value.get_secret_value()):
        raise invalid_setting(setting, _UNFIT_FOR_HEADER)


def check_tls(load: Callable[[], object]) -> None:
    """Load TLS files at start-up, so that a bad one stops it there with one line naming the file."""
    try:
        load()
    except TlsFileError as error:
        raise invalid_setting(error.setting, error.problem) from None


def without_userinfo(url: HttpUrl | None) -> HttpUrl | None:
    """Return `url` without any user:password@."""
    if url is None or (url.username is None and url.password is None):
        return url
    parts = urlsplit(str(url))
    return HttpUrl(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])))
