"""One page of a listing as the client yields it: its items, and what the reply said beside them."""

from __future__ import annotations

import email.utils
from typing import Any

Item = dict[str, Any]


class Page(list[Item]):
    """The items of one listing reply, plus whether a next page exists and the API's time."""

    def __init__(self, items: list[Item], *, more: bool, server_time: float | None) -> None:
        super().__init__(items)
        self.more = more  # the reply gave a cursor to a next page
        self.server_time = server_time  # the reply's Date: the API's own clock, in whole seconds


def http_date(header: str | None) -> float | None:
    """Return an HTTP Date header as unix seconds, or None when absent or unreadable."""
    if header is None:
        return None
    try:
        return email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
