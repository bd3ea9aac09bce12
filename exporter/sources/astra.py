"""The ``astra_tasks`` source: every NetApp Astra Control task of one account, listed each poll.

One walk of the listing (``metadata.continue`` to the end) gives the tasks per state, the
open tasks per name and state, the oldest running and notStarted task per name, and,
through ``astra_finished.FinishedTracker``, the finished counters and run-time histograms,
each task counted once. The source uses its own client (``Poll.clients["astra"]``) and is
polled only when ``astra.url`` is set; it fails alone, keeping its last good result.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from exporter import catalogue
from exporter.astra_finished import BEFORE_BASELINE, FinishedTracker
from exporter.astra_models import OLDEST_STATES, OPEN, STATES, AstraTask, parse_astra_task
from exporter.labels import series
from exporter.rendering import floats, histogram, simple
from exporter.sources.base import Folded, Source
from exporter.vocabulary import OTHER

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence

    from prometheus_client.metrics_core import Metric

    from exporter.cardinality import Labeler
    from exporter.config import Settings
    from exporter.labels import Key
    from exporter.snapshot import HistogramData, Snapshot
    from exporter.sources.base import Family, OpenWork, Paging, Poll, Shared

CLIENT = "astra"  # its key in Poll.clients


@runtime_checkable
class AstraApi(Protocol):
    """What the source needs of ``astra_client.AstraClient``."""

    def iter_pages(self, *, limit: int, max_pages: int) -> Iterator[Sequence[object]]:
        """Yield every page of the task listing."""
        ...


@dataclass
class AstraScan:
    """One whole listing: its usable tasks (each id once) and the items skipped by reason."""

    tasks: list[AstraTask] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    ids: set[str] = field(default_factory=set, repr=False)
    api_time: float | None = None  # the earliest reply Date of the walk (the API's clock)

    def add(self, raw: object) -> None:
        """Parse one listed item in, or count why it was skipped."""
        task = parse_astra_task(raw)
        if isinstance(task, str):
            self.skipped[task] += 1
        elif task.id not in self.ids:  # a task listed twice (moving pages) counts once
            self.ids.add(task.id)
            self.tasks.append(task)


def scan_astra(client: AstraApi, paging: Paging) -> AstraScan:
    """Walk every page of the task listing."""
    scan = AstraScan()
    for page in client.iter_pages(limit=paging.page_size, max_pages=paging.max_pages):
        paging.on_page(len(page))
        server_time = getattr(page, "server_time", None)
        if isinstance(server_time, float) and (scan.api_time is None or server_time < scan.api_time):
            scan.api_time = server_time
        for raw in page:
            scan.add(raw)
    return scan


@dataclass(frozen=True)
class AstraResult:
    """What the families of one poll render, labels final."""

    by_state: Mapping[Key, int]  # series of catalogue.ASTRA_TASKS
    open: Mapping[Key, int]  # of ASTRA_OPEN_TASKS
    oldest: Mapping[Key, float]  # of ASTRA_OLDEST
    finished: Mapping[Key, int]  # of ASTRA_FINISHED (cumulative)
    durations: Mapping[Key, HistogramData]  # of ASTRA_DURATION (cumulative)


def _label_scan(scan: AstraScan, account: str, name: Callable[[str], str]) -> tuple[Counter[Key], ...]:
    by_state: Counter[Key] = Counter(
        {series(catalogue.ASTRA_TASKS, account_id=account, state=s): 0 for s in STATES}
    )
    open_tasks: Counter[Key] = Counter()
    for task in scan.tasks:
        state = task.state if task.state in STATES else OTHER  # an undocumented state: tolerated, folded
        by_state[series(catalogue.ASTRA_TASKS, account_id=account, state=state)] += 1
        if task.state in OPEN:
            open_tasks[
                series(catalogue.ASTRA_OPEN_TASKS, account_id=account, name=name(task.name), state=state)
            ] += 1
    return by_state, open_tasks


def _oldest(scan: AstraScan, account: str, name: Callable[[str], str]) -> dict[Key, float]:
    oldest: dict[Key, float] = {}
    for task in scan.tasks:
        since = task.since
        if task.state in OLDEST_STATES and since is not None:
            key = series(catalogue.ASTRA_OLDEST, account_id=account, name=name(task.name), state=task.state)
            oldest[key] = min(since, oldest.get(key, since))
    return oldest


def _result(snapshot: Snapshot) -> AstraResult | None:
    return snapshot.result(AstraTasks.name, AstraResult)


def _gauge(spec: catalogue.MetricSpec, part: Callable[[AstraResult], Mapping[Key, float]]) -> Family:
    def build(snapshot: Snapshot) -> Metric:
        result = _result(snapshot)
        return simple(spec, floats(part(result)) if result else {}, snapshot.dropped_labels)

    return spec, build


def _durations(snapshot: Snapshot) -> Metric:
    result = _result(snapshot)
    return histogram(catalogue.ASTRA_DURATION, result.durations if result else {}, snapshot.dropped_labels)


def _up(snapshot: Snapshot) -> Metric:
    status = snapshot.sources.get(AstraTasks.name)
    return simple(
        catalogue.ASTRA_UP_SPEC, {} if status is None else {series(catalogue.ASTRA_UP_SPEC): float(status.ok)}
    )


class AstraTasks(Source):
    """Every task of one Astra Control account."""

    name: ClassVar[str] = "astra_tasks"
    api: ClassVar[str] = "astra"
    families: ClassVar[tuple[Family, ...]] = (
        _gauge(catalogue.ASTRA_TASKS, lambda r: r.by_state),
        _gauge(catalogue.ASTRA_OPEN_TASKS, lambda r: r.open),
        _gauge(catalogue.ASTRA_OLDEST, lambda r: r.oldest),
        _gauge(catalogue.ASTRA_FINISHED, lambda r: r.finished),
        (catalogue.ASTRA_DURATION, _durations),
        (catalogue.ASTRA_UP_SPEC, _up),
    )

    def __init__(self, settings: Settings, shared: Shared) -> None:
        super().__init__(settings, shared)
        self.account = settings.astra.account_id or ""
        self.tracker = FinishedTracker(self.account)

    @classmethod
    def polled(cls, settings: Settings) -> bool:
        """Poll it when an Astra Control URL is set."""
        return settings.astra.enabled

    def requests(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:
        """Walk the listing, one job, with the Astra client."""
        client = poll.clients.get(CLIENT)
        if not isinstance(client, AstraApi):
            raise TypeError("no Astra Control client")  # a wiring bug: fails this source alone
        return {self.name: lambda: scan_astra(client, poll.paging)}

    def open_work(self, replies: Mapping[Hashable, object], labeler: Labeler) -> OpenWork:  # noqa: ARG002
        """Weigh task names by their open tasks, to seed the name cap."""
        scan = replies[self.name]
        if not isinstance(scan, AstraScan):
            return {}
        return {"name": Counter(task.name for task in scan.tasks if task.state in OPEN)}

    def fold(self, replies: Mapping[Hashable, object], poll: Poll) -> Folded:
        """Label the listing and count its new finishes."""
        scan = replies[self.name]
        if not isinstance(scan, AstraScan):
            raise TypeError(type(scan).__name__)

        def name(raw: str) -> str:
            return poll.labeler.value("name", raw)

        folded = self.tracker.fold(scan.tasks, scan.api_time)
        by_state, open_tasks = _label_scan(scan, self.account, name)
        oldest = _oldest(scan, self.account, name)
        self.tracker.commit(folded, name)
        result = AstraResult(
            dict(by_state), dict(open_tasks), oldest, self.tracker.counts(), self.tracker.durations()
        )
        before = {BEFORE_BASELINE: folded.before_baseline} if folded.before_baseline else {}
        return Folded(result, {**scan.skipped, **before})
