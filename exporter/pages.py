"""One page of a listing as the client yields it: its items, and what the reply said beside them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exporter.typed_decode import ActivityRecord, TaskRecord

if TYPE_CHECKING:
    from collections.abc import Iterable

RawItem = dict[str, Any]  # one listed item as the API sent it, before models.py reads it
# A page's item: raw (the tolerant path) or as the fast path decoded it (typed_decode.py);
# typed_items.read_task and read_activity read both.
ListedItem = RawItem | TaskRecord | ActivityRecord


class Page(list[ListedItem]):
    """The items of one listing reply, plus whether a next page exists and the API's time."""

    def __init__(self, items: Iterable[ListedItem], *, more: bool, server_time: float | None) -> None:
        super().__init__(items)
        self.more = more  # the reply gave a cursor to a next page
        self.server_time = server_time  # the reply's Date: the API's own clock, in whole seconds
