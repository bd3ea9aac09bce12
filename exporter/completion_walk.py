"""The scratch state of one completion walk, and what the walk learnt besides its items."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from exporter.models import ActivityItem, Reason, TaskItem

if TYPE_CHECKING:
    from exporter.ahead_ids import Remembered

Item = TaskItem | ActivityItem


@dataclass(frozen=True)
class Held:
    """An unusable item still in the window."""

    reason: Reason
    completed_at: float | None
    sightings: int


@dataclass
class Listing:
    """What a walk learnt besides its items, filled in page by page."""

    began: float | None = None  # the API's time (Date) of the first page
    ended: float | None = None  # the API's latest time seen during the walk
    complete: bool = True  # False: the page budget ran out with more to list
    pages: int = 0

    def saw(self, server_time: float | None, *, more: bool) -> None:
        """Note one page: its reply's Date and whether a next page exists."""
        if self.pages == 0:
            self.began = server_time  # only the first page's time bounds W safely
        if server_time is not None:
            self.ended = server_time if self.ended is None else max(self.ended, server_time)
        self.pages += 1
        self.complete = not more


@dataclass
class WalkState:
    """Scratch state of one walk in progress."""

    baseline: bool
    start: float | None
    top: float | None  # newest trustworthy completedAt listed
    listed: int = 0
    new_ids: dict[str, float] = field(default_factory=dict)  # new ids, and known ids listed later
    counted: list[Item] = field(default_factory=list)
    broken: dict[str, tuple[Reason, float | None]] = field(default_factory=dict)
    last_at: float | None = None  # the latest completedAt listed so far
    reached: float | None = None  # every completedAt up to here has been listed (ordered walks)
    ordered: bool = True  # the listing came in completedAt order, as asked
    unplaced: bool = False  # a baseline id was remembered without its completedAt (at ``start``)

    def place(self, completed_at: float | None) -> None:
        """Follow the listing's completedAt order, to know how far a cut-off walk got."""
        if completed_at is None or not self.ordered:
            return
        if self.last_at is None or completed_at > self.last_at:
            self.reached, self.last_at = self.last_at, completed_at  # ties may go on on the next page
        elif completed_at < self.last_at:
            self.ordered = False

    def usable(self, item: Item, seen: Remembered) -> None:
        """Fold in a readable completion: it may move W, and is counted if its id is new.

        A known id listed at a later completedAt than it is remembered at (the API changed
        it, or it moved while this walk went on) is not counted again but re-filed at the
        later time: it must stay remembered while the API can still list it above H. An
        earlier time changes nothing; the later one keeps it remembered for longer.
        """
        if item.id is None or item.completed_at is None:  # pragma: no cover - problem() rules it out
            return
        if item.updated_at is None or item.completed_at <= item.updated_at:
            self.top = item.completed_at if self.top is None else max(self.top, item.completed_at)
        remembered = self.new_ids.get(item.id)
        if remembered is None:
            remembered = seen.at(item.id)
        if remembered is None:
            self.new_ids[item.id] = item.completed_at
            if not self.baseline:
                self.counted.append(item)
        elif item.completed_at > remembered:
            self.new_ids[item.id] = item.completed_at

    def unusable(self, item: Item, reason: Reason) -> None:
        """Note a broken item: held back after the baseline, never counted if already there."""
        if not self.baseline:
            self.broken[item.id or fingerprint(item)] = (reason, item.completed_at)
        elif item.id is not None:  # completed before our time either way: never count it
            self.new_ids[item.id] = item.completed_at or self.start or 0.0
            self.unplaced = self.unplaced or item.completed_at is None


def fingerprint(item: Item) -> str:
    """Return a stable key for an item without an id, so it is recognised on the next poll."""
    return "~" + hashlib.sha256(repr(item).encode()).hexdigest()[:20]
