"""The fast path for listing bodies: msgspec decodes only the fields the exporter reads.

``payloads.decode_json`` builds every value of a page (progress, tags, executors, ...) as
Python objects before ``models.py`` reads a dozen of them, which made decoding and reading
most of a poll's CPU. Here msgspec decodes a page straight into the records below, which
hold only the read fields and skip the rest unbuilt; ``typed_items.py`` turns a record into
the same ``TaskItem``/``ActivityItem`` the tolerant parser would.

The two paths must agree on every page, hostile ones included, so this one only answers
for pages it is sure about and hands any other to the tolerant path (``None``):

* any msgspec error (not JSON, a lone surrogate escape, a BOM, a field of a type not
  declared below, an integer beyond 64 bits, a non-object item, nesting too deep);
* bytes that are not UTF-8 (msgspec does not check the strings it skips; the tolerant
  path skips just the items holding them);
* what msgspec accepts but the tolerant path refuses: a number that may overflow a float
  (an exponent of three digits or more, 300 digits in a row) or be too long for Python to
  read. Only a few such digits anywhere in a page (inside a string too) send it to the
  tolerant path, which decides.

Each field that the tolerant parser reads whatever its type is declared ``Any``; a field
it reads only as a string (or an id as an integer) is declared as that, so that any other
type sends the page to the tolerant parser, where it becomes a defect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from msgspec import UNSET, Struct, UnsetType


def _number_shape_table() -> bytes:
    """Map a body's bytes so that its numbers stand out: digits (signs, dots) 0, exponents e."""
    table = bytearray(b"_" * 256)
    for byte in b"0123456789.-+":
        table[byte] = ord("0")
    for byte in b"eE":
        table[byte] = ord("e")
    for byte in b":,[ \t\r\n":  # what a JSON value follows
        table[byte] = ord(":")
    return bytes(table)


# What msgspec reads (or skips) but the tolerant parser refuses: a number that may
# overflow a float (1e999; any number with an exponent counts, to keep this simple) or
# 300 digits in a row (may overflow, or be past Python's limit on integer digits).
# ``translate`` and these searches run in C: a regular expression over the raw bytes
# would cost more than the decoding.
_NUMBER_SHAPE: Final = _number_shape_table()
_EXPONENT: Final = re.compile(rb":0+e")
_LONG_DIGITS: Final = b"0" * 300

Text = str | None | UnsetType  # a string field: UNSET when missing, None when null


class TenantRecord(Struct, frozen=True, gc=False):
    """A task's tenant; frozen, so equal tenants share one ``Tenant`` (typed_items' cache)."""

    id: str | int | UnsetType | None = UNSET
    name: str | int | UnsetType | None = UNSET
    locator: str | int | UnsetType | None = UNSET
    uuid: str | int | UnsetType | None = UNSET


class ResultRecord(Struct, gc=False):
    """``result``: only its code is read."""

    code: Text = UNSET


class _Record(Struct, rename="camel", gc=False):
    """The fields tasks and activities share, as the API names them."""

    id: int | str | UnsetType | None = UNSET
    id_string: Text = UNSET
    state: Text = UNSET
    type: Text = UNSET
    tenant: TenantRecord | UnsetType | None = UNSET
    result: ResultRecord | UnsetType | None = UNSET
    started_at: Text = UNSET
    completed_at: Text = UNSET
    updated_at: Text = UNSET


class TaskRecord(_Record, rename="camel", gc=False):
    """One ``/tasks`` item: the shared fields, the task's own, and seed 002's flat ones."""

    queue: Text = UNSET
    priority: Text = UNSET
    enqueued_at: Text = UNSET
    cancel_requested: Any = UNSET
    assign_count: Any = UNSET
    blockers: Any = UNSET
    resource: Any = UNSET  # read by the resource-outcome walk only (lod=long)
    policy: Any = UNSET
    # Seed 002's snake_case shape (payloads.nest_snake_case): read as the nested fields.
    tenant_id: str | int | UnsetType | None = msgspec.field(default=UNSET, name="tenant_id")
    result_code: Any = msgspec.field(default=UNSET, name="result_code")
    resource_id: Any = msgspec.field(default=UNSET, name="resource_id")
    policy_id: Any = msgspec.field(default=UNSET, name="policy_id")
    executor_id: Any = msgspec.field(default=UNSET, name="executor_id")


class ActivityRecord(_Record, rename="camel", gc=False):
    """One ``/activities`` item."""

    created_at: Text = UNSET
    # models.py reads every item through nest_snake_case: an activity with these keys is
    # read in that shape too. Rare enough for the tolerant path (any value fails the type).
    tenant_id: UnsetType = msgspec.field(default=UNSET, name="tenant_id")
    result_code: UnsetType = msgspec.field(default=UNSET, name="result_code")
    resource_id: UnsetType = msgspec.field(default=UNSET, name="resource_id")
    policy_id: UnsetType = msgspec.field(default=UNSET, name="policy_id")
    executor_id: UnsetType = msgspec.field(default=UNSET, name="executor_id")


class _Cursors(Struct, gc=False):
    after: Text = UNSET


class _Paging(Struct, gc=False):
    cursors: _Cursors | UnsetType | None = UNSET


class _TaskPage(Struct, gc=False):
    items: list[TaskRecord]
    paging: _Paging | UnsetType | None = UNSET
    cursors: _Cursors | UnsetType | None = UNSET


class _ActivityPage(Struct, gc=False):
    items: list[ActivityRecord]
    paging: _Paging | UnsetType | None = UNSET
    cursors: _Cursors | UnsetType | None = UNSET


_DECODERS: Final[dict[str, msgspec.json.Decoder[_TaskPage] | msgspec.json.Decoder[_ActivityPage]]] = {
    "tasks": msgspec.json.Decoder(_TaskPage),
    "activities": msgspec.json.Decoder(_ActivityPage),
}


@dataclass(frozen=True)
class TypedListing:
    """A listing reply the fast path read: its records and the next page's cursor."""

    items: list[TaskRecord] | list[ActivityRecord]
    after: str | None


def decode_listing(resource: str, content: bytes) -> TypedListing | None:
    """Read a ``/tasks`` or ``/activities`` listing body; None: leave it to the tolerant path."""
    decoder = _DECODERS.get(resource)
    if decoder is None or not _plain(content):
        return None
    try:
        page = decoder.decode(content)
    except (msgspec.MsgspecError, RecursionError):
        return None
    return TypedListing(page.items, _after(page.paging) or _after(page))


def _plain(content: bytes) -> bool:
    """Tell whether a body holds nothing the two paths would read apart (see the module doc)."""
    if not content.isascii():
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return False
    shape = content.translate(_NUMBER_SHAPE)
    return _EXPONENT.search(shape) is None and _LONG_DIGITS not in shape


def _after(holder: _Paging | _TaskPage | _ActivityPage | UnsetType | None) -> str | None:
    """Return a non-empty ``cursors.after`` of ``holder``, as payloads.cursor_after reads it."""
    cursors = holder.cursors if isinstance(holder, _Paging | _TaskPage | _ActivityPage) else None
    after = cursors.after if isinstance(cursors, _Cursors) else None
    return after if isinstance(after, str) and after else None
