"""Tasks in seed 002's snake_case shape go through a whole poll of the real exporter like camelCase ones.

Two simulators on the same seed and a frozen clock hold the same tasks, one serving them
camelCase (the API's shape), one in seed 002's flat shape (``task_shape="snake"``). An
exporter polls each, with ``--metrics.resources``: the open tasks per tenant and state, and
the last outcome per resource and policy (read from ``resource_id`` / ``policy_id`` in the
snake shape), must be the same. Names only the nested shape carries are left out.

Seed 002's own example (``"id": "task-uuid-001"``) goes through a whole poll in
tests/test_seed002.py, injected verbatim into the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

from simulator import ManualClock, SimulatorConfig, start_simulator
from tests.support.processes import start_exporter

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.processes import ExporterProcess

CONFIG = SimulatorConfig(tasks=300, open_tasks=60, tenants=4, seed=9)
Families = dict[str, set[tuple[tuple[str, str], ...]]]
COMPARED = {
    "acronis_open_tasks": ("tenant_id", "state", "queue"),
    "acronis_resource_last_completion_timestamp_seconds": ("tenant_id", "resource_id", "result_code"),
    "acronis_policy_last_completion_timestamp_seconds": ("tenant_id", "policy_id", "result_code"),
}


def _families(exporter: ExporterProcess) -> Families:
    shown: Families = {name: set() for name in COMPARED}
    for family in text_string_to_metric_families(exporter.get("/metrics").raise_for_status().text):
        for sample in family.samples:
            if sample.name in COMPARED:
                labels = tuple((key, sample.labels.get(key, "")) for key in COMPARED[sample.name])
                shown[sample.name].add((*labels, ("value", repr(sample.value))))
    return shown


def _polled(config: SimulatorConfig, workdir: Path) -> Families:
    with start_simulator(config, clock=ManualClock()) as sim:
        args = ["--api.url", sim.url, "--api.client-id", config.client_id, "--metrics.resources",
                "--poll.interval", "3600"]  # fmt: skip
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": config.client_secret}
        with start_exporter(args, env=env, workdir=workdir) as exporter:  # returns after the first poll
            return _families(exporter)


def test_snake_case_tasks_give_the_same_families_as_camel_case(tmp_path: Path) -> None:
    """Open tasks and last outcomes per resource and policy: equal, and not empty."""
    camel = _polled(CONFIG, tmp_path / "camel")
    snake = _polled(SimulatorConfig(**{**vars(CONFIG), "task_shape": "snake"}), tmp_path / "snake")
    for name in COMPARED:
        assert camel[name], name
        assert snake[name] == camel[name], name
