"""Longest modules first, so that two workers finish together instead of one waiting on a slow tail.

pytest-xdist (``--dist loadfile``) hands whole modules to workers in collection order: the
first batch round-robin, the rest to whichever worker is free. A slow module collected
last keeps one worker busy for minutes after the other has run out of work. Sorting the
modules by their known cost, largest first, is the classic longest-processing-time rule.

xdist re-sorts the modules by their number of tests unless ``loadscopereorder`` is off,
which would undo this order: ``tests/conftest.py`` switches it off.

The costs are worker seconds per module (setup, call and teardown of its tests, summed from
``--junitxml`` of a 2-worker run on a 2-core machine, 2026-12-02), rounded to 5; a module
not listed counts as cheap and keeps its collection order.
Update the list when a module's cost changes by much.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pytest

MODULE_SECONDS: Final = {
    "tests/faults/test_hostile_values.py": 160,
    "tests/faults/test_transport.py": 100,
    "tests/faults/test_auth.py": 85,
    "tests/faults/test_payloads.py": 75,
    "tests/faults/test_astra_hostile.py": 75,
    "tests/faults/test_completion_edges.py": 70,
    "tests/test_cli_conventions.py": 65,
    "tests/test_restart_increase.py": 60,
    "tests/test_astra_e2e.py": 60,
    "tests/test_bench_smoke.py": 55,
    "tests/faults/test_clock_skew.py": 50,
    "tests/test_healthcheck.py": 50,
    "tests/test_typed_scan.py": 50,
    "tests/test_cli_errors.py": 50,
    "tests/faults/test_hostile_api.py": 50,
    "tests/test_secrets.py": 45,
    "tests/deploy/test_helm_chart.py": 40,
    "tests/faults/test_lifecycle.py": 35,
    "tests/faults/test_hostile_review.py": 35,
    "tests/test_web_config.py": 35,
    "tests/deploy/test_image_build.py": 30,
    "tests/test_sharding.py": 30,
    "tests/test_main.py": 30,
    "tests/test_resources_e2e.py": 30,
    "tests/deploy/test_dashboards.py": 30,
    "tests/test_resources_hostile.py": 25,
    "tests/test_server.py": 25,
    "tests/test_properties.py": 25,
    "tests/simulator/test_listing.py": 25,
    "tests/test_poller.py": 25,
}


def module_of(item: pytest.Item) -> str:
    """Return an item's module path relative to the repository, as the table names it."""
    return item.nodeid.split("::", 1)[0]


def longest_modules_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: modules by descending cost, each module's tests kept in order."""
    position = {module: index for index, module in enumerate(dict.fromkeys(map(module_of, items)))}
    items.sort(key=lambda item: (-MODULE_SECONDS.get(module_of(item), 0), position[module_of(item)]))
