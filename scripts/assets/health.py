"""The exporter health dashboard: is the data fresh, and how is the exporter treating the API."""

from __future__ import annotations

from scripts.assets.grafana import Dashboard, Panel, Row, Target, metric
from scripts.assets.health_cardinality import CARDINALITY
from scripts.assets.panels import RATE, WARN_IF_ANY, increase_by, per_minute, quantiles, share, stat
from scripts.assets.variables import scope_variables

OK_OR_FAILING = (
    {
        "type": "value",
        "options": {
            "0": {"text": "Failing", "color": "red", "index": 0},
            "1": {"text": "OK", "color": "green", "index": 1},
        },
    },
)
RED_UNLESS_ONE = ((None, "red"), (1, "green"))
NOT_2XX = 'code!~"2.."'
API_REQUESTS = "acronis_exporter_api_requests_total"


def up_or_failing(title: str, description: str, up_metric: str) -> Panel:
    """Show a 0/1 health gauge as OK or Failing: its lowest value over the chosen instances."""
    return stat(
        title,
        description,
        "none",
        Target(f"min({metric(up_metric)})"),
        width=4,
        thresholds=RED_UNLESS_ONE,
        mappings=OK_OR_FAILING,
    )


STATUS = Row(
    "Status",
    (
        up_or_failing(
            "Exporter up", "acronis_up: OK when the last poll refreshed every Acronis source.", "acronis_up"
        ),
        up_or_failing(
            "Scrape target up",
            "Prometheus' own up metric for the exporter: OK when the last scrape worked.",
            "up",
        ),
        stat(
            "Version",
            "Exporter version and revision, from acronis_exporter_build_info.",
            "none",
            Target(metric("acronis_exporter_build_info"), "{{version}} ({{revision}})", instant=True),
            width=4,
            options={"textMode": "name", "colorMode": "none", "graphMode": "none"},
        ),
        stat(
            "Access token expires in",
            "Time left on the cached OAuth2 access token. The exporter renews it 15 minutes early "
            "by default, so this should never drop far below that.",
            "s",
            Target(f"min({metric('acronis_exporter_token_expiry_timestamp_seconds')}) - time()"),
            width=4,
            thresholds=((None, "red"), (300, "orange"), (900, "green")),
        ),
        stat(
            "Tenants folded",
            'Tenants beyond --metrics.max-tenants whose series were folded into tenant_id="__other__".',
            "short",
            Target(f"max({metric('acronis_exporter_tenants_folded')})"),
            width=4,
            thresholds=WARN_IF_ANY,
            no_value="0",
        ),
        stat(
            "Poll crashes and render failures, last 24 hours",
            "Polls that ended in an unexpected error, and metric families left out of a scrape "
            "because they failed to render: bugs worth reporting with the log.",
            "short",
            Target(
                f"sum(increase({metric('acronis_exporter_poll_crashes_total')}[24h])) + "
                f"sum(increase({metric('acronis_exporter_render_failures_total')}[24h]))"
            ),
            width=4,
            thresholds=WARN_IF_ANY,
            no_value="0",
        ),
    ),
)

