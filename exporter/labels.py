"""Series keys by label name: a family's labels are declared once, in its catalogue spec.

A key is a ``Labels`` record, built with ``series(spec, queue=..., state=...)`` and read
back by name (``key["queue"]``), never by position: nothing has to remember an order from
a comment. ``series`` raises on a label the spec does not declare or a missing one, so a
key and its family cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exporter.catalogue import MetricSpec


class Labels(Mapping[str, str]):
    """An immutable, hashable series key: label values by label name.

    Two keys are equal when they name the same labels with the same values; the labels
    keep the order their spec declares, which is the order rendering shows them in.
    """

    __slots__ = ("_hash", "_names", "_values")

    def __init__(self, names: tuple[str, ...], values: tuple[str, ...]) -> None:
        if len(names) != len(values):
            message = f"labels {names} do not fit values {values}"
            raise ValueError(message)
        self._names = names
        self._values = values
        self._hash = hash(values)  # keys of one family differ in values only

    def __getitem__(self, name: str) -> str:
        try:
            return self._values[self._names.index(name)]
        except ValueError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._values == other._values and self._names == other._names
        return super().__eq__(other)

    def __repr__(self) -> str:
        return f"Labels({dict(self)!r})"

    def replace(self, **changes: str) -> Labels:
        """Return this key with the named labels set to new values (each must be one of its labels)."""
        if not changes.keys() <= set(self._names):
            message = f"labels {self._names} have none named {sorted(changes.keys() - set(self._names))}"
            raise ValueError(message)
        return Labels(
            self._names,
            tuple(changes.get(name, value) for name, value in zip(self._names, self._values, strict=True)),
        )

    def pick(self, names: Sequence[str]) -> tuple[str, ...]:
        """Return the values of ``names``, in that order (raises KeyError for a label it lacks)."""
        return tuple(self[name] for name in names)


Key = Labels


def series(spec: MetricSpec, **values: str) -> Labels:
    """Return the key of the ``spec`` series with these label values, given by name."""
    names = spec.labels
    # As many values as labels, each label found among them: the same names (a spec declares
    # each once). A poll builds a key per group, so no set is built to check it.
    if len(values) == len(names):
        try:
            return Labels(tuple(names), tuple([values[name] for name in names]))
        except KeyError:
            pass
    message = f"{spec.name} has labels {spec.labels}, not {tuple(values)}"
    raise ValueError(message)


def fits(spec: MetricSpec, key: Mapping[str, str]) -> bool:
    """Tell whether ``key`` names exactly the labels ``spec`` declares."""
    return set(key) == set(spec.labels) and len(key) == len(spec.labels)
