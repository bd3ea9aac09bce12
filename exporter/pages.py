"""One page of a listing as the client yields it: its items, and what the reply said beside them."""

from __future__ import annotations

from typing import Any

RawItem = dict[str, Any]  # one listed item as the API sent it, before models.py reads it


class Page(list[RawItem]):
    """The items of one listing reply, plus whether a next page exists and the API's time."""

    def __init__(self, items: list[RawItem], *, more: bool, server_time: float | None) -> None:
        super().__init__(items)
        self.more = more  # the reply gave a cursor to a next page
        self.server_time = server_time  # the reply's Date: the API's own clock, in whole seconds
