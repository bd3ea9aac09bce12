"""The live part of /metrics (the exporter's own registry), rendered again only when it changed.

Rendering the ~300 series of the exporter's own counters, process_* and python_* costs
several times more CPU than serving the cached data families, and most scrapes would
render exactly the same bytes again. So the tail is kept per format and rendered anew when

- a poll was published (the zero-first hold of the own counters is anchored on polls),
- any directly instrumented metric of the registry (``selfmetrics.SelfMetrics``) changed
  value: a cheap fingerprint of their values, read without collecting them, tells,
- a family was left out of a rendering (the render-failure counter moved), or
- it is older than ``max_age``: process_* and python_* are read from the process, not
  instrumented, and may lag by at most that.

A counter incremented just before a scrape is therefore in that scrape, as before.
"""

from __future__ import annotations

import operator
import threading
import time
from typing import TYPE_CHECKING, Final, Generic, Protocol, TypeVar

from prometheus_client.metrics import MetricWrapperBase

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterator

    from prometheus_client import CollectorRegistry

# How stale process_* and python_* may be in a scrape: far below a scrape interval, yet one
# render (~5 ms) per 5 s costs paced scrapers little.
MAX_AGE_SECONDS: Final = 5.0
F = TypeVar("F", bound=str)  # the exposition formats
_BARE_VALUE: Final = operator.attrgetter("_value")
_DICT_VALUE: Final = operator.itemgetter("_value")


class _Value(Protocol):
    _value: float


class LiveTail(Generic[F]):
    """One rendering of the live registry per format, reused while nothing in it moved."""

    def __init__(
        self,
        registry: CollectorRegistry,
        render: Callable[[F], bytes],
        version: Callable[[], Hashable],
        max_age: float = MAX_AGE_SECONDS,
    ) -> None:
        self._fingerprint = Fingerprint(registry)
        self._render = render
        self._version = version  # whatever else invalidates the tail (generation, failure count)
        self._max_age = max_age
        self._cache: dict[F, tuple[Hashable, float, bytes]] = {}
        self._lock = threading.Lock()  # concurrent scrapers of a changed tail wait for one render

    def current(self, fmt: F) -> tuple[Hashable, bytes]:
        """Return (a key that changes whenever the bytes do, the tail in ``fmt``)."""
        key = (self._version(), self._fingerprint())
        now = time.monotonic()
        cached = self._cache.get(fmt)
        if cached is not None and cached[0] == key and now - cached[1] < self._max_age:
            return (key, cached[1]), cached[2]
        with self._lock:
            cached = self._cache.get(fmt)
            if cached is None or cached[0] != key or now - cached[1] >= self._max_age:
                cached = (key, time.monotonic(), self._render(fmt))
                self._cache[fmt] = cached
        return (key, cached[1]), cached[2]


class Fingerprint:
    """Every value of a registry's instrumented metrics, read without collecting them.

    Collecting builds a Metric and a Sample per series; this only reads the numbers, two
    orders of magnitude cheaper. Custom collectors (process_*, build info) are not covered.
    client_python has no public "did anything change", so its internals are read here:
    pinned by the locked version, covered by tests/test_server.py's live-counter test.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._collectors = -1
        self._wrappers: list[MetricWrapperBase] = []
        self._shape: list[int] = []
        self._cells: tuple[_Value, ...] = ()
        self._dicts: tuple[dict[str, float], ...] | None = ()

    def __call__(self) -> tuple[float, ...]:
        """Return the values now; equal tuples mean nothing instrumented moved."""
        collectors = self._registry._collector_to_names  # noqa: SLF001
        if len(collectors) != self._collectors:  # registered at start-up; looked for once
            self._collectors = len(collectors)
            self._wrappers = [c for c in tuple(collectors) if isinstance(c, MetricWrapperBase)]
            self._shape = []
        shape = [len(wrapper._metrics) if wrapper._labelnames else 1 for wrapper in self._wrappers]  # noqa: SLF001
        if shape != self._shape:  # a label set was added: find the cells again
            self._shape, self._cells = shape, tuple(_value_cells(self._wrappers))
            self._dicts = _instance_dicts(self._cells)
        # The bare float, not get(): a read needs no lock, and a mutex per cell is most of the cost.
        if self._dicts is None:
            return tuple(map(_BARE_VALUE, self._cells))
        return tuple(map(_DICT_VALUE, self._dicts))


def _instance_dicts(cells: tuple[_Value, ...]) -> tuple[dict[str, float], ...] | None:
    """Return the cells' instance dicts if each holds its value there (a dict lookup is half a getattr)."""
    dicts: list[dict[str, float]] = []
    for cell in cells:
        held = getattr(cell, "__dict__", None)
        if not isinstance(held, dict) or "_value" not in held:  # a slot or a property: read it by name
            return None
        dicts.append(held)
    return tuple(dicts)


def _value_cells(wrappers: list[MetricWrapperBase]) -> Iterator[_Value]:
    for wrapper in wrappers:
        children = tuple(wrapper._metrics.values()) if wrapper._labelnames else (wrapper,)  # noqa: SLF001
        for child in children:
            for cell in ("_value", "_sum", "_count"):
                value = getattr(child, cell, None)
                if value is not None:
                    yield value
            yield from getattr(child, "_buckets", ())
