"""An Astra-only exporter, as a real process, against the Astra simulator over real HTTP.

Every Astra family equals the simulator's ground truth; finished counters stay exact across
clock jumps; faults fail the source alone, with its reason, keeping the last good values;
the token never shows. Waits are on conditions, never on time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from simulator import ManualClock
from simulator.astra import AstraConfig, start_astra_simulator
from tests.support.astra_exporter import start_astra_exporter
from tests.support.processes import run_exporter, wait_until
from tests.support.scrape import Samples, scraped

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from simulator.astra import RunningAstra
    from tests.support.processes import ExporterProcess


@pytest.fixture(scope="module")
def exporter(astra: RunningAstra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExporterProcess]:
    """Run an Astra-only exporter (no Acronis settings at all), token from a file, polling every second."""
    retries = ("--api.max-retries", "0", "--api.retry-after-max", "1")
    with start_astra_exporter(astra, tmp_path_factory.mktemp("astra"), *retries) as process:
        yield process


def _family(samples: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    return {
        tuple(dict(key)[label] for label in labels): value
        for (sample, key), value in samples.items()
        if sample == name
    }


def _truth(astra: RunningAstra, finished_after: float) -> dict[str, Any]:
    truth: dict[str, Any] = httpx.get(
        astra.url + "/_sim/truth", params={"finished_after": str(finished_after)}
    ).json()
    return truth


def _expected(truth: dict[str, Any]) -> dict[str, dict[tuple[str, ...], float]]:
    return {
        "tasks": {(s,): float(truth["counts_by_state"].get(s, 0)) for s in (
            "notStarted", "running", "completed", "pausing", "paused", "cancelling", "cancelled", "failed")},
        "open": {(g["name"], g["state"]): float(g["count"]) for g in truth["open"]},
        "oldest": {(g["name"], g["state"]): float(g["start"]) for g in truth["oldest_open"]},
        "finished": {(g["name"], g["state"]): float(g["count"]) for g in truth["finished"]},
        "count": {(g["name"], g["state"]): float(g["count"]) for g in truth["durations"]},
        "sum": {(g["name"], g["state"]): float(g["sum"]) for g in truth["durations"]},
    }  # fmt: skip


def _shown(samples: Samples) -> dict[str, dict[tuple[str, ...], float]]:
    def nonzero(name: str) -> dict[tuple[str, ...], float]:
        return {key: value for key, value in _family(samples, name, "name", "state").items() if value}

    return {
        "tasks": _family(samples, "astra_control_tasks", "state"),
        "open": _family(samples, "astra_control_open_tasks", "name", "state"),
        "oldest": _family(samples, "astra_control_oldest_open_task_start_timestamp_seconds", "name", "state"),
        "finished": nonzero("astra_control_tasks_finished_total"),
        "count": nonzero("astra_control_task_duration_seconds_count"),
        "sum": nonzero("astra_control_task_duration_seconds_sum"),
    }


def _matches_truth(exporter: ExporterProcess, astra: RunningAstra, baseline: float) -> bool:
    return _shown(scraped(exporter)) == _expected(_truth(astra, baseline))


def test_every_astra_family_equals_the_truth_across_clock_jumps(
    exporter: ExporterProcess, astra: RunningAstra
) -> None:
    """Tasks per state, open, oldest, finished counters and durations: exact, also after an hour's jump."""
    baseline = astra.clock.now()  # the clock has not moved since the first poll: the baseline listing
    wait_until(lambda: _matches_truth(exporter, astra, baseline), timeout=60, what="families equal truth")
    for seconds in (300, 3600, 20):
        astra.world.advance(seconds)
        wait_until(
            lambda: _matches_truth(exporter, astra, baseline), timeout=60, what=f"truth after +{seconds}s"
        )
    samples = scraped(exporter)
    assert samples[("astra_control_up", frozenset())] == 1.0
    assert sum(_family(samples, "astra_control_tasks_finished_total", "name", "state").values()) > 0
    assert astra.config.token not in exporter.get("/metrics").text + exporter.stderr()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [({"fault": "fail", "status": 500, "times": None}, "http_5xx"),
     ({"fault": "fail", "status": 429, "retry_after": 1000, "times": None}, "throttled"),
     ({"fault": "revoke_token"}, "auth"),
     ({"fault": "body", "kind": "deep_nesting", "times": None}, "decode")],
)  # fmt: skip
def test_a_fault_fails_the_source_alone_and_keeps_the_last_good_values(
    exporter: ExporterProcess, astra: RunningAstra, fault: dict[str, Any], reason: str
) -> None:
    """source_up and astra_control_up 0, the failure counted with its reason, the families unchanged."""
    key = (
        "acronis_exporter_refresh_failures_total",
        frozenset({("source", "astra_tasks"), ("reason", reason)}),
    )
    good = _shown(scraped(exporter))
    before = scraped(exporter)[key]
    httpx.post(astra.url + "/_sim/faults", json=fault).raise_for_status()
    try:
        wait_until(lambda: scraped(exporter)[key] > before, timeout=60, what=f"a {reason} failure")
        samples = scraped(exporter)
        assert samples[("astra_control_up", frozenset())] == 0.0
        assert samples[("acronis_exporter_source_up", frozenset({("source", "astra_tasks")}))] == 0.0
        assert _shown(samples) == good
    finally:
        httpx.delete(astra.url + "/_sim/faults").raise_for_status()
    wait_until(
        lambda: scraped(exporter)[("astra_control_up", frozenset())] == 1.0,
        timeout=60,
        what="recovery",
    )


