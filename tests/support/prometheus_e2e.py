"""What the end-to-end modules that run a real Prometheus share: their marks, stored samples.

Usage::

    pytestmark = prometheus_e2e_marks()
    ...
    for series in stored_series(prometheus, 'acronis_up{job="acronis"}', window="1h", at=last_scrape):
        first_time, first_value = series.points[0]
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.prometheus import PrometheusServer, Series, prometheus_available


def prometheus_e2e_marks() -> list[pytest.MarkDecorator]:
    """Return a fresh ``pytestmark`` list: slow, needs Prometheus, skipped where it is missing."""
    return [
        pytest.mark.prometheus,
        pytest.mark.slow,
        pytest.mark.skipif(not prometheus_available(), reason="needs Debian's prometheus package"),
    ]


def stored_series(prometheus: PrometheusServer, selector: str, *, window: str, at: float) -> list[Series]:
    """Every sample Prometheus stored for each series ``selector`` matches, in ``window`` up to ``at``."""
    params = {"query": f"{selector}[{window}]", "time": repr(at)}
    body = httpx.get(f"{prometheus.url}/api/v1/query", params=params, timeout=30.0).json()
    assert body["status"] == "success", body
    return [
        Series(dict(item["metric"]), [(float(t), float(v)) for t, v in item["values"]])
        for item in body["data"]["result"]
    ]
