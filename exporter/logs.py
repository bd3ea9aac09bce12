"""Logging: structlog set up once at start, JSON lines off a terminal, secrets scrubbed.

Owns the processor chain for both structlog and stdlib ``logging`` (httpx, the WSGI
server, libraries), so every line has one format. Exceptions are rendered to text
*before* ``SecretRedactor`` runs, so a secret inside an exception message or traceback
is scrubbed like any other value. Then, as a backstop for text from a reply that no
``SecretRegistry.clip`` shortened on its way, every string value is cut to
``LOG_VALUE_MAX`` characters: scrubbed whole first, so a cut never exposes part of a
secret. Which values are secret is the ``SecretRegistry`` the
app hands to ``configure`` (it holds the settings' secrets and the tokens in use); what a
secret looks like in text (its encodings, a URL's password, a cut-off fragment) is
``redaction``'s to know.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Final, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from exporter.redaction import REDACTED

if TYPE_CHECKING:
    from collections.abc import Iterable

    from structlog.typing import EventDict, Processor, WrappedLogger

    from exporter.config import LogSettings
    from exporter.redaction import SecretRegistry

__all__ = ["LOG_VALUE_MAX", "REDACTED", "SecretRedactor", "configure", "get_logger"]

_SECRET_KEYS: Final = frozenset(
    {"client_secret", "password", "access_token", "refresh_token", "id_token", "authorization"}
    | {"token", "secret", "bearer_token", "api_key", "cookie", "set_cookie"}
)
_SECRET_SUFFIXES: Final = ("_secret", "_password", "_token")
_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
LOG_VALUE_MAX: Final = 2000  # characters of one string value of a log line; more is cut
# A traceback rendered to one string (console format) is longer by nature, never endless.
_TRACEBACK_MAX: Final = 10 * LOG_VALUE_MAX
_NOISY_LOGGERS: Final = ("httpx", "httpcore")  # one INFO line per request is noise at our poll rate


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)


class SecretRedactor:
    """The processor that masks secret-named keys and scrubs the registry's secrets from all else."""

    def __init__(self, secrets: SecretRegistry) -> None:
        self._secrets = secrets

    def __call__(self, _logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        """Mask secret-named keys, scrub registered secret values from everything else, cut long strings."""
        for key, value in event_dict.items():
            limit = _TRACEBACK_MAX if key == "exception" else LOG_VALUE_MAX
            event_dict[key] = REDACTED if _is_secret_key(key) else self._scrub_value(value, limit)
        return event_dict

    def _scrub_value(self, value: object, limit: int) -> object:
        if isinstance(value, str):
            return _cut(self._secrets.scrub(value), limit)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {
                key: REDACTED if _is_secret_key(str(key)) else self._scrub_value(item, limit)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._scrub_value(item, limit) for item in value]
        # Anything else would be rendered with repr() or str() after us: render it now, then scrub.
        return _cut(self._secrets.scrub(str(value)), limit)


def _cut(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} more characters]"


def _renderers(pretty: bool, redact: SecretRedactor, *, colours: bool) -> list[Processor]:  # noqa: FBT001 - private
    if pretty:
        # Pre-rendering the traceback (instead of letting ConsoleRenderer do it) is what lets
        # the redactor see its text. Colour codes only reach a terminal: in a file, a pipe or
        # `docker logs` they are noise that breaks grep.
        console = structlog.dev.ConsoleRenderer(colors=colours)
        return [structlog.processors.format_exc_info, redact, console]
    # Locals in tracebacks could hold anything, secrets included: never render them.
    dict_tracebacks = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
    return [dict_tracebacks, redact, structlog.processors.JSONRenderer()]


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def configure(settings: LogSettings, stream: TextIO = sys.stderr, *, secrets: SecretRegistry) -> None:
    """Route structlog and stdlib logging through one renderer, redacting `secrets`, onto `stream`."""
    pretty = settings.format == "console" or (settings.format == "auto" and _is_tty(stream))
    level = _LEVELS[settings.level]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderers = _renderers(pretty, SecretRedactor(secrets), colours=_is_tty(stream))
    structlog.configure(
        processors=[*shared, *renderers],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,  # configure() may run again (tests, --check-config)
    )
    _route_stdlib(stream, level, shared, renderers)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg] # generic only in typeshed
    """Marks the handler we installed, so a second configure() replaces it instead of doubling lines."""


def _route_stdlib(
    stream: TextIO, level: int, shared: Iterable[Processor], renderers: list[Processor]
) -> None:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers],
    )
    handler = _Handler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def get_logger(**context: object) -> structlog.typing.FilteringBoundLogger:
    """Return a structlog logger bound to `context`."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(**context)
    return logger
