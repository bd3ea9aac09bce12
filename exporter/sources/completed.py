"""The ``completed_tasks`` and ``completed_activities`` sources: the completion window, walked once.

Each poll walks the items completed since the watermark W in completedAt order and folds
them with its ``CompletionTracker`` (completions.py), which counts each completion exactly
once; a walk is committed only when it folded without error, so a failed walk counts
nothing and W stays. Counted items go into the totals both sources share (``Shared``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar

from exporter import catalogue, logs
from exporter.api_clock import DATE_RESOLUTION
from exporter.completion_notes import note_ahead, note_step
from exporter.completion_walk import Listing
from exporter.completions import CompletionTracker, WalkResult
from exporter.errors import BadPayload
from exporter.grouping import Completions
from exporter.labels import series
from exporter.models import ActivityItem, TaskItem, format_time
from exporter.rendering import by_label, floats, histogram, simple
from exporter.snapshot import HistogramData
from exporter.sources.base import Folded, Source
from exporter.sources.listing import ACTIVITIES, TASKS, Kind
from exporter.vocabulary import RESULT_CODES

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterator, Mapping

    from prometheus_client.metrics_core import Metric

    from exporter.config import Settings
    from exporter.labels import Key
    from exporter.overlap import Band
    from exporter.pages import Page
    from exporter.snapshot import Snapshot
    from exporter.sources.base import Api, Family, Paging, Poll, Shared

ItemT = TypeVar("ItemT", TaskItem, ActivityItem)
NEWEST_PROBE: Final = 20  # newest completions looked at to find a trustworthy W0
COMPLETED_TASKS: Final = "completed_tasks"
COMPLETED_ACTIVITIES: Final = "completed_activities"
WATERMARK_KEYS: Final = {COMPLETED_TASKS: "tasks", COMPLETED_ACTIVITIES: "activities"}  # source -> kind

_log = logs.get_logger(component="sources")


def walk_completions(
    client: Api, kind: Kind[ItemT], tracker: CompletionTracker, paging: Paging
) -> WalkResult:
    """Walk the completion window in completedAt order and fold it; the caller commits the result.

    The first walk is the baseline: its window reaches back from the newest completion. A
    window larger than the page budget is walked one budget per poll (see completions.py).
    """
    quick = tracker.quick_window()
    if quick is not None:
        params, floor = quick
        result, listing, _ = _walk(client, kind, tracker, paging, params, floor=floor)
        if _band_unchanged(client, kind, tracker, result, listing):
            return note_step(kind, result)
    start: float | None = None
    if not tracker.baselined:
        start = newest_completion(client, kind, paging, tracker)
        if start is None:
            return tracker.fold([])  # nothing has ever completed: there is no window yet
    result, listing, last = _walk(client, kind, tracker, paging, tracker.window(start), start=start)
    note_step(kind, result)
    if not result.complete:
        _log.info(
            "completion_backlog",
            resource=kind.resource,
            pages=listing.pages,
            counted=len(result.counted),
            watermark=None if result.watermark is None else format_time(result.watermark),
            api_time=None if listing.began is None else format_time(listing.began),
        )
        note_ahead(kind, listing, last)
    return result


def _walk(  # noqa: PLR0913  the walk, its window, and where a baseline or quick walk starts
    client: Api,
    kind: Kind[ItemT],
    tracker: CompletionTracker,
    paging: Paging,
    window: list[tuple[str, str]],
    *,
    start: float | None = None,
    floor: float | None = None,
) -> tuple[WalkResult, Listing, float | None]:
    """List ``window`` in completedAt order and fold it (nothing is committed); also where it stopped."""
    listing = Listing()
    params = [*window, ("order", "asc(completedAt)")]
    pages = client.iter_pages(
        kind.resource, params, lod="short", limit=paging.page_size, max_pages=paging.max_pages, partial=True
    )
    tail = _Tail()
    items = tail.follow(_follow(pages, kind, paging, listing))
    result = tracker.fold(items, start=start, listing=listing, floor=floor)
    return result, listing, tail.at


def _band_unchanged(
    client: Api, kind: Kind[ItemT], tracker: CompletionTracker, result: WalkResult, listing: Listing
) -> bool:
    """Tell whether the API counts just the known completions in the overlap a quick walk skipped."""
    if not result.complete or (listing.began is None and listing.pages):
        return False  # a cut-off walk, or pages without the API's time: only the full walk can tell
    bands = tracker.bands(listing.began, result)
    return bool(bands) and all(_band_as_known(client, kind, tracker, band, result) for band in bands)


def _band_as_known(
    client: Api, kind: Kind[ItemT], tracker: CompletionTracker, band: Band, result: WalkResult
) -> bool:
    """Tell whether the API counts in ``band`` just the completions the tracker knows there."""
    known = tracker.known(band, result)
    if known is None:
        return False
    try:
        listed = client.count(kind.resource, band.params())
    except BadPayload as error:  # the count is only a shortcut: an unreadable one costs the full walk
        _log.info("completion_band_unreadable", resource=kind.resource, reason=error.reason)
        return False
    if listed != known:
        _log.info("completion_band_changed", resource=kind.resource, counted=listed, known=known)
    return listed == known


def newest_completion(
    client: Api, kind: Kind[ItemT], paging: Paging, tracker: CompletionTracker
) -> float | None:
    """Return W0 for the baseline: the newest trustworthy completedAt, never past the API's now.

    A completedAt later than its item's own updatedAt (a skewed writer) or than the reply's
    Date (a writer's clock in the future) would put W ahead and hide every real completion,
    so such items are passed over; if every one of them is, the API's now is W0. Without a
    Date the baseline fails: nothing could tell a writer's clock in the future.
    """
    params = [("state", "completed"), ("order", "desc(completedAt)")]
    pages = client.iter_pages(kind.resource, params, lod="short", limit=NEWEST_PROBE, max_pages=1)
    page = next(pages, None)  # the first page is all we want; the rest of the walk is never sent
    if page is None:
        paging.on_page(0)
        return None
    paging.on_page(len(page))
    now = page.server_time
    if now is None:  # a completion's own date cannot vouch for itself: W0 needs the API's time
        raise BadPayload(f"GET /{kind.resource}: the reply has no usable Date header", reason="shape")
    tracker.saw_api_time(now)  # bounds W while a later walk's replies carry no Date
    latest = now + DATE_RESOLUTION
    times = [
        item.completed_at
        for item in map(kind.parse, page)
        if item.completed_at is not None
        and (item.updated_at is None or item.completed_at <= item.updated_at)
        and item.completed_at <= latest
    ]
    return min(max(times, default=now), now)


def _follow(pages: Iterator[Page], kind: Kind[ItemT], paging: Paging, listing: Listing) -> Iterator[ItemT]:
    """Yield a walk's items, noting each page's Date and whether more pages remain."""
    for page in pages:
        paging.on_page(len(page))
        listing.saw(page.server_time, more=page.more)
        for raw in page:
            yield kind.parse(raw)
    if listing.pages < paging.max_pages:
        listing.complete = True  # it ended on an empty page (endless cursors), not on the budget


class _Tail:
    """The completedAt of the last item a walk listed: where a cut-off walk stopped."""

    at: float | None = None

    def follow(self, items: Iterator[ItemT]) -> Iterator[ItemT]:
        """Yield ``items``, noting each one's completedAt."""
        for item in items:
            self.at = item.completed_at if item.completed_at is not None else self.at
            yield item


def _counter(
    source: str, spec: catalogue.MetricSpec, part: Callable[[Completions], Mapping[Key, int]]
) -> Family:
    def build(snapshot: Snapshot) -> Metric:
        done = snapshot.result(source, Completions)
        return simple(spec, floats(part(done)) if done else {}, snapshot.dropped_labels)

    return spec, build


def _histogram(
    source: str, spec: catalogue.MetricSpec, part: Callable[[Completions], Mapping[Key, HistogramData]]
) -> Family:
    def build(snapshot: Snapshot) -> Metric:
        done = snapshot.result(source, Completions)
        return histogram(spec, part(done) if done else {}, snapshot.dropped_labels)

    return spec, build


def _activity_duration(snapshot: Snapshot) -> Metric:
    """Every result code once any completion source has its baseline (a closed vocabulary), 0 until seen."""
    spec = catalogue.ACTIVITY_DURATION
    done = snapshot.result(COMPLETED_ACTIVITIES, Completions)
    if done is None and snapshot.result(COMPLETED_TASKS, Completions) is None:
        return histogram(spec, {}, snapshot.dropped_labels)
    empty = HistogramData(catalogue.DURATION_BUCKETS, (0,) * (len(catalogue.DURATION_BUCKETS) + 1), 0.0)
    values = {series(spec, result_code=code): empty for code in RESULT_CODES}
    values.update(done.activity_duration if done else {})
    return histogram(spec, values, snapshot.dropped_labels)


def _watermark(snapshot: Snapshot) -> Metric:
    """Each completion source's own watermark, from its last good result."""
    marks: dict[str, float] = {}
    for source, kind in WATERMARK_KEYS.items():
        done = snapshot.result(source, Completions)
        if done is not None and kind in done.watermarks:
            marks[kind] = done.watermarks[kind]
    return simple(catalogue.WATERMARK, by_label(catalogue.WATERMARK, "kind", marks))


class CompletedTasks(Source):
    """Tasks completed since the watermark: counters and duration histograms."""

    name: ClassVar[str] = COMPLETED_TASKS
    families: ClassVar[tuple[Family, ...]] = (
        _counter(COMPLETED_TASKS, catalogue.TASKS_COMPLETED, lambda d: d.tasks),
        _histogram(COMPLETED_TASKS, catalogue.TASK_DURATION, lambda d: d.task_duration),
        _histogram(COMPLETED_TASKS, catalogue.TASK_QUEUE_WAIT, lambda d: d.task_queue_wait),
        (catalogue.WATERMARK, _watermark),
    )
    kind: ClassVar[Kind[Any]] = TASKS
    watermark_key: ClassVar[str] = WATERMARK_KEYS[COMPLETED_TASKS]

    def __init__(self, settings: Settings, shared: Shared) -> None:
        super().__init__(settings, shared)
        overlap = settings.poll.completion_overlap
        self.tracker = CompletionTracker(overlap=overlap, fields=self.kind.completion_fields)

    def requests(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:
        """Walk the completion window, one job."""
        kind, tracker = self.kind, self.tracker
        return {self.name: lambda: walk_completions(poll.client, kind, tracker, poll.paging)}

    def fold(self, replies: Mapping[Hashable, object], poll: Poll) -> Folded:
        """Commit the walk and count what it completed into the shared totals."""
        result = replies[self.name]
        if not isinstance(result, WalkResult):
            raise TypeError(type(result).__name__)
        self.tracker.commit(result)
        self.shared.totals.add(result.counted, poll.labeler)
        return Folded(self._totals(), result.skipped)

    def _totals(self) -> Completions | None:
        """Return the shared totals as of now, once any completion source has its baseline (else None)."""
        watermark = self.tracker.watermark if self.tracker.baselined else None
        if watermark is None:
            self.shared.watermarks.pop(self.watermark_key, None)
        else:
            self.shared.watermarks[self.watermark_key] = watermark
        if self.tracker.baselined:
            self.shared.tracked.add(self.name)
        return self.shared.totals.freeze(self.shared.watermarks) if self.shared.tracked else None


class CompletedActivities(CompletedTasks):
    """Activities completed since the watermark."""

    name: ClassVar[str] = COMPLETED_ACTIVITIES
    activities: ClassVar[bool] = True
    families: ClassVar[tuple[Family, ...]] = (
        _counter(COMPLETED_ACTIVITIES, catalogue.ACTIVITIES_COMPLETED, lambda d: d.activities),
        (catalogue.ACTIVITY_DURATION, _activity_duration),
    )
    kind: ClassVar[Kind[Any]] = ACTIVITIES
    watermark_key: ClassVar[str] = WATERMARK_KEYS[COMPLETED_ACTIVITIES]
