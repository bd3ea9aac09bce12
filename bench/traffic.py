"""What the exporter asked of the API in one poll cycle, read from the simulator's request log.

Each request is sorted into a token mint, a count query (``lod=count``), the first page of
a listing or a later page. Later pages carry only an opaque ``after`` cursor; the
simulator's cursor is signed but readable JSON holding the listing's filters, which is how
a later page is tied back to its listing to find the longest chain of dependent requests.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simulator.requestlog import RequestRecord

RequestKind = Literal["token", "count", "first_page", "next_page", "other"]
ListingKey = tuple[str, tuple[tuple[str, str], ...]]  # (tasks|activities, sorted filters)

_CONTROL = frozenset({"lod", "limit", "after", "order", "allow_deleted"})
_TASK_MANAGER = "/api/task_manager/v2/"


@dataclass(frozen=True)
class Walk:
    """A count query or a listing walk as the exporter sent it: its first request and its pages."""

    path: str
    query: tuple[tuple[str, str], ...]
    pages: int  # a walk stops where the exporter's did (a probe reads one page of a long listing)


@dataclass(frozen=True)
class CycleTraffic:
    """The requests of one poll cycle, summed and split by kind."""

    requests: int
    response_bytes: int
    by_kind: dict[str, int]
    by_resource: dict[str, int]  # tasks / activities / token
    chains: dict[ListingKey, int]  # pages per listing walk
    started_at: float  # monotonic arrival of the first request
    last_arrival: float  # monotonic arrival of the last request
    first_pages: tuple[RequestRecord, ...]  # where a replay of this cycle starts
    count_queries: tuple[RequestRecord, ...]

    def walks(self) -> list[Walk]:
        """Every walk of the cycle, longest first (the order a pool should start them in), then counts."""
        listings = [
            Walk(entry.path, tuple(entry.query), self.chains.get(listing_key(entry), 1))
            for entry in self.first_pages
        ]
        counts = [Walk(entry.path, tuple(entry.query), 1) for entry in self.count_queries]
        return [*sorted(listings, key=lambda walk: -walk.pages), *counts]

    @property
    def longest_chain(self) -> int:
        """Requests that had to wait for one another: the longest listing walk (1 with counts only)."""
        chain = max(self.chains.values(), default=1)
        return chain + (1 if self.by_kind.get("token") else 0)  # the token precedes everything


def summarise(entries: Sequence[RequestRecord]) -> CycleTraffic:
    """Sum up one cycle's requests."""
    kinds: Counter[str] = Counter()
    resources: Counter[str] = Counter()
    chains: Counter[ListingKey] = Counter()
    first_pages, count_queries = [], []
    for entry in entries:
        kind = classify(entry)
        kinds[kind] += 1
        resources[resource_of(entry)] += 1
        if kind in ("first_page", "next_page"):
            chains[listing_key(entry)] += 1
        if kind == "first_page":
            first_pages.append(entry)
        elif kind == "count":
            count_queries.append(entry)
    walks = Counter(listing_key(entry) for entry in first_pages)
    return CycleTraffic(
        requests=len(entries),
        response_bytes=sum(entry.response_bytes for entry in entries),
        by_kind=dict(kinds),
        by_resource=dict(resources),
        # A listing walked twice in one cycle (a retry from page one) is two chains.
        chains={key: math.ceil(pages / max(1, walks[key])) for key, pages in chains.items()},
        started_at=min((entry.at for entry in entries), default=0.0),
        last_arrival=max((entry.at for entry in entries), default=0.0),
        first_pages=tuple(first_pages),
        count_queries=tuple(count_queries),
    )


def classify(entry: RequestRecord) -> RequestKind:
    """Say what one request was for."""
    if entry.path.endswith("/idp/token"):
        return "token"
    if not entry.path.startswith(_TASK_MANAGER):
        return "other"
    params = dict(entry.query)
    if params.get("lod") == "count":
        return "count"
    if "after" in params:
        return "next_page"
    return (
        "first_page" if resource_of(entry) in ("tasks", "activities") and _is_collection(entry) else "other"
    )


def resource_of(entry: RequestRecord) -> str:
    """Return tasks, activities or token: the endpoint a request hit."""
    if entry.path.endswith("/idp/token"):
        return "token"
    rest = entry.path.removeprefix(_TASK_MANAGER)
    return rest.split("/", 1)[0] or "other"


def listing_key(entry: RequestRecord) -> ListingKey:
    """Identify the listing a page belongs to, from its filters or its cursor."""
    params = dict(entry.query)
    if "after" in params:
        state = _cursor_state(params["after"])
        filters = tuple(sorted((str(name), str(value)) for name, value in state.get("f", [])))
        return str(state.get("k", resource_of(entry))), filters
    filters = tuple(sorted((name, value) for name, value in entry.query if name not in _CONTROL))
    return resource_of(entry), filters


def _is_collection(entry: RequestRecord) -> bool:
    return entry.path.rstrip("/").count("/") == _TASK_MANAGER.count("/")  # /tasks, not /tasks/{id}


def _cursor_state(cursor: str) -> dict[str, Any]:
    payload = cursor.partition(".")[0]
    try:
        state = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return {}  # another cursor format: the page still counts, only its chain is unknown
    return state if isinstance(state, dict) else {}
