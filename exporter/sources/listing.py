"""How sources walk a listing: tasks or activities, page by page, each item read once.

A listing is folded page by page, so a walk over 100,000 open tasks holds a few hundred
counters, not 100,000 items. ``walk_raw`` hands out items as the page holds them (a typed
record, or a raw JSON item where the tolerant path read the page): the open walks fold
records without building an item. Which ``lod`` each listing asks for is chosen for the fields
it groups on (API notes: low levels may omit tenant, queue, type and priority): ``long``
for open tasks, which need ``blockers``; ``short`` for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, TypeVar
from urllib.parse import quote

from exporter.completions import ACTIVITY_FIELDS, TASK_FIELDS
from exporter.models import ActivityItem, TaskItem
from exporter.typed_items import read_activity, read_task
from exporter.vocabulary import OPEN_STATES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from exporter.sources.base import Api, Paging, Params, Resource

ItemT = TypeVar("ItemT", TaskItem, ActivityItem)

OPEN_FILTER: Final = [("state", state) for state in OPEN_STATES]  # repeated keys: any of them
MAX_QUERY_VALUE: Final = 1024  # encoded characters; real queue names are short identifiers


@dataclass(frozen=True)
class Kind(Generic[ItemT]):
    """Tasks or activities: where they are listed and how their items parse."""

    resource: Resource
    parse: Callable[[object], ItemT]
    completion_fields: tuple[tuple[str, ...], tuple[str, ...]]


TASKS: Final = Kind("tasks", read_task, TASK_FIELDS)
ACTIVITIES: Final = Kind("activities", read_activity, ACTIVITY_FIELDS)


def sendable(value: str) -> bool:
    """Tell whether a value the API sent can go back to it in a query string.

    A value longer than ``MAX_QUERY_VALUE`` once encoded would make a URL that servers (and
    httpx, past 64 KiB) refuse; asked about every poll, it would fail every poll.
    """
    return len(quote(value, safe="")) <= MAX_QUERY_VALUE


class SeenIds:
    """Ids met so far in one walk, so an item the API lists on two pages counts once.

    Kept as hashes: a walk's memory must not grow with the length of the ids the API sends.
    Python's string hash is keyed per process, so the API cannot aim collisions at it.
    """

    def __init__(self) -> None:
        self._hashes: set[int] = set()

    def again(self, item_id: str | None) -> bool:
        """Record ``item_id``; tell whether it was met before (never for an item without an id)."""
        if item_id is None:
            return False
        key = hash(item_id)
        if key in self._hashes:
            return True
        self._hashes.add(key)
        return False


def walk_raw(
    client: Api, resource: Resource, params: Params, *, lod: str, paging: Paging
) -> Iterator[object]:
    """Yield every item of a listing as its page holds it: a typed record or a raw JSON item."""
    pages = client.iter_pages(resource, params, lod=lod, limit=paging.page_size, max_pages=paging.max_pages)
    for page in pages:
        paging.on_page(len(page))
        yield from page
