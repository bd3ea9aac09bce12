"""Series keys by label name: a family's labels are declared once, in its catalogue spec.

A key is built with ``series(spec, queue=..., state=...)``, never by writing a tuple in an
order remembered from a comment, and read back with ``named`` (rendering.py), which drops
labels by name. Either raises on a label the spec does not declare or a missing one, so a
key and its family cannot drift apart unnoticed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exporter.catalogue import MetricSpec

Key = tuple[str, ...]  # one value per label of its spec, as ``series`` arranges them


def series(spec: MetricSpec, **values: str) -> Key:
    """Return the key of the ``spec`` series with these label values, given by name."""
    if len(values) != len(spec.labels) or not values.keys() <= set(spec.labels):
        message = f"{spec.name} has labels {spec.labels}, not {tuple(values)}"
        raise ValueError(message)
    return tuple(values[name] for name in spec.labels)


def named(spec: MetricSpec, key: Sequence[str]) -> dict[str, str]:
    """Return a key's label values by name (raises when it does not fit ``spec``)."""
    return dict(zip(spec.labels, key, strict=True))
