"""What a source is: the protocol every module under ``exporter/sources/`` implements.

A source names itself, says which requests one poll needs (``requests`` at the start,
``follow_up`` once the source named in ``after`` has been folded, as the per-queue counts
need the queues the open-task walk labelled), and folds the replies into an immutable
result. The poller (a scheduler) runs the requests on its bounded pool, keeps each
source's last good result, and publishes them in one snapshot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence

    from prometheus_client.metrics_core import Metric

    from exporter.cardinality import Labeler
    from exporter.catalogue import MetricSpec
    from exporter.config import Settings
    from exporter.grouping import CompletionTotals
    from exporter.pages import Page
    from exporter.snapshot import Snapshot

    Family = tuple[MetricSpec, Callable[[Snapshot], Metric]]  # a family and how it renders from a snapshot

Resource = Literal["tasks", "activities"]
Params = list[tuple[str, str]]
OpenWork = dict[str, Counter[str]]  # capped label -> raw value -> open items (seeds the caps)


class Api(Protocol):
    """The two calls of the Task Manager client that sources use."""

    def count(self, resource: Resource, params: Sequence[tuple[str, str]] = ()) -> int:
        """Return how many items match the filters (lod=count)."""

    def iter_pages(  # noqa: PLR0913  as TaskManagerClient.iter_pages
        self,
        resource: Resource,
        params: Sequence[tuple[str, str]] = (),
        *,
        lod: str,
        limit: int | None = None,
        max_pages: int | None = None,
        partial: bool = False,
    ) -> Iterator[Page]:
        """Yield every page of a listing."""


@dataclass(frozen=True)
class Paging:
    """How listings are walked; ``on_page`` sees every page's size (progress, cancellation)."""

    page_size: int
    max_pages: int
    on_page: Callable[[int], None] = lambda _: None


@dataclass
class Shared:
    """What several sources of one poller build together: the cumulative completion totals."""

    totals: CompletionTotals
    watermarks: dict[str, float] = field(default_factory=dict)  # "tasks"/"activities" -> counted up to
    tracked: set[str] = field(default_factory=set)  # completion sources that have their baseline


@dataclass(frozen=True)
class Poll:
    """What a source sees of the poll in progress."""

    client: Api
    paging: Paging
    labeler: Labeler
    skip: Callable[[str, Mapping[str, int]], None]  # count items of a source that could not be used
    clients: Mapping[str, object] = field(default_factory=dict)  # other APIs' clients, by name ("astra")


@dataclass(frozen=True)
class Folded:
    """A source's replies folded: its immutable result, and the items skipped by reason."""

    result: object
    skipped: Mapping[str, int] = field(default_factory=dict)


class Source:
    """One source; subclasses set ``name`` and ``families`` and implement ``requests`` and ``fold``."""

    name: ClassVar[str]
    activities: ClassVar[bool] = False  # polled only with --poll.activities
    api: ClassVar[str] = "acronis"  # the API it polls: acronis_up covers the Acronis ones alone
    after: ClassVar[str | None] = None  # an independent source whose fold ``follow_up`` needs
    families: ClassVar[tuple[Family, ...]] = ()  # what it renders, even while not polled

    def __init__(self, settings: Settings, shared: Shared) -> None:
        self.settings = settings
        self.shared = shared

    @classmethod
    def polled(cls, settings: Settings) -> bool:
        """Tell whether a run with ``settings`` polls this source (Acronis ones unless Astra runs alone).

        Activity sources only with ``poll.activities``.
        """
        if settings.api.url is None and settings.astra.enabled:
            return False
        return settings.poll.activities or not cls.activities

    def requests(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:
        """Return the jobs to queue when the poll starts, keyed as ``fold`` finds their replies."""
        raise NotImplementedError

    def follow_up(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:  # noqa: ARG002  a hook
        """Return the jobs to queue once the ``after`` source is folded (none by default)."""
        return {}

    def open_work(self, replies: Mapping[Hashable, object], labeler: Labeler) -> OpenWork:  # noqa: ARG002
        """Return what this source's replies say about open items per capped label (none by default)."""
        return {}

    def fold(self, replies: Mapping[Hashable, object], poll: Poll) -> Folded:
        """Fold every reply into the source's result (on the poller's thread: labels are chosen here)."""
        raise NotImplementedError


def merge_open_work(parts: Iterable[OpenWork]) -> OpenWork:
    """Add up the sources' open items per capped label, dropping zeros."""
    merged: OpenWork = {}
    for part in parts:
        for label, counts in part.items():
            merged.setdefault(label, Counter()).update(counts)
    return {label: +counts for label, counts in merged.items()}  # unary +: drop the zeros
