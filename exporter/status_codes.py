"""The ``code`` label of the request counters: an HTTP status, from a closed set of values.

Any number from 100 to 999 can stand in a status line, and a hostile API (or a broken
proxy) answering a new one per request would mint a series per number. A status that
HTTP defines (IANA's registry, the ones an API answers with) keeps its value; any other
becomes its class, ``2xx`` to ``5xx``, or ``other`` outside them. A label therefore takes
at most about sixty values per endpoint.
"""

from __future__ import annotations

from typing import Final

KNOWN: Final = frozenset(
    (
        *range(200, 209),
        226,
        *range(300, 309),
        *range(400, 419),
        *range(421, 427),
        428,
        429,
        431,
        451,
        *range(500, 509),
        510,
        511,
    )
)


def code_label(status: int) -> str:
    """Return the ``code`` label value of a reply with ``status``."""
    if status in KNOWN:
        return str(status)
    if 200 <= status < 600:  # noqa: PLR2004 - the classes a reply to a request can have
        return f"{status // 100}xx"
    return "other"
