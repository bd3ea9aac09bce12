"""Ids of completions dated after the API's own time, remembered only while the API lists them.

The tracker forgets an id once H passes its completedAt (completions.py). A completion dated
after the API's time (a writer's clock in the future, a year 9999) is far past H, so H would
never forget it: a writer stamping fresh ids with such dates grew memory without end. These
ids are kept apart instead, for as long as walks list them: an id dated ahead that a walk
reached and did not list again is forgotten. So memory stays within what one walk lists
(plus, after a walk cut off by the page budget, the ids dated past where it stopped).
An id that comes back to the present keeps being recognised: it moves to the ordinary ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from exporter.api_clock import DATE_RESOLUTION

if TYPE_CHECKING:
    from collections.abc import Mapping


class Remembered(Protocol):
    """Ids remembered with the completedAt each is remembered at."""

    def at(self, item_id: str) -> float | None:
        """Return the time ``item_id`` is remembered at, None if it is not remembered."""


class AheadIds:
    """The ids dated after the API's time that recent walks listed, with their completedAt."""

    def __init__(self, ids: Mapping[str, float] | None = None) -> None:
        self._at: dict[str, float] = dict(ids or {})

    def __len__(self) -> int:
        return len(self._at)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._at

    def at(self, item_id: str) -> float | None:
        """Return the completedAt ``item_id`` was last listed at, None if it is not remembered."""
        return self._at.get(item_id)

    def after(
        self, listed: Mapping[str, float], now: float | None, reach: float | None
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Split a walk's ``listed`` ids (new ones, and known ones dated ahead) into (ahead, ordinary).

        ``now``: the API's time at the end of the walk (None: unknown, everything stays as it
        was); ``reach``: where a cut-off walk stopped (None: it listed everything).
        """
        if now is None:
            ahead = {key: at for key, at in listed.items() if key in self._at}
            return self._at | ahead, {key: at for key, at in listed.items() if key not in self._at}
        latest = now + DATE_RESOLUTION  # a Date is whole seconds: up to a second past it is now
        ahead = {key: at for key, at in listed.items() if at > latest}
        ordinary = {key: at for key, at in listed.items() if not at > latest}  # NaN: the ordinary way
        if reach is not None:  # what a cut-off walk did not reach, it could not list again
            ahead |= {key: at for key, at in self._at.items() if key not in listed and at > reach}
        return ahead, ordinary


class Known:
    """The ids a walk already knows: the ordinary ones and those dated ahead."""

    def __init__(self, *sets: Remembered) -> None:
        self._sets = sets

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and self.at(item_id) is not None

    def at(self, item_id: str) -> float | None:
        """Return the time ``item_id`` is remembered at in the first set that has it, else None."""
        return next((at for ids in self._sets if (at := ids.at(item_id)) is not None), None)
