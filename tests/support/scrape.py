"""An exposition read back with the real parser: every sample keyed by its name and labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from tests.support.processes import ExporterProcess

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]  # (sample name, labels) -> value


def parse_samples(text: str) -> Samples:
    """Parse a Prometheus text-format body: (sample name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scraped(exporter: ExporterProcess) -> Samples:
    """Scrape the exporter's /metrics once (a non-2xx fails the test) and parse it."""
    return parse_samples(exporter.get("/metrics").raise_for_status().text)
