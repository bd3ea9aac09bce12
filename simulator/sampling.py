"""Fast weighted draws: `random.choices` costs microseconds, and start-up makes millions."""

from __future__ import annotations

import bisect
import itertools
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

T = TypeVar("T")


class Weighted(Generic[T]):
    """A fixed set of values with weights, drawn with one `random()` and a bisection."""

    def __init__(self, values: Sequence[T], weights: Sequence[float]) -> None:
        # The last value twice: a draw that rounds up to the total lands past the end.
        self._values = (*values, values[-1])
        self._cumulative = list(itertools.accumulate(weights))
        self._total = self._cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        """Draw one value."""
        return self._values[bisect.bisect_right(self._cumulative, rng.random() * self._total)]


def pick(rng: random.Random, values: Sequence[T]) -> T:
    """Draw one value uniformly (cheaper than `rng.choice`)."""
    return values[int(rng.random() * len(values))]
