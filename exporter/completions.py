"""Exactly-once counting of completions, on the API's own ``completedAt`` clock.

The API cannot tell us "what completed since last time" directly: completions may be
written late (backdated ``completedAt``), and a listing may fail half-way. So each kind
keeps a watermark W, the newest ``completedAt`` counted, and every poll re-lists the
window ``completedAt > W - overlap``:

* an id not seen before is counted once and remembered; a re-listed id is not counted again;
* W only ever moves on the API's own times (the exporter's clock never enters), and not at
  all by an item whose ``completedAt`` is later than its own ``updatedAt`` (a completion
  cannot be written before it happens: bad data or a skewed writer);
* ids older than W - overlap (the horizon) are forgotten, since the window never reaches
  them again, and anything listed at or below the horizon is ignored: memory stays bounded
  by the completions of one overlap window, and nothing forgotten can be counted twice;
* a walk is folded into a ``WalkResult`` without touching the tracker, and only a walk that
  completed is committed: a failed walk counts nothing and leaves W where it was;
* an unusable item (a field the counters need is null, missing or invalid) is not counted
  and not remembered, so it is counted if it recovers; while it is in the window W stays
  at or below its ``completedAt`` (or still, if that is unknown) for ``HOLD_POLLS`` polls,
  after which it is given up so one broken item cannot pin W forever.

The first walk is a baseline: it remembers the window's ids without counting them, so the
counters count completions since the exporter started.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from exporter.models import ActivityItem, Reason, TaskItem, format_time

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

HOLD_POLLS: Final = 3

Item = TaskItem | ActivityItem

# What each kind's counters and histograms cannot do without (needed), and what they may
# lack but must not find corrupt (optional: "" is "not started", null is a broken item).
TASK_FIELDS: Final = (
    ("id", "state", "completedAt", "result.code", "tenant", "queue", "type"),
    ("startedAt", "enqueuedAt", "updatedAt"),
)
ACTIVITY_FIELDS: Final = (
    ("id", "state", "completedAt", "result.code", "tenant", "type"),
    ("startedAt", "createdAt", "updatedAt"),
)


@dataclass(frozen=True)
class _Held:
    """An unusable item still in the window."""

    reason: Reason
    completed_at: float | None
    sightings: int


@dataclass(frozen=True)
class WalkResult:
    """What one walk of the window found; nothing happens until it is committed."""

    counted: tuple[Item, ...]  # new completions, in listing order
    skipped: Mapping[str, int]  # reason -> items skipped for the first time
    listed: int
    watermark: float | None
    new_ids: Mapping[str, float] = field(repr=False)  # id -> completedAt
    held: Mapping[str, _Held] = field(repr=False)


@dataclass
class _Walk:
    """Scratch state of one walk in progress."""

    baseline: bool
    start: float | None
    top: float | None  # newest trustworthy completedAt listed
    listed: int = 0
    new_ids: dict[str, float] = field(default_factory=dict)
    counted: list[Item] = field(default_factory=list)
    broken: dict[str, tuple[Reason, float | None]] = field(default_factory=dict)

    def usable(self, item: Item, seen: Mapping[str, float]) -> None:
        if item.id is None or item.completed_at is None:  # pragma: no cover - problem() rules it out
            return
        if item.updated_at is None or item.completed_at <= item.updated_at:
            self.top = item.completed_at if self.top is None else max(self.top, item.completed_at)
        if item.id not in seen and item.id not in self.new_ids:
            self.new_ids[item.id] = item.completed_at
            if not self.baseline:
                self.counted.append(item)

    def unusable(self, item: Item, reason: Reason) -> None:
        if not self.baseline:
            self.broken[item.id or _fingerprint(item)] = (reason, item.completed_at)
        elif item.id is not None:  # completed before our time either way: never count it
            self.new_ids[item.id] = item.completed_at or self.start or 0.0


class CompletionTracker:
    """Watermark, seen ids and held-back items of one kind (tasks or activities)."""

    def __init__(self, *, overlap: float, fields: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
        self._overlap = overlap
        self._needed, self._optional = fields
        self._baselined = False
        self._watermark: float | None = None
        self._horizon: float | None = None  # listed items at or below it are ignored for good
        self._seen: dict[str, float] = {}
        self._held: dict[str, _Held] = {}

    @property
    def baselined(self) -> bool:
        """True once the first walk has been committed."""
        return self._baselined

    @property
    def watermark(self) -> float | None:
        """The newest trustworthy completedAt counted (None while the API has no completions)."""
        return self._watermark

    @property
    def remembered(self) -> int:
        """Ids held in memory to recognise re-listed completions."""
        return len(self._seen)

    def window(self, start: float | None = None) -> list[tuple[str, str]]:
        """Return the listing filter for the next walk; ``start`` is W0 for the baseline walk."""
        watermark = start if not self._baselined else self._watermark
        params = [("state", "completed")]
        if watermark is not None:
            params.append(("completedAt", f"gt({format_time(watermark - self._overlap)})"))
        return params

    def fold(self, items: Iterable[Item], *, start: float | None = None) -> WalkResult:
        """Work out what a walk means without changing the tracker (``start``: W0 for the baseline).

        ``items`` may be a lazy walk: if it raises, nothing has changed.
        """
        baseline = not self._baselined
        watermark = start if baseline else self._watermark
        horizon = self._horizon_for(watermark) if baseline else self._horizon
        walk = _Walk(baseline=baseline, start=start, top=watermark)
        for item in items:
            walk.listed += 1
            if item.completed_at is not None and horizon is not None and item.completed_at <= horizon:
                continue  # decided long ago; its id may have been forgotten
            if item.state not in (None, "completed"):
                continue  # not a completion: the API should not have listed it
            reason = item.problem(self._needed, self._optional)
            if reason is None:
                walk.usable(item, self._seen)
            else:
                walk.unusable(item, reason)
        held, skipped, bound = self._hold(walk.broken)
        return WalkResult(
            counted=tuple(walk.counted),
            skipped=skipped,
            listed=walk.listed,
            watermark=_advance(watermark, walk.top, bound),
            new_ids=walk.new_ids,
            held=held,
        )

    def commit(self, result: WalkResult) -> None:
        """Adopt a completed walk: remember its ids, move W, forget what fell behind the horizon."""
        self._baselined = True
        self._watermark = result.watermark
        horizon = self._horizon_for(result.watermark)
        if horizon is not None and (self._horizon is None or horizon > self._horizon):
            self._horizon = horizon
        seen = self._seen | dict(result.new_ids)
        if self._horizon is not None:
            seen = {item_id: at for item_id, at in seen.items() if at > self._horizon}
        self._seen = seen
        self._held = dict(result.held)

    def _horizon_for(self, watermark: float | None) -> float | None:
        return None if watermark is None else watermark - self._overlap

    def _hold(
        self, unusable: Mapping[str, tuple[Reason, float | None]]
    ) -> tuple[dict[str, _Held], dict[str, int], float | None]:
        """Track unusable items across polls; return them, first-time skips, and W's upper bound."""
        held: dict[str, _Held] = {}
        skipped: Counter[str] = Counter()
        bound: float | None = None
        for key, (reason, completed_at) in unusable.items():
            previous = self._held.get(key)
            if previous is None:
                skipped[reason] += 1  # once per item, however long it stays broken
            sightings = 1 if previous is None else previous.sightings + 1
            held[key] = _Held(reason, completed_at, sightings)
            if sightings <= HOLD_POLLS:
                limit = completed_at if completed_at is not None else -math.inf
                bound = limit if bound is None else min(bound, limit)
        return held, dict(skipped), bound


def _advance(watermark: float | None, top: float | None, bound: float | None) -> float | None:
    """Move W up to ``top`` but not past ``bound``, and never backwards."""
    if top is None:
        return watermark
    candidate = top if bound is None else min(top, bound)
    if watermark is not None:
        return max(watermark, candidate)
    return None if math.isinf(candidate) else candidate


def _fingerprint(item: Item) -> str:
    """Return a stable key for an item without an id, so it is recognised on the next poll."""
    return "~" + hashlib.sha256(repr(item).encode()).hexdigest()[:20]
