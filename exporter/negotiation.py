"""Which format and encoding a /metrics request gets, from its ``Accept`` headers."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from collections.abc import Iterator

Format = Literal["text", "openmetrics"]

_OPENMETRICS_MEDIA: Final = "application/openmetrics-text"
_TEXT_MEDIA: Final = frozenset({"text/plain", "text/*", "*/*"})
_CACHED_LENGTH: Final = 256  # characters: longer header values are parsed anew, never kept


# Not prometheus_client.exposition.choose_encoder / gzip_accepted (0.26), on purpose: they
# ignore q-values (``text/plain;q=1.0,application/openmetrics-text;q=0.5`` would get
# OpenMetrics, and ``gzip;q=0`` a gzipped body), and choose_encoder returns a renderer and a
# content type per requested version and escaping (Prometheus 3 asks for
# ``escaping=allow-utf-8``), which would split the render-once cache into one entry per
# header variant and change the content type served today. Two closed formats keep one
# cached rendering each.
def negotiate_format(accept: str | None) -> Format:
    """OpenMetrics if the client ranks it at least as high as plain text, else text."""
    if accept is not None and len(accept) > _CACHED_LENGTH:
        return _negotiate_format(accept)
    return _cached_negotiate_format(accept)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Tell whether ``Accept-Encoding`` allows gzip (``q=0`` refuses it)."""
    if accept_encoding is not None and len(accept_encoding) > _CACHED_LENGTH:
        return _accepts_gzip(accept_encoding)
    return _cached_accepts_gzip(accept_encoding)


# Scrapers send the same few short headers again and again; only those are worth keeping,
# and a cache of long values would hold 64 of whatever size clients choose to send.
def _negotiate_format(accept: str | None) -> Format:
    best: dict[Format, float] = {"openmetrics": 0.0, "text": 0.0}
    for media, quality in _media_ranges(accept or ""):
        if media == _OPENMETRICS_MEDIA:
            best["openmetrics"] = max(best["openmetrics"], quality)
        elif media in _TEXT_MEDIA:
            best["text"] = max(best["text"], quality)
    if best["openmetrics"] > 0 and best["openmetrics"] >= best["text"]:
        return "openmetrics"
    return "text"


def _accepts_gzip(accept_encoding: str | None) -> bool:
    return any(
        coding in {"gzip", "x-gzip"} and quality > 0
        for coding, quality in _media_ranges(accept_encoding or "")
    )


_cached_negotiate_format = functools.lru_cache(maxsize=64)(_negotiate_format)
_cached_accepts_gzip = functools.lru_cache(maxsize=64)(_accepts_gzip)


def _media_ranges(header: str) -> Iterator[tuple[str, float]]:
    """Yield (lower-cased value, q) for each comma-separated entry of an Accept-style header."""
    for entry in header.split(","):
        value, *params = (part.strip() for part in entry.split(";"))
        if not value:
            continue
        quality = 1.0
        for param in params:
            key, _, raw = param.partition("=")
            if key.strip().lower() == "q":
                quality = _quality(raw)
        yield value.lower(), quality


def _quality(raw: str) -> float:
    try:
        return min(max(float(raw), 0.0), 1.0)
    except ValueError:  # a malformed q counts as a refusal rather than failing the scrape
        return 0.0
