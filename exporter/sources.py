"""What each polled source asks the API, and how it folds the answers into raw aggregates.

Sources are plain functions run on the poller's thread pool. They return aggregates keyed
by raw API values (an empty string where the API left a value unset); turning raw values
into label values (filters, caps, ``unknown``) is ``grouping.py``'s job, done on the
poller's thread. A listing is folded page by page, so a walk over 100,000 open tasks holds
a few hundred counters, not 100,000 items.

Which ``lod`` each listing asks for is chosen for the fields it groups on (API notes: low
levels may omit tenant, queue, type and priority): ``long`` for open tasks, which need
``blockers``; ``short`` for the rest.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Generic, TypeVar
from urllib.parse import quote

from exporter import logs
from exporter.completion_walk import Listing
from exporter.completions import (
    ACTIVITY_FIELDS,
    DATE_RESOLUTION,
    TASK_FIELDS,
    CompletionTracker,
    WalkResult,
)
from exporter.errors import BadPayload
from exporter.models import ActivityItem, TaskItem, Tenant, format_time, parse_activity, parse_task
from exporter.snapshot import Counts
from exporter.vocabulary import OPEN_STATES, RESULT_CODES, TASK_STATES

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence

    from exporter.client import Resource, TaskManagerClient
    from exporter.pages import Page

Params = list[tuple[str, str]]
CountKey = tuple[str, str]  # ("state", "started"), ("result", "ok"), ("queue", "backup")
ItemT = TypeVar("ItemT", TaskItem, ActivityItem)

OPEN_FILTER: Final = [("state", state) for state in OPEN_STATES]  # repeated keys: any of them
MAX_QUERY_VALUE: Final = 1024  # encoded characters; real queue names are short identifiers
NEWEST_PROBE: Final = 20  # newest completions looked at to find a trustworthy W0
OPEN_TASK_FIELDS: Final = ("state", "tenant", "queue", "type")
OPEN_ACTIVITY_FIELDS: Final = ("state", "tenant", "type")

_log = logs.get_logger(component="sources")


@dataclass(frozen=True)
class Kind(Generic[ItemT]):
    """Tasks or activities: where they are listed and how their items parse."""

    resource: Resource
    parse: Callable[[object], ItemT]
    completion_fields: tuple[tuple[str, ...], tuple[str, ...]]


TASKS: Final = Kind("tasks", parse_task, TASK_FIELDS)
ACTIVITIES: Final = Kind("activities", parse_activity, ACTIVITY_FIELDS)


@dataclass(frozen=True)
class Paging:
    """How listings are walked; ``on_page`` sees every page's size (progress, cancellation)."""

    page_size: int
    max_pages: int
    on_page: Callable[[int], None] = lambda _: None


# --- lod=count ----------------------------------------------------------------------------


def count_queries() -> dict[CountKey, Params]:
    """Return the counts per state and per result code, one request each, keyed for ``assemble_counts``."""
    queries: dict[CountKey, Params] = {("state", state): [("state", state)] for state in TASK_STATES}
    for code in RESULT_CODES:
        queries["result", code] = [("state", "completed"), ("resultCode", code)]
    return queries


def queue_count_queries(queues: Sequence[str]) -> dict[CountKey, Params]:
    """Return the counts of open tasks per queue, one request each (``sendable`` queues only)."""
    return {("queue", queue): [("queue", queue), *OPEN_FILTER] for queue in queues if sendable(queue)}


def sendable(value: str) -> bool:
    """Tell whether a value the API sent can go back to it in a query string.

    A value longer than ``MAX_QUERY_VALUE`` once encoded would make a URL that servers (and
    httpx, past 64 KiB) refuse; asked about every poll, it would fail every poll.
    """
    return len(quote(value, safe="")) <= MAX_QUERY_VALUE


def assemble_counts(results: Mapping[Hashable, int]) -> Counts:
    """Arrange the answers of ``count_queries`` (keyed as it keys them) into the snapshot's ``Counts``."""

    def part(kind: str) -> dict[str, int]:
        return {str(key[1]): n for key, n in results.items() if isinstance(key, tuple) and key[0] == kind}

    return Counts(by_state=part("state"), completed_by_result=part("result"), open_by_queue=part("queue"))


# --- Open work, from one walk of the listing ---------------------------------------------


class _SeenIds:
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


@dataclass
class OpenTaskScan:
    """Open tasks aggregated by raw values (``""`` where the API left a value unset)."""

    groups: Counter[tuple[str, str, str, str, str]] = field(
        default_factory=Counter
    )  # state, queue, tenant, type, priority
    oldest: dict[tuple[str, str], float] = field(default_factory=dict)  # (state, queue)
    blocked: Counter[tuple[str, str]] = field(default_factory=Counter)  # (queue, tenant)
    cancel_requested: Counter[str] = field(default_factory=Counter)
    reassigned: Counter[str] = field(default_factory=Counter)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    listed: int = 0
    seen: _SeenIds = field(default_factory=_SeenIds, repr=False)

    def add(self, item: TaskItem) -> None:
        """Fold one open task in, or count why it was skipped."""
        self.listed += 1
        reason = item.problem(OPEN_TASK_FIELDS)
        if reason is not None:
            self.skipped[reason] += 1
            return
        if item.state not in OPEN_STATES or item.tenant is None or self.seen.again(item.id):
            return  # completed between pages (the next poll counts it elsewhere), or listed twice
        state, queue, tenant = item.state, item.queue or "", item.tenant.id
        self.tenants.setdefault(tenant, item.tenant)
        self.groups[state, queue, tenant, item.type or "", item.priority or ""] += 1
        # The oldest task is the one waiting longest in its state: started ones since startedAt.
        since = item.started_at if state == "started" else item.enqueued_at
        if since is not None and since < self.oldest.get((state, queue), float("inf")):
            self.oldest[state, queue] = since
        if item.has_blockers:  # per tenant only where there is one: zeros would multiply series
            self.blocked[queue, tenant] += 1
        self.cancel_requested[queue] += item.cancel_requested
        self.reassigned[queue] += item.assign_count > 1


