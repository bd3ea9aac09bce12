r"""Reading the API's JSON bodies into values every later stage can use without a second thought.

Whatever the API sends, what comes out of ``decode_json`` renders: every string is valid
UTF-8 and every number is finite. That is decided here, once, when a body is parsed, never
when a value is rendered (one lone surrogate in a tenant name used to make every scrape
fail). So:

* a lone surrogate escape (``"\udc80"``, valid JSON) becomes U+FFFD;
* a body that is not valid UTF-8 is still read, if only strings hold the bad bytes: an
  element of the listing's ``items`` that holds them is marked ``MisEncoded`` (repaired
  with U+FFFD), so that the one item is skipped and counted; bad bytes anywhere else fail
  the body;
* ``NaN``, ``Infinity``, a float that overflows to infinity, an integer too long for
  Python to read, and nesting too deep to read fail the body (``BodyError``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any, Final, NoReturn

from exporter.errors import BadPayload, PaginationError

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
_REPLACEMENT: Final = "\ufffd"


class BodyError(ValueError):
    """A body that cannot be read as JSON we accept; the message says why in a few words."""


class MisEncoded(dict[str, object]):
    """A listed item that held bytes that are not UTF-8; repaired for reading, to be skipped."""


def decode_json(content: bytes) -> object:
    """Parse a JSON body into values that render; raise BodyError when it cannot be used."""
    try:
        text, clean = content.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        # Bad bytes become lone surrogates (U+DC80..U+DCFF), found again below by item.
        text, clean = content.decode("utf-8", "surrogateescape"), False
    try:
        body = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise BodyError("nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, and Python's limit on integer digits
        raise BodyError(_why(error)) from None
    if not clean:
        return _split_misencoded(body)
    # Only an escape can put a surrogate into a body that is valid UTF-8: look for one first.
    return _repaired(body) if _SURROGATE_ESCAPE.search(text) else body


def _split_misencoded(body: object) -> object:
    """Mark the listed items that held bad bytes; fail if bad bytes sit anywhere else.

    A lone surrogate escape in such a body cannot be told from a bad byte any more, so an
    item holding one is skipped too: the body was broken anyway.
    """
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(items, list):
        raise BodyError("not UTF-8")
    if any(_has_surrogate(value) for key, value in body.items() if key != "items") or any(
        _SURROGATE.search(key) for key in body
    ):
        raise BodyError("not UTF-8 outside the items")
    for index, item in enumerate(items):
        if _has_surrogate(item):
            if not isinstance(item, dict):
                raise BodyError("not UTF-8 in an item that is not an object")
            _repaired(item)  # in place
            items[index] = MisEncoded(item)
    return body


def _has_surrogate(value: object) -> bool:
    """Tell whether any string in a JSON value, keys included, holds a surrogate."""
    stack = [value]
    while stack:  # iterative: nesting may be as deep as the parser allowed
        current = stack.pop()
        if isinstance(current, str):
            if _SURROGATE.search(current):
                return True
        elif isinstance(current, dict):
            stack.extend(current)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return False


def _repaired(value: object) -> object:
    """Replace every surrogate in the strings of a freshly parsed JSON value by U+FFFD, in place."""
    if isinstance(value, str):
        return _SURROGATE.sub(_REPLACEMENT, value)
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key in [key for key in current if _SURROGATE.search(key)]:
                current[_SURROGATE.sub(_REPLACEMENT, key)] = current.pop(key)
            pairs = current.items()
        elif isinstance(current, list):
            pairs = enumerate(current)  # type: ignore[assignment]
        else:
            continue
        for key, item in list(pairs):
            if isinstance(item, str):
                current[key] = _SURROGATE.sub(_REPLACEMENT, item)
            elif isinstance(item, dict | list):
                stack.append(item)
    return value


def _reject_constant(name: str) -> float:
    raise BodyError(f"{name} is not a number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyError("a number beyond the float range")
    return value


def _why(error: ValueError) -> str:
    if isinstance(error, BodyError):
        return str(error)
    if isinstance(error, json.JSONDecodeError):
        return "not JSON"
    return "an integer too long to read"


def page_items(body: object, endpoint: str) -> list[Any]:
    """Return a listing reply's items; BadPayload if it has no items list."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise BadPayload(f"GET {endpoint}: listing reply has no items list", reason="shape", status=200)
    return items


def cursor_after(body: object, endpoint: str) -> str | None:
    """Return the next-page cursor: paging.cursors.after, else the reference's top-level cursors.after.

    An absent, null or empty cursor ends the walk. A ``paging`` or ``cursors`` that is not
    an object, or a cursor that is not a string, raises PaginationError: read as "no more
    pages", it would pass the first page for the whole listing.
    """
    if not isinstance(body, dict):
        return None
    for where, holder in (("paging", body.get("paging")), ("the body", body)):
        if holder is None:
            continue
        cursors = (
            holder.get("cursors") if isinstance(holder, dict) else _unfollowable(endpoint, where, holder)
        )
        if cursors is None:
            continue
        after = (
            cursors.get("after") if isinstance(cursors, dict) else _unfollowable(endpoint, "cursors", cursors)
        )
        if after is None or after == "":
            continue
        return after if isinstance(after, str) else _unfollowable(endpoint, "cursors.after", after)
    return None


class SentCursors:
    """The cursors one walk has sent, to refuse one the API repeats (a loop would never end).

    Kept as 16-byte digests: a walk holds as much per page however long the API's tokens are.
    """

    def __init__(self) -> None:
        self._digests: set[bytes] = set()

    def first_time(self, cursor: str) -> bool:
        """Note ``cursor`` as sent; False if this walk sent it before."""
        digest = hashlib.blake2b(cursor.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if digest in self._digests:
            return False
        self._digests.add(digest)
        return True


def _unfollowable(endpoint: str, what: str, value: object) -> NoReturn:
    message = f"GET {endpoint}: {what} is a JSON {_json_type(value)}, so the listing cannot be followed"
    raise PaginationError(message)


def _json_type(value: object) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}
    return names.get(type(value), "value")


_SNAKE_LINKS = {f"{link}_id": link for link in ("tenant", "policy", "resource", "executor")}
# Seed 002 requires none of its fields: an omitted time is one not reached yet, which the
# API's own shape writes as "". Its schema has no queue at all, so a task in it has none.
_SNAKE_UNSET = ("enqueuedAt", "startedAt", "completedAt", "updatedAt", "queue")


def nest_snake_case(raw: object) -> object:
    """Return a task in seed 002's flat snake_case shape read as the API's own shape.

    ``tenant_id`` becomes ``tenant.id``, ``policy_id`` ``policy.id``, ``resource_id``
    ``resource.id``, ``executor_id`` ``executor.id`` and ``result_code`` ``result.code``,
    each only when the nested field is absent: whatever reads the camelCase shape (the
    completions, the resource walk) reads the snake_case one alike. A time or ``queue``
    the item omits is unset (``""``), since seed 002 makes no field required; one it sends
    as null or malformed stays a defect. Any other item is returned as it is.
    """
    if not isinstance(raw, dict) or not any(key in raw for key in (*_SNAKE_LINKS, "result_code")):
        return raw
    nested = type(raw)(raw)  # a MisEncoded item stays one
    for flat, link in _SNAKE_LINKS.items():
        if link not in raw and flat in raw:
            link_id = raw[flat]
            nested[link] = None if link_id is None else {"id": link_id}
    if "result" not in raw and "result_code" in raw:
        nested["result"] = {"code": raw["result_code"]}
    for name in _SNAKE_UNSET:
        nested.setdefault(name, "")
    return nested
