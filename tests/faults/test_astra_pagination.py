"""An Astra listing whose pages end early, or say "more" in a form no client can follow.

A real exporter process walks the Astra simulator's listing over real HTTP in pages of 40
tasks. A page without items but with a ``continue`` is followed to the rest of the listing;
a ``continue`` that is not a string, or ``metadata`` that is not an object, fails the source
with its reason and keeps the last good values: a partial listing never passes for a whole one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.astra_exporter import start_astra_exporter
from tests.support.processes import wait_until
from tests.support.scrape import Samples, scraped

if TYPE_CHECKING:
    from collections.abc import Iterator

    from simulator.astra import RunningAstra
    from tests.support.processes import ExporterProcess

pytestmark = pytest.mark.slow

UP: tuple[str, frozenset[tuple[str, str]]] = ("astra_control_up", frozenset())
STATES = ("notStarted", "running", "completed", "pausing", "paused", "cancelling", "cancelled", "failed")


@pytest.fixture(scope="module")
def exporter(astra: RunningAstra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExporterProcess]:
    """Run an Astra-only exporter listing 40 tasks a page, polling every second."""
    flags = ("--api.page-size", "40", "--api.max-retries", "0")
    with start_astra_exporter(astra, tmp_path_factory.mktemp("astra-pages"), *flags) as process:
        yield process


@pytest.fixture
def faults(astra: RunningAstra) -> Iterator[httpx.Client]:
    """Hand the test the simulator's fault switchboard; clear it after the test."""
    with httpx.Client(base_url=astra.url) as admin:
        yield admin
        admin.delete("/_sim/faults").raise_for_status()


def _by_state(samples: Samples) -> dict[str, float]:
    tasks = {key: value for (name, key), value in samples.items() if name == "astra_control_tasks"}
    return {dict(key)["state"]: value for key, value in tasks.items()}


def _truth_by_state(astra: RunningAstra) -> dict[str, float]:
    counts = httpx.get(astra.url + "/_sim/truth").json()["counts_by_state"]
    return {state: float(counts.get(state, 0)) for state in STATES}


def _polls(exporter: ExporterProcess) -> int:
    return len(exporter.events("poll_finished"))


def test_empty_pages_with_a_continue_are_followed_to_the_whole_listing(
    exporter: ExporterProcess, astra: RunningAstra, faults: httpx.Client
) -> None:
    """Every page is preceded by an empty one that says "continue": the tasks are all counted."""
    wait_until(lambda: scraped(exporter)[UP] == 1.0, timeout=60, what="astra up")
    faults.post("/_sim/faults", json={"fault": "empty_pages"}).raise_for_status()
    polls = _polls(exporter)
    wait_until(lambda: _polls(exporter) > polls + 1, timeout=60, what="whole polls under the fault")
    samples = scraped(exporter)
    assert samples[UP] == 1.0
    expected = _truth_by_state(astra)
    assert sum(expected.values()) == 150
    assert _by_state(samples) == expected


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("continue_number", "pagination"), ("continue_list", "pagination"),
     ("continue_null", "pagination"), ("metadata_not_object", "shape")],
)  # fmt: skip
def test_a_continue_no_client_can_follow_fails_the_source(
    exporter: ExporterProcess, faults: httpx.Client, kind: str, reason: str
) -> None:
    """A continue of 12345, ["x"] or null, or metadata as a string: failed with its reason, values kept."""
    labels = frozenset({("source", "astra_tasks"), ("reason", reason)})
    key = ("acronis_exporter_refresh_failures_total", labels)
    wait_until(lambda: scraped(exporter)[UP] == 1.0, timeout=60, what="astra up")
    good = _by_state(scraped(exporter))
    before = scraped(exporter)[key]
    fault: dict[str, Any] = {"fault": "body", "kind": kind, "times": None}
    faults.post("/_sim/faults", json=fault).raise_for_status()
    wait_until(lambda: scraped(exporter)[key] > before, timeout=60, what=f"a {reason} failure")
    samples = scraped(exporter)
    assert samples[UP] == 0.0
    assert _by_state(samples) == good
    assert "Traceback" not in exporter.stderr()
