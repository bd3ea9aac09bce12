"""One /metrics body, parsed by client_python's own parser into samples a test can look up.

Counters here are every cumulative sample: ``*_total`` of counter families and the
``_bucket``, ``_count`` and ``_sum`` of histograms. ``decreases()`` compares two scrapes of
one process and names every cumulative sample that went down or disappeared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

SampleKey = tuple[str, frozenset[tuple[str, str]]]

_CUMULATIVE_TYPES = frozenset({"counter", "histogram"})
_CUMULATIVE_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


@dataclass(frozen=True)
class Exposition:
    """Every sample of one scrape, keyed by sample name and label set."""

    samples: Mapping[SampleKey, float]
    cumulative: frozenset[SampleKey]

    @classmethod
    def parse(cls, text: str) -> Exposition:
        """Parse a Prometheus text-format body."""
        samples: dict[SampleKey, float] = {}
        cumulative: set[SampleKey] = set()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                samples[key] = sample.value
                if family.type in _CUMULATIVE_TYPES and sample.name.endswith(_CUMULATIVE_SUFFIXES):
                    cumulative.add(key)
        return cls(samples, frozenset(cumulative))

    def matching(self, name: str, **labels: str) -> Iterator[tuple[dict[str, str], float]]:
        """Yield (labels, value) of every sample called ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        for (sample_name, label_set), value in self.samples.items():
            if sample_name == name and wanted <= label_set:
                yield dict(label_set), value

    def value(self, name: str, **labels: str) -> float | None:
        """Return the one sample with exactly these labels, or None if it is absent."""
        return self.samples.get((name, frozenset(labels.items())))

    def total(self, name: str, **labels: str) -> float:
        """Sum of every sample called ``name`` whose labels include ``labels`` (0 if none)."""
        return sum(value for _, value in self.matching(name, **labels))

    def by(self, name: str, keys: tuple[str, ...], **labels: str) -> dict[tuple[str, ...], float]:
        """Sum the samples called ``name`` grouped by the label names in ``keys``; zeros left out."""
        grouped: dict[tuple[str, ...], float] = {}
        for sample_labels, value in self.matching(name, **labels):
            group = tuple(sample_labels.get(key, "") for key in keys)
            grouped[group] = grouped.get(group, 0.0) + value
        return {group: value for group, value in grouped.items() if value}

    def decreases(self, earlier: Exposition) -> list[str]:
        """Cumulative samples of ``earlier`` that are lower or missing here, one line each."""
        problems = []
        for key in sorted(earlier.cumulative, key=repr):
            now = self.samples.get(key)
            if now is None or now < earlier.samples[key]:
                problems.append(f"{_describe(key)}: {earlier.samples[key]} -> {now}")
        return problems


def _describe(key: SampleKey) -> str:
    name, labels = key
    inner = ",".join(f'{label}="{value}"' for label, value in sorted(labels))
    return f"{name}{{{inner}}}"
