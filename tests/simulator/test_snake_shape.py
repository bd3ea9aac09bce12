"""The simulator serves tasks in seed 002's flat snake_case shape as a setting (``task_shape``).

Two simulators on the same seed and a frozen clock hold the same tasks: the snake one must
serve each task's tenant, result, policy, resource and executor as flat ``*_id`` /
``result_code`` fields holding the camel one's nested ids, everything else unchanged; the
default stays the API's camelCase shape.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator import ManualClock, SimulatorConfig, start_simulator
from simulator.__main__ import parse_args
from tests.simulator.helpers import Api

LINKS = ("tenant", "policy", "resource", "executor")
CONFIG = SimulatorConfig(tasks=120, open_tasks=30, tenants=4, seed=3)


def _tasks(config: SimulatorConfig, lod: str) -> dict[int, dict[str, Any]]:
    with start_simulator(config, clock=ManualClock()) as sim:
        api = Api(sim)
        try:
            body = api.json("/tasks", [("lod", lod), ("limit", "500")])
        finally:
            api.close()
    return {item["id"]: item for item in body["items"]}


@pytest.fixture(scope="module")
def both() -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Serve the same tasks at lod=long, camel (the default) and snake."""
    return _tasks(CONFIG, "long"), _tasks(SimulatorConfig(**{**vars(CONFIG), "task_shape": "snake"}), "long")


def test_snake_shape_flattens_links_and_result_to_the_camel_ids(
    both: tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]],
) -> None:
    """tenant_id, policy_id, resource_id, executor_id, result_code: the nested ids, nothing nested left."""
    camel, snake = both
    assert camel.keys() == snake.keys()
    assert camel
    for task_id, nested in camel.items():
        flat = snake[task_id]
        for link in LINKS:
            assert link not in flat
            if link in nested:
                assert flat[f"{link}_id"] == nested[link]["id"], (task_id, link)
        assert "result" not in flat
        assert flat["result_code"] == nested["result"]["code"]
        untouched = {key: value for key, value in nested.items() if key not in (*LINKS, "result")}
        assert {key: flat[key] for key in untouched} == untouched  # camelCase times and the rest as they were


def test_snake_shape_has_the_seeds_fields(
    both: tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]],
) -> None:
    """Every field seed 002 names, with its camelCase times; tasks with a policy carry policy_id."""
    _, snake = both
    seed_fields = {"id", "uuid", "type", "state", "result_code", "priority", "resource_id", "executor_id",
                   "enqueuedAt", "startedAt", "completedAt", "updatedAt", "tenant_id"}  # fmt: skip
    for task in snake.values():
        assert seed_fields <= task.keys(), seed_fields - task.keys()
    assert any("policy_id" in task for task in snake.values())


def test_default_shape_is_camel_case_at_every_lod() -> None:
    """Without the setting, tasks keep the API's nested tenant and result: no snake_case key appears."""
    for lod in ("short", "long"):
        for task in _tasks(CONFIG, lod).values():
            assert isinstance(task["tenant"], dict)
            assert isinstance(task["result"], dict)
            assert not {key for key in task if key.endswith("_id") or key == "result_code"}


def test_cli_sets_the_shape_and_refuses_another() -> None:
    """--task-shape snake reaches the config; an unknown shape is a usage error (exit 2)."""
    assert parse_args(["--task-shape", "snake"]).task_shape == "snake"
    assert parse_args([]).task_shape == "camel"
    with pytest.raises(SystemExit) as exited:
        parse_args(["--task-shape", "kebab"])
    assert exited.value.code == 2


def test_config_refuses_an_unknown_shape() -> None:
    """A library user passing a wrong shape gets the config's own error."""
    with pytest.raises(ValueError, match="task_shape"):
        SimulatorConfig(task_shape="kebab")  # type: ignore[arg-type]
