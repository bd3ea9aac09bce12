"""The walk behind the ``resource_outcomes`` source: recent completions at ``lod=long``, newest per key.

Only ``lod=long`` items carry ``resource {id, name, type}`` and ``policy {id, name, type}``.
The walk keeps, per (resource or policy, tenant, result code), the newest completedAt and
the names it was listed with, so its memory is one entry per distinct key, never per item.
Last-outcome gauges take a maximum, so listing an item twice (page overlap, the completion
overlap) changes nothing: no exactly-once bookkeeping is needed here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from exporter.api_clock import DATE_RESOLUTION
from exporter.models import Tenant, format_time
from exporter.typed_items import links_of, read_task

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from exporter.sources.base import Api, Paging

Role = Literal["resource", "policy"]
ROLES: Final[tuple[Role, ...]] = ("resource", "policy")
NEEDED: Final = ("completedAt", "result.code")


@dataclass(frozen=True)
class Link:
    """A resource or policy as a task names it."""

    id: str
    name: str
    type: str


@dataclass(frozen=True)
class Outcome:
    """The newest completion of one key, with what the item said about its tenant and link."""

    completed_at: float
    tenant: Tenant | None
    link: Link


OutcomeKey = tuple[Role, str, str, str]  # role, link id, tenant id, result code


@dataclass(frozen=True)
class Walked:
    """One walk's newest outcomes, where it got to, and what it could not use."""

    outcomes: Mapping[OutcomeKey, Outcome]
    watermark: float | None  # completedAt walked up to (None: nothing ever completed)
    complete: bool  # False: the page budget ran out; the next walk resumes at the watermark
    skipped: Mapping[str, int] = field(default_factory=dict)


def read_link(raw: object) -> Link | None:
    """Read ``{id, name, type}``; None for an absent or unusable link (a task without a policy)."""
    if not isinstance(raw, dict):
        return None
    link_id = raw.get("id")
    if isinstance(link_id, int) and not isinstance(link_id, bool):
        link_id = str(link_id)
    if not isinstance(link_id, str):
        return None
    name, kind = raw.get("name"), raw.get("type")
    return Link(link_id, name if isinstance(name, str) else "", kind if isinstance(kind, str) else "")


def api_now(client: Api, paging: Paging, fallback: float) -> float:
    """Return the API's own time (a one-item listing's Date), or ``fallback`` when it sends none."""
    params = [("state", "completed"), ("order", "desc(completedAt)")]
    page = next(iter(client.iter_pages("tasks", params, lod="tiny", limit=1, max_pages=1)), None)
    paging.on_page(0 if page is None else len(page))
    return fallback if page is None or page.server_time is None else page.server_time


def walk_outcomes(client: Api, since: float, paging: Paging) -> Walked:
    """Walk completions after ``since`` in completedAt order, up to the page budget."""
    params = [
        ("state", "completed"),
        ("completedAt", f"gt({format_time(since)})"),
        ("order", "asc(completedAt)"),
    ]
    pages = client.iter_pages(
        "tasks", params, lod="long", limit=paging.page_size, max_pages=paging.max_pages, partial=True
    )
    outcomes: dict[OutcomeKey, Outcome] = {}
    skipped: Counter[str] = Counter()
    newest, walked, more = since, 0, False
    for page in pages:
        paging.on_page(len(page))
        walked, more = walked + 1, page.more
        latest = None if page.server_time is None else page.server_time + DATE_RESOLUTION
        newest = max(newest, _fold_page(page, outcomes, skipped, latest))
    complete = walked < paging.max_pages or not more
    return Walked(outcomes, newest, complete, dict(skipped))


def _fold_page(
    page: Iterable[object], outcomes: dict[OutcomeKey, Outcome], skipped: Counter[str], latest: float | None
) -> float:
    """Keep each key's newest outcome; return the newest trustworthy completedAt of the page."""
    newest = 0.0
    for raw in page:
        item = read_task(raw)
        if (reason := item.problem(NEEDED)) is not None:
            skipped[reason] += 1
            continue
        at, code = item.completed_at, item.result_code
        if at is None or code is None:  # problem() vouched for both; this narrows the types
            continue
        if latest is None or at <= latest:  # a writer's clock in the future must not move the watermark
            newest = max(newest, at)
        tenant_id = item.tenant.id if item.tenant else ""
        links = links_of(raw)  # seed 002's policy_id / resource_id, read as the links
        for role in ROLES:
            link = read_link(links.get(role))
            if link is None:
                continue
            key: OutcomeKey = (role, link.id, tenant_id, code)
            known = outcomes.get(key)
            if known is None or at >= known.completed_at:
                outcomes[key] = Outcome(at, item.tenant, link)
    return newest
