"""Exactly-once counting of completions, on the API's own clock.

The API cannot tell us "what completed since last time" directly: completions may be
written late (backdated ``completedAt``), a listing may fail half-way, the API's clock may
move while we walk, and a writer's clock may be wrong. So each kind keeps a horizon H and
a watermark W and every poll lists ``completedAt > H`` in ``completedAt`` order:

* an id not seen before is counted once and remembered; a re-listed id is not counted again;
* W is the newest trustworthy ``completedAt`` counted, but never later than the API's time
  (its ``Date``) when the walk began: what completes during a walk, or is written late by
  up to the overlap, therefore lands above the next H. The exporter's clock never enters.
  An item whose ``completedAt`` is later than its own ``updatedAt`` does not move W either;
* a completion dated after the API's time at the end of the walk (a writer's clock in the
  future) is counted once and reported as skipped with reason ``future_time``; it cannot
  drag W along, so counting goes on;
* H is W - overlap after a complete walk. Everything at or below H has been decided: items
  listed there are ignored and their ids forgotten, so memory stays bounded by one window;
  ids dated after the API's time are kept apart only while walks list them (ahead_ids.py);
* a walk that runs out of page budget (a backlog) commits what it got and moves H to the
  last ``completedAt`` it fully listed (never past began - overlap, where late writes can
  still land), so the next poll goes on from there: a backlog clears over several polls,
  exactly once. A partial walk that cannot move H (a budget's worth of identical times)
  fails with ``pagination``, as does a baseline larger than the budget;
* a walk is folded into a ``WalkResult`` without touching the tracker, and only a walk that
  completed (or made progress through a backlog) is committed: a failed walk counts nothing;
* after a complete walk the next one may list only a quick window near W and ask the API to
  count the rest of the overlap (overlap.py): on any difference the whole overlap is walked;
* the API's clock stepping back (a Date earlier than the last) re-anchors W on its new time
  and H one overlap below, never below an id forgotten; if ids at or after that time were
  forgotten, counting cannot be exact: the walk fails with ``clock`` (api_clock.py ``Anchor``);
* an unusable item (a field the counters need is null, missing or invalid) is not counted
  and not remembered, so it is counted if it recovers; while it is in the window W stays
  at or below its ``completedAt`` (or still, if that is unknown) for ``HOLD_POLLS`` polls,
  after which it is given up so one broken item cannot pin W forever.

The first walk is a baseline: it remembers the window's ids without counting them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from exporter.ahead_ids import AheadIds, Known
from exporter.api_clock import Anchor, ApiClock
from exporter.completion_times import advance, future, highest, lowest
from exporter.completion_walk import Held, Item, Listing, WalkState
from exporter.errors import PaginationError
from exporter.models import Reason, format_time
from exporter.overlap import Band, Lateness, skipped_bands
from exporter.timed_ids import TimedIds

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

HOLD_POLLS: Final = 3
FUTURE: Final = "future_time"  # the skip-report reason of a completion dated after the API's now

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
class WalkResult:
    """What one walk of the window found; nothing happens until it is committed."""

    counted: tuple[Item, ...]  # new completions, in listing order
    skipped: Mapping[str, int]  # reason -> items skipped for the first time
    listed: int
    watermark: float | None
    new_ids: Mapping[str, float] = field(repr=False)  # id -> completedAt; known ids moved later too
    held: Mapping[str, Held] = field(repr=False)
    horizon: float | None = None  # H after this walk (never below the tracker's)
    complete: bool = True  # False: a backlog, worked off page budget by page budget
    floor: float | None = None  # a quick walk listed only above it; held items below are kept
    unplaced: float | None = None  # ids remembered at this time without their own completedAt
    api_time: float | None = None  # the API's time (Date) when the walk began, if it said
    stepped_back: float | None = None  # seconds the API's clock stepped back since the last walk
    anchor: float | None = None  # H re-anchored below the tracker's after such a step
    ahead: Mapping[str, float] | None = field(default=None, repr=False)  # ids dated after the API's time


class CompletionTracker:
    """Watermark, seen ids and held-back items of one kind (tasks or activities)."""

    def __init__(self, *, overlap: float, fields: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
        self._overlap = overlap
        self._needed, self._optional = fields
        self._baselined = False
        self._watermark: float | None = None
        self._horizon: float | None = None  # listed items at or below it are ignored for good
        self._seen = TimedIds()
        self._ahead = AheadIds()
        self._held: dict[str, Held] = {}
        self._lateness = Lateness(overlap)
        self._settled = False  # the last walk was complete, so H is W - overlap
        self._unplaced: float | None = None  # while H is below it, the known band count is unsure
        self._api_clock = ApiClock()
        self._forgotten: float | None = None  # ids up to here may be decided yet not remembered

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
        return len(self._seen) + len(self._ahead)

    def quick_window(self) -> tuple[list[tuple[str, str]], float] | None:
        """Return the filter of a quick walk and its lower bound, or None when the whole overlap is due."""
        if not (self._settled and self._watermark is not None and self._horizon is not None):
            return None
        if self._unplaced is not None and self._horizon < self._unplaced:
            return None
        floor = self._watermark - self._lateness.reach
        if floor <= self._horizon:
            return None
        return [("state", "completed"), ("completedAt", f"gt({format_time(floor)})")], floor

    def saw_api_time(self, api_time: float | None) -> None:
        """Note the API's time from a reply outside a walk (the baseline's probe)."""
        self._api_clock.saw(api_time)

    def bands(self, began: float | None, result: WalkResult) -> tuple[Band, ...]:
        """Return the parts of the overlap a quick walk that began at the API's ``began`` skipped."""
        if self._horizon is None:
            return ()
        return skipped_bands(self._horizon, self._horizon_for(result.watermark), began)

    def known(self, band: Band, result: WalkResult) -> int | None:
        """Count the completions in ``band`` already decided (None if a broken one cannot be placed)."""
        return band.known(self._seen, result.new_ids, (self._held, result.held))

    def window(self, start: float | None = None) -> list[tuple[str, str]]:
        """Return the listing filter for the next walk; ``start`` is W0 for the baseline walk."""
        horizon = self._horizon if self._baselined else self._horizon_for(start)
        params = [("state", "completed")]
        if horizon is not None:
            params.append(("completedAt", f"gt({format_time(horizon)})"))
        return params

    def fold(
        self,
        items: Iterable[Item],
        *,
        start: float | None = None,
        listing: Listing | None = None,
        floor: float | None = None,
    ) -> WalkResult:
        """Work out what a walk means without changing the tracker (``start``: W0 for the baseline).

        ``items`` may be a lazy walk that fills ``listing`` in as it goes: if it raises,
        nothing has changed.
        """
        baseline = not self._baselined
        watermark = start if baseline else self._watermark
        horizon = self._horizon_for(watermark) if baseline else self._horizon
        walk = WalkState(baseline=baseline, start=start, top=watermark)
        known, relisted = Known(self._seen, self._ahead), dict[str, float]()
        for item in items:
            walk.listed += 1
            walk.place(item.completed_at)
            if item.completed_at is not None and horizon is not None and item.completed_at <= horizon:
                continue  # decided long ago; its id may have been forgotten
            if item.state not in (None, "completed"):
                continue  # not a completion: the API should not have listed it
            reason = item.problem(self._needed, self._optional)
            if reason is None:
                walk.usable(item, known)
                if item.id is not None and item.id in self._ahead and item.completed_at is not None:
                    relisted[item.id] = item.completed_at
            else:
                walk.unusable(item, reason)
        listing = listing or Listing()
        held, skipped, bound = self._hold(walk.broken)
        ended = self._api_clock.at_most(listing.ended)
        if ahead := future(walk.counted, ended):
            skipped[FUTURE] = ahead
        limit = lowest(bound, self._api_clock.at_most(listing.began))
        reach = None if listing.complete else (-math.inf if walk.reached is None else walk.reached)
        ahead_ids, new_ids = self._ahead.after(walk.new_ids | relisted, ended, reach)
        result = WalkResult(
            counted=tuple(walk.counted),
            skipped=skipped,
            listed=walk.listed,
            watermark=advance(watermark, walk.top, limit),
            new_ids=new_ids,
            held=held,
            complete=listing.complete,
            floor=floor,
            unplaced=start if walk.unplaced else None,
            api_time=listing.began,
            ahead=ahead_ids,
        )
        stepped = self._api_clock.stepped_back(listing.began)
        if stepped is not None and listing.began is not None and self._horizon is not None:
            anchor = Anchor(listing.began, stepped, self._overlap, self._forgotten)
            return replace(
                result,
                watermark=anchor.watermark(result.watermark),
                anchor=min(anchor.horizon(), self._horizon),
                stepped_back=stepped,
            )
        if listing.complete:
            return result
        return replace(result, horizon=self._cut_off(walk, listing, bound, held))

    def _cut_off(
        self, walk: WalkState, listing: Listing, bound: float | None, held: Mapping[str, Held]
    ) -> float | None:
        """Return H after a walk the page budget cut off, or raise if it cannot make progress."""
        if walk.baseline:
            raise PaginationError(
                "the completions of one overlap window outgrow the page budget (raise api.max-pages)"
            )
        if not walk.ordered:
            raise PaginationError("the API ignored order=asc(completedAt), so a cut-off walk cannot resume")
        # Late writes may still land up to one overlap behind the API's time at the start.
        now = listing.began if listing.began is not None else walk.top
        late = None if now is None else now - self._overlap
        holding = None if bound is None else bound - self._overlap
        cut = None if walk.reached is None else lowest(walk.reached, late, holding)
        moved = cut is not None and (self._horizon is None or cut > self._horizon)
        still_holding = any(h.sightings <= HOLD_POLLS for h in held.values())
        if not (moved or walk.new_ids or still_holding):
            raise PaginationError(
                f"a page budget of completions shares one completedAt ({format_time(walk.last_at or 0.0)})"
                " and the walk cannot move past it (raise api.max-pages or api.page-size)"
            )
        return cut if moved else self._horizon

    def commit(self, result: WalkResult) -> None:
        """Adopt a completed walk: remember its ids, move W, forget what fell behind the horizon."""
        baseline = not self._baselined
        if not baseline:
            self._lateness.observe(self._watermark, (item.completed_at for item in result.counted))
        self._baselined, self._settled = True, result.complete
        self._api_clock.saw(result.api_time)
        self._unplaced = result.unplaced if result.unplaced is not None else self._unplaced
        self._watermark = result.watermark
        horizon = self._horizon_for(result.watermark) if result.complete else result.horizon
        if result.anchor is not None:
            self._horizon = result.anchor  # the API's clock stepped back: the one way H goes down
        elif horizon is not None and (self._horizon is None or horizon > self._horizon):
            self._horizon = horizon
        self._seen.add(result.new_ids)
        self._ahead = self._ahead if result.ahead is None else AheadIds(result.ahead)
        if self._horizon is not None:
            forgotten = self._seen.forget_through(self._horizon)
            # what the baseline window did not reach was decided without its ids ever being known
            self._forgotten = highest(self._forgotten, forgotten, self._horizon if baseline else None)
        self._held = self._unlisted_held(result.floor) | dict(result.held)

    def _unlisted_held(self, floor: float | None) -> dict[str, Held]:
        """Keep broken items a quick walk did not list (below its floor), so they are not reported again."""
        if floor is None or self._horizon is None:
            return {}
        return {
            key: held
            for key, held in self._held.items()
            if held.completed_at is not None and self._horizon < held.completed_at <= floor
        }

    def _horizon_for(self, watermark: float | None) -> float | None:
        return None if watermark is None else watermark - self._overlap

    def _hold(
        self, unusable: Mapping[str, tuple[Reason, float | None]]
    ) -> tuple[dict[str, Held], dict[str, int], float | None]:
        """Track unusable items across polls; return them, first-time skips, and W's upper bound."""
        held: dict[str, Held] = {}
        skipped: Counter[str] = Counter()
        bound: float | None = None
        for key, (reason, completed_at) in unusable.items():
            previous = self._held.get(key)
            if previous is None:
                skipped[reason] += 1  # once per item, however long it stays broken
            sightings = 1 if previous is None else previous.sightings + 1
            held[key] = Held(reason, completed_at, sightings)
            if sightings <= HOLD_POLLS:
                limit = completed_at if completed_at is not None else -math.inf
                bound = limit if bound is None else min(bound, limit)
        return held, dict(skipped), bound
