"""Remembered completion ids by their completedAt, counted and forgotten by time without a scan of all.

At 50 completions a second the tracker remembers one overlap of ids (600 s: 30,000 per kind),
and every poll it counts those in the band below a quick walk (overlap.py) and forgets those
at or below H. Scanning every id for both was a fifth of such a poll's CPU. Here the ids sit
in one-second buckets besides one id -> time mapping, so both cost one step per bucket plus
the ids of the few buckets a bound cuts through.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_BELOW: Final = -sys.maxsize  # the bucket of -inf and NaN: always below a finite bound
_ABOVE: Final = sys.maxsize  # the bucket of +inf


def _bucket(at: float) -> int:
    if math.isfinite(at):
        return math.floor(at)
    return _ABOVE if at > 0 else _BELOW


class TimedIds:
    """Ids with the completedAt they were remembered at; each id once."""

    def __init__(self) -> None:
        self._at: dict[str, float] = {}
        self._buckets: dict[int, list[str]] = {}  # whole second -> ids remembered within it

    def __len__(self) -> int:
        return len(self._at)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def at(self, item_id: str) -> float | None:
        """Return the time ``item_id`` is remembered at, None if it is not remembered."""
        return self._at.get(item_id)

    def within(self, item_id: str, low: float, high: float) -> bool:
        """Tell whether ``item_id`` is remembered at a time strictly between ``low`` and ``high``."""
        at = self._at.get(item_id)
        return at is not None and low < at < high

    def add(self, ids: Mapping[str, float]) -> None:
        """Remember ``ids`` at their times (a remembered id moves, to be forgotten by its new time)."""
        for item_id, at in ids.items():
            before = self._at.get(item_id)
            if before is not None:
                if _bucket(before) == _bucket(at):
                    self._at[item_id] = at
                    continue
                self._buckets[_bucket(before)].remove(item_id)
            self._at[item_id] = at
            self._buckets.setdefault(_bucket(at), []).append(item_id)

    def forget_through(self, horizon: float) -> float | None:
        """Forget every id remembered at or below ``horizon`` (all for NaN: ``at > NaN`` is false).

        Return the latest time forgotten (None if nothing was, or only NaN).
        """
        edge = _ABOVE if math.isnan(horizon) else _bucket(horizon)
        latest: float | None = None
        for key in [key for key in self._buckets if key <= edge or key in (_BELOW, _ABOVE)]:
            ids = self._buckets.pop(key)
            kept = [item_id for item_id in ids if self._at[item_id] > horizon]
            for item_id in ids:
                at = self._at[item_id]
                if not at > horizon:  # NaN too, as a comparison with it is false
                    del self._at[item_id]
                    if not math.isnan(at) and (latest is None or at > latest):
                        latest = at
            if kept:
                self._buckets[key] = kept
        return latest

    def count_between(self, low: float, high: float) -> int:
        """Count the ids remembered at a time strictly between ``low`` and ``high``."""
        if math.isnan(low) or math.isnan(high):
            return 0  # no time compares between
        first, last = _bucket(low), _bucket(high)
        total = 0
        for key, ids in self._buckets.items():
            if key < first or key > last:
                continue
            if first < key < last and key not in (_BELOW, _ABOVE):
                total += len(ids)  # [key, key + 1) lies inside (low, high)
            else:
                total += sum(1 for item_id in ids if low < self._at[item_id] < high)
        return total
