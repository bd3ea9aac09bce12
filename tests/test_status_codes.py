"""The ``code`` label of the request counters holds known statuses and classes, whatever the API answers.

A hostile API (``tests/support/hostile_api.py``, over real HTTP) answers statuses HTTP does
not define (``209``, ``600``, ``999``): each would otherwise become a series of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from exporter.auth import build_auth
from exporter.client import TaskManagerClient
from exporter.config import ApiSettings
from exporter.errors import ApiError
from exporter.selfmetrics import SelfMetrics
from exporter.status_codes import code_label
from tests.support.hostile_api import CLIENT_ID, CLIENT_SECRET, ODD_STATUSES, HostileApi

if TYPE_CHECKING:
    from collections.abc import Iterator

FAMILY = "acronis_exporter_api_requests"


@pytest.fixture
def api() -> Iterator[HostileApi]:
    """Start a hostile API that behaves until a test tells it otherwise."""
    with HostileApi() as stub:
        yield stub


def test_undefined_statuses_fold_into_their_class(api: HostileApi) -> None:
    """Replies of 209, 299, 599, 600 and 999 are counted as 2xx, 5xx and other; 418 and 451 stay."""
    settings = ApiSettings(
        url=api.url, client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), max_retries=0, timeout=10.0
    )
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    api.set("api", "odd_status")
    with TaskManagerClient(settings, build_auth(settings, metrics), metrics) as client:
        for _ in range(3 * len(ODD_STATUSES)):
            with pytest.raises(ApiError):
                client.count("tasks")
    counted = {
        (sample.labels["endpoint"], sample.labels["code"]): sample.value
        for family in registry.collect()
        if family.name == FAMILY
        for sample in family.samples
        if sample.name == f"{FAMILY}_total" and sample.value
    }
    assert counted == {
        ("/idp/token", "200"): 1,
        ("/tasks", "2xx"): 6,
        ("/tasks", "418"): 3,
        ("/tasks", "4xx"): 3,
        ("/tasks", "451"): 3,
        ("/tasks", "5xx"): 3,
        ("/tasks", "other"): 6,
    }


def test_every_status_line_number_maps_onto_a_few_dozen_label_values() -> None:
    """All of 100..999 give at most 70 values; the statuses an API answers with keep theirs."""
    assert len({code_label(status) for status in range(100, 1000)}) <= 70
    for status in (200, 201, 204, 206, 301, 304, 308, 400, 401, 403, 404, 409, 429, 431, 500, 502, 503, 504):
        assert code_label(status) == str(status)
    assert [code_label(status) for status in (103, 250, 420, 512, 600, 999)] == [
        "other",
        "2xx",
        "4xx",
        "5xx",
        "other",
        "other",
    ]