def test_undocumented_states_and_no_count_are_tolerated(
    exporter: ExporterProcess, astra: RunningAstra
) -> None:
    """An unknown state is counted under __other__ and the source stays up."""
    httpx.post(
        astra.url + "/_sim/faults", json={"fault": "unknown_state", "state": "queued"}
    ).raise_for_status()
    try:
        wait_until(
            lambda: _family(scraped(exporter), "astra_control_tasks", "state").get(("__other__",), 0) > 0,
            timeout=60, what="unknown states under __other__",
        )  # fmt: skip
        assert scraped(exporter)[("astra_control_up", frozenset())] == 1.0
    finally:
        httpx.delete(astra.url + "/_sim/faults").raise_for_status()


_COUNTED = ("astra_control_tasks_finished_total", "astra_control_task_duration_seconds")


def test_every_counter_and_histogram_series_is_first_shown_at_zero(tmp_path: Path) -> None:
    """A finished series born after the baseline is first scraped at 0, so increase() sees its events.

    The hold runs from a series' first exposure, so the first scrape that shows one must show 0.
    """
    config = AstraConfig(tasks=150, open_tasks=20, seed=5)
    with start_astra_simulator(config, ManualClock()) as sim, start_astra_exporter(sim, tmp_path) as process:
        baseline = sim.clock.now()
        up: tuple[str, frozenset[tuple[str, str]]] = ("astra_control_up", frozenset())
        wait_until(lambda: scraped(process)[up] == 1.0, timeout=60, what="a first poll")
        sim.world.advance(600)
        first_shown: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}

        def finished_shown() -> bool:
            samples = scraped(process)
            for key, value in samples.items():
                if key[0].startswith(_COUNTED) and not key[0].endswith("_created"):
                    first_shown.setdefault(key, value)
            return _shown(samples)["finished"] == _expected(_truth(sim, baseline))["finished"] != {}

        wait_until(finished_shown, timeout=60, what="the finished tasks counted")
    assert first_shown
    assert {key: value for key, value in first_shown.items() if value} == {}


@pytest.mark.parametrize(
    ("args", "names"),
    [([], "api.url"), (["--astra.url", "http://127.0.0.1:1"], "astra.account_id"),
     (["--astra.url", "http://127.0.0.1:1", "--astra.account-id", "a"], "astra.token")],
)  # fmt: skip
def test_without_a_usable_source_the_cli_says_so_in_one_line(
    args: list[str], names: str, tmp_path: Path
) -> None:
    """Neither Acronis nor a complete Astra section: exit 2 and one line naming the setting."""
    del tmp_path
    result = run_exporter([*args, "--once"], timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert names in result.stderr