@dataclass
class OpenActivityScan:
    """Open activities aggregated by raw (state, tenant, type)."""

    groups: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    listed: int = 0
    seen: _SeenIds = field(default_factory=_SeenIds, repr=False)

    def add(self, item: ActivityItem) -> None:
        """Fold one open activity in, or count why it was skipped."""
        self.listed += 1
        reason = item.problem(OPEN_ACTIVITY_FIELDS)
        if reason is not None:
            self.skipped[reason] += 1
            return
        if item.state not in OPEN_STATES or item.tenant is None or self.seen.again(item.id):
            return
        self.tenants.setdefault(item.tenant.id, item.tenant)
        self.groups[item.state, item.tenant.id, item.type or ""] += 1


def scan_open_tasks(client: TaskManagerClient, paging: Paging) -> OpenTaskScan:
    """Walk every open task once (lod=long: blockers are not in short)."""
    scan = OpenTaskScan()
    for item in _walk(client, TASKS, OPEN_FILTER, lod="long", paging=paging):
        scan.add(item)
    return scan


def scan_open_activities(client: TaskManagerClient, paging: Paging) -> OpenActivityScan:
    """Walk every open activity once."""
    scan = OpenActivityScan()
    for item in _walk(client, ACTIVITIES, OPEN_FILTER, lod="short", paging=paging):
        scan.add(item)
    return scan


# --- Completions --------------------------------------------------------------------------


def walk_completions(
    client: TaskManagerClient, kind: Kind[ItemT], tracker: CompletionTracker, paging: Paging
) -> WalkResult:
    """Walk the completion window in completedAt order and fold it; the caller commits the result.

    The first walk is the baseline: its window reaches back from the newest completion. A
    window larger than the page budget is walked one budget per poll (see completions.py).
    """
    start: float | None = None
    if not tracker.baselined:
        start = newest_completion(client, kind, paging)
        if start is None:
            return tracker.fold([])  # nothing has ever completed: there is no window yet
    listing = Listing()
    params = [*tracker.window(start), ("order", "asc(completedAt)")]
    pages = client.iter_pages(
        kind.resource, params, lod="short", limit=paging.page_size, max_pages=paging.max_pages, partial=True
    )
    result = tracker.fold(_follow(pages, kind, paging, listing), start=start, listing=listing)
    if not result.complete:
        _log.info(
            "completion_backlog",
            resource=kind.resource,
            pages=listing.pages,
            counted=len(result.counted),
            watermark=None if result.watermark is None else format_time(result.watermark),
            api_time=None if listing.began is None else format_time(listing.began),
        )
    return result


def newest_completion(client: TaskManagerClient, kind: Kind[ItemT], paging: Paging) -> float | None:
    """Return W0 for the baseline: the newest trustworthy completedAt, never past the API's now.

    A completedAt later than its item's own updatedAt (a skewed writer) or than the reply's
    Date (a writer's clock in the future) would put W ahead and hide every real completion,
    so such items are passed over; if every one of them is, the API's now is W0.
    """
    params = [("state", "completed"), ("order", "desc(completedAt)")]
    pages = client.iter_pages(kind.resource, params, lod="short", limit=NEWEST_PROBE, max_pages=1)
    page = next(pages, None)  # the first page is all we want; the rest of the walk is never sent
    if page is None:
        paging.on_page(0)
        return None
    paging.on_page(len(page))
    now = page.server_time
    latest = None if now is None else now + DATE_RESOLUTION
    times = [
        item.completed_at
        for item in map(kind.parse, page)
        if item.completed_at is not None
        and (item.updated_at is None or item.completed_at <= item.updated_at)
        and (latest is None or item.completed_at <= latest)
    ]
    if not times and now is None:
        raise BadPayload(
            f"GET /{kind.resource}: none of the newest {len(page)} completions has a usable completedAt",
            reason="shape",
        )
    newest = max(times, default=now)
    return newest if now is None or newest is None else min(newest, now)


def _follow(pages: Iterator[Page], kind: Kind[ItemT], paging: Paging, listing: Listing) -> Iterator[ItemT]:
    """Yield a walk's items, noting each page's Date and whether more pages remain."""
    for page in pages:
        paging.on_page(len(page))
        listing.saw(page.server_time, more=page.more)
        for raw in page:
            yield kind.parse(raw)
    if listing.pages < paging.max_pages:
        listing.complete = True  # it ended on an empty page (endless cursors), not on the budget


def _walk(
    client: TaskManagerClient, kind: Kind[ItemT], params: Params, *, lod: str, paging: Paging
) -> Iterator[ItemT]:
    pages = client.iter_pages(
        kind.resource, params, lod=lod, limit=paging.page_size, max_pages=paging.max_pages
    )
    for page in pages:
        paging.on_page(len(page))
        for raw in page:
            yield kind.parse(raw)
