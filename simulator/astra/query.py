"""The listing's query: ``filter``, ``include``, ``limit``, ``count`` and ``continue`` (seed 003, API notes).

``filter`` is ``field op 'value'`` with op one of eq, lt, gt, lte, gte, several joined by
`` and ``; values compare as strings (RFC 3339 times in one format order correctly),
``percentDone`` and ``orderHint`` as numbers. ``continue`` is opaque to clients: it holds
the position (the last task's creation sequence, so tasks created or purged meanwhile
shift nothing) and the filter of the first page, so later pages need only ``continue``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from simulator.astra.problems import Problem, invalid

if TYPE_CHECKING:
    from collections.abc import Callable

_TERM: Final = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s+(eq|lt|gt|lte|gte)\s+'((?:[^']|'')*)'\s*$")
_AND: Final = re.compile(r"\s+and\s+")
_NUMERIC: Final = frozenset({"percentDone", "orderHint"})
_FIELD: Final = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_OPS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "gte": lambda a, b: a >= b,
}
MAX_PARAM: Final = 4096


@dataclass(frozen=True)
class Term:
    """One comparison of a filter."""

    field: str
    op: str
    value: str

    def matches(self, item: dict[str, Any]) -> bool:
        """Tell whether the resource passes; a missing field never does."""
        actual = item.get(self.field)
        if actual is None or isinstance(actual, (list, dict)):
            return False
        if self.field in _NUMERIC:
            try:
                return _OPS[self.op](float(actual), float(self.value))
            except ValueError:
                return False
        return _OPS[self.op](str(actual), self.value)


def parse_filter(text: str) -> tuple[Term, ...]:
    """Parse ``filter``; a 400 with invalidParams for anything else."""
    if len(text) > MAX_PARAM:
        raise invalid("filter", f"longer than {MAX_PARAM} characters")
    terms = []
    for part in _AND.split(text.strip()):
        match = _TERM.match(part)
        if match is None:
            raise invalid("filter", "expected field op 'value' (op: eq, lt, gt, lte, gte), joined by and")
        terms.append(Term(match[1], match[2], match[3].replace("''", "'")))
    return tuple(terms)


def parse_include(text: str) -> tuple[str, ...]:
    """Parse ``include``: comma-separated top-level field names."""
    fields = tuple(part.strip() for part in text.split(",") if part.strip())
    if not fields or len(text) > MAX_PARAM or not all(_FIELD.match(name) for name in fields):
        raise invalid("include", "expected comma-separated field names")
    return fields


def parse_limit(text: str) -> int:
    """Parse ``limit``: a positive integer."""
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) < 1:  # noqa: PLR2004
        raise invalid("limit", "expected a positive integer")
    return int(text)


def parse_count(text: str) -> bool:
    """Parse ``count``: true or false."""
    if text not in ("true", "false"):
        raise invalid("count", "expected true or false")
    return text == "true"


def encode_continue(after_seq: int, filter_text: str, *, hop: bool = False) -> str:
    """Return the opaque continuation token of the page after ``after_seq``.

    ``hop`` marks the token of an empty page (the ``empty_pages`` fault): its page is served.
    """
    fields: dict[str, object] = {"a": after_seq, "f": filter_text}
    if hop:
        fields["e"] = 1
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """Return (after_seq, filter text) from a continuation token; a 400 if it is not ours."""
    after, filter_text, _ = decode_continue_hop(token)
    return after, filter_text


def decode_continue_hop(token: str) -> tuple[int, str, bool]:
    """Return (after_seq, filter text, whether an empty page gave it) from a continuation token."""
    if len(token) > MAX_PARAM * 2:
        raise invalid("continue", "not a continuation token of this API")
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after, filter_text, hop = raw["a"], raw["f"], raw.get("e") == 1
    except (ValueError, binascii.Error, KeyError, TypeError, RecursionError):
        raise invalid("continue", "not a continuation token of this API") from None
    if not isinstance(after, int) or isinstance(after, bool) or not isinstance(filter_text, str):
        raise invalid("continue", "not a continuation token of this API")
    return after, filter_text, hop


__all__ = ["Problem", "Term", "decode_continue", "encode_continue", "parse_filter", "parse_include"]
