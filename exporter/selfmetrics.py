"""The exporter's own counters, instrumented directly, and the closed vocabularies of their labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from exporter.catalogue import (
    API_LATENCY_BUCKETS,
    API_REQUEST_DURATION,
    API_REQUEST_FAILURES,
    API_REQUESTS,
    API_RETRIES,
    API_THROTTLED,
    POLL_CRASHES,
    REFRESH_FAILURES,
    REFRESHES,
    TOKEN_EXPIRY,
    TOKEN_REQUEST_FAILURES,
    TOKEN_REQUESTS,
)
from exporter.sources import OPT_IN, SOURCE_NAMES

if TYPE_CHECKING:
    from exporter.catalogue import MetricSpec

SOURCES: Final = tuple(
    SOURCE_NAMES,  # the registry (exporter/sources/__init__.py) is the one list of sources
)
# Closed vocabularies of the self-metrics' labels (errors.py, transport.endpoint_of, config),
# initialised at 0 so that increase() counts a series' very first event too.
# The reasons a refresh or a request fails with: a closed vocabulary, as they are label
# values (README). too_large: a reply over --api.max-reply-bytes (or the token reply's cap);
# clock: the API's clock stepped back behind completions already counted and forgotten
# (api_clock.py); internal: a bug in one source's work (outcomes.py), which fails that source alone.
FAILURE_REASONS: Final = (
    *("timeout", "connect", "http_4xx", "http_5xx", "throttled", "auth", "forbidden"),
    *("decode", "shape", "too_large", "pagination", "clock", "internal"),
)
ENDPOINTS: Final = ("/tasks", "/activities", "/tasks/{id}", "/activities/{id}", "/idp/token", "/astra/tasks")
GRANT_TYPES: Final = ("client_credentials", "password")


class SelfMetrics:
    """The exporter's own counters, instrumented directly as the requests happen.

    One instance per registry, shared by the HTTP client, the token source and the poller.
    Every label set of a closed vocabulary exists at 0 from the start.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(spec: MetricSpec) -> Counter:
            return Counter(spec.name, spec.help, spec.labels, registry=registry)

        self.refreshes = counter(REFRESHES)
        self.refresh_failures = counter(REFRESH_FAILURES)
        self.api_requests = counter(API_REQUESTS)
        self.api_request_failures = counter(API_REQUEST_FAILURES)
        self.api_retries = counter(API_RETRIES)
        self.api_throttled_seconds = counter(API_THROTTLED)
        self.token_requests = counter(TOKEN_REQUESTS)
        self.token_request_failures = counter(TOKEN_REQUEST_FAILURES)
        self.poll_crashes = counter(POLL_CRASHES)
        self.api_request_duration = Histogram(
            API_REQUEST_DURATION.name,
            API_REQUEST_DURATION.help,
            API_REQUEST_DURATION.labels,
            buckets=API_LATENCY_BUCKETS,
            registry=registry,
        )
        self.token_expiry = Gauge(TOKEN_EXPIRY.name, TOKEN_EXPIRY.help, registry=registry)
        self._initialise_closed_vocabularies()

    def _initialise_closed_vocabularies(self) -> None:
        for source in (*SOURCES, *sorted(OPT_IN)):  # an opt-in source's counters too, zero-first
            self.refreshes.labels(source=source)
            for reason in FAILURE_REASONS:
                self.refresh_failures.labels(source=source, reason=reason)
        for endpoint in ENDPOINTS:
            self.api_request_duration.labels(endpoint=endpoint)
            for reason in FAILURE_REASONS:
                self.api_request_failures.labels(endpoint=endpoint, reason=reason)
                self.api_retries.labels(endpoint=endpoint, reason=reason)
        for grant_type in GRANT_TYPES:
            self.token_requests.labels(grant_type=grant_type)
            for reason in FAILURE_REASONS:
                self.token_request_failures.labels(grant_type=grant_type, reason=reason)
