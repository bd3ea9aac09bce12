"""The health dashboard's last row: what the exporter costs in series, memory and CPU."""

from __future__ import annotations

from scripts.assets.grafana import Panel, Row, Target, metric
from scripts.assets.panels import RATE, increase_by

CARDINALITY = Row(
    "Cardinality and process",
    (
        Panel(
            "Label values folded",
            'Distinct values of each label folded into "__other__" by the cardinality caps.',
            "short",
            (
                Target(f"max by (label) ({metric('acronis_exporter_label_values_folded')})", "{{label}}"),
                Target(f"max({metric('acronis_exporter_tenants_folded')})", "tenants"),
            ),
            no_value="0",
        ),
        Panel(
            "Items skipped",
            "Listed items the exporter could not use per interval (missing or invalid fields), "
            "by source and reason.",
            "short",
            (
                Target(
                    increase_by("acronis_exporter_items_skipped_total", "source, reason"),
                    "{{source}} {{reason}}",
                ),
            ),
            no_value="0",
        ),
        Panel(
            "Samples per scrape",
            "Samples Prometheus took from the exporter per scrape: the series the exporter costs.",
            "short",
            (Target(metric("scrape_samples_scraped"), "{{instance}}"),),
        ),
        Panel(
            "Scrape duration",
            "How long Prometheus took to scrape /metrics (served from the cached poll, so it stays small).",
            "s",
            (Target(metric("scrape_duration_seconds"), "{{instance}}"),),
        ),
        Panel(
            "Memory",
            "Resident memory of the exporter process.",
            "bytes",
            (Target(metric("process_resident_memory_bytes"), "{{instance}}"),),
        ),
        Panel(
            "CPU",
            "CPU time the exporter process used, as a share of one core.",
            "percentunit",
            (Target(f"rate({metric('process_cpu_seconds_total')}{RATE})", "{{instance}}"),),
        ),
    ),
)