SOURCES = Row(
    "Sources",
    (
        Panel(
            "Source status",
            "Whether each source refreshed in each poll. A failing source keeps serving its last "
            "good values.",
            "none",
            (Target(f"max by (source) ({metric('acronis_exporter_source_up')})", "{{source}}"),),
            kind="state-timeline",
            thresholds=RED_UNLESS_ONE,
            mappings=OK_OR_FAILING,
        ),
        Panel(
            "Time since last success",
            "How old each source's data is, beside the poll interval it should stay near. "
            "AcronisExporterDataStale fires past three intervals.",
            "s",
            (
                Target(
                    f"time() - max by (source) ({metric('acronis_exporter_last_success_timestamp_seconds')})",
                    "{{source}}",
                ),
                Target(f"max({metric('acronis_exporter_poll_interval_seconds')})", "poll interval"),
            ),
        ),
        Panel(
            "Refresh duration",
            "How long each source took in the last poll. Near the poll interval means polls overlap it.",
            "s",
            (
                Target(
                    f"max by (source) ({metric('acronis_exporter_refresh_duration_seconds')})", "{{source}}"
                ),
            ),
        ),
        Panel(
            "Refresh failures",
            "Failed source refreshes per interval, by source and reason (auth, throttled, http_5xx, ...).",
            "short",
            (
                Target(
                    increase_by("acronis_exporter_refresh_failures_total", "source, reason"),
                    "{{source}} {{reason}}",
                ),
            ),
            no_value="0",
        ),
        Panel(
            "Refreshes",
            "Source refreshes attempted per minute.",
            "cpm",
            (
                Target(
                    per_minute("acronis_exporter_refreshes_total", "source"),
                    "{{source}}",
                ),
            ),
        ),
        Panel(
            "Completion watermark lag",
            "How far behind now the completion counters are (completedAt counted up to).",
            "s",
            (
                Target(
                    f"time() - max by (kind) ({metric('acronis_exporter_watermark_timestamp_seconds')})",
                    "{{kind}}",
                ),
            ),
        ),
    ),
)

API = Row(
    "Acronis API",
    (
        Panel(
            "API requests by endpoint and code",
            "HTTP requests the exporter sent to the Acronis API per second, by route and status code.",
            "reqps",
            (
                Target(
                    f"sum by (endpoint, code) (rate({metric('acronis_exporter_api_requests_total')}{RATE}))",
                    "{{endpoint}} {{code}}",
                ),
            ),
        ),
        Panel(
            "API error ratio",
            "Share of API requests per endpoint answered with anything but 2xx (401 on token "
            "expiry included).",
            "percentunit",
            (
                Target(
                    share(
                        f"sum by (endpoint) (rate({metric(API_REQUESTS, NOT_2XX)}{RATE}))",
                        f"sum by (endpoint) (rate({metric(API_REQUESTS)}{RATE}))",
                    ),
                    "{{endpoint}}",
                ),
            ),
            no_value="0",
        ),
        Panel(
            "API request failures",
            "Requests that failed per interval, by endpoint and reason (timeout, connect, http_5xx, ...).",
            "short",
            (
                Target(
                    increase_by("acronis_exporter_api_request_failures_total", "endpoint, reason"),
                    "{{endpoint}} {{reason}}",
                ),
            ),
            no_value="0",
        ),
        Panel(
            "API latency",
            "Percentiles of the API's response time, over every endpoint.",
            "s",
            quantiles("acronis_exporter_api_request_duration_seconds"),
        ),
        Panel(
            "Retries",
            "Requests retried per interval, by endpoint and reason (throttled: a 429 or 503 "
            "with Retry-After).",
            "short",
            (
                Target(
                    increase_by("acronis_exporter_api_retries_total", "endpoint, reason"),
                    "{{endpoint}} {{reason}}",
                ),
            ),
            no_value="0",
        ),
        Panel(
            "Time spent throttled",
            "Share of the time the exporter spent waiting as told by Retry-After.",
            "percentunit",
            (
                Target(
                    f"sum(rate({metric('acronis_exporter_api_throttled_seconds_total')}{RATE}))", "throttled"
                ),
            ),
            no_value="0",
        ),
        Panel(
            "Token requests",
            "Access tokens requested per interval (first token and renewals), and failed requests.",
            "short",
            (
                Target(
                    increase_by("acronis_exporter_token_requests_total", "grant_type"),
                    "requested {{grant_type}}",
                ),
                Target(
                    increase_by("acronis_exporter_token_request_failures_total", "grant_type, reason"),
                    "failed {{grant_type}} {{reason}}",
                ),
            ),
            width=24,
            no_value="0",
        ),
    ),
)

HEALTH = Dashboard(
    uid="acronis-task-exporter-health",
    title="Acronis Task Manager / Exporter health",
    description="Whether acronis-task-exporter's data is fresh, what each poll costs, and how "
    "the Acronis API answers it: sources, requests, errors, throttling, tokens, cardinality.",
    rows=(STATUS, SOURCES, API, CARDINALITY),
    variables=scope_variables(),
)
