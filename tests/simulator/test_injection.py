"""`POST /_sim/items` stores a given task, served verbatim yet filtered, ordered and counted like any other.

The simulator renders only what its models allow; a test that needs one exact item (seed
002's string id, a third-party shape) injects it. Re-injecting the same id moves the task
on in place, as the API's own tasks move from open to completed.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest

from simulator import ManualClock, SimulatorConfig, start_simulator
from simulator.timefmt import format_ns, to_ns
from tests.simulator.helpers import Api

if TYPE_CHECKING:
    from collections.abc import Iterator

NOW = 1_790_000_000.0
OPEN = {  # seed 002's flat shape; it requires no field, so an open task simply omits its result
    "id": "task-uuid-001",
    "type": "backup",
    "state": "started",
    "tenant_id": "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a",
    "resource_id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
    "enqueuedAt": format_ns(to_ns(NOW - 600)),
    "startedAt": format_ns(to_ns(NOW - 590)),
    "updatedAt": format_ns(to_ns(NOW - 590)),
}
COMPLETED = {**OPEN, "state": "completed", "result_code": "error", "completedAt": format_ns(to_ns(NOW - 5))}


@pytest.fixture(params=["camel", "snake"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """Serve a small frozen simulator in either task shape: injected items ignore the shape."""
    config = SimulatorConfig(tasks=60, open_tasks=10, tenants=3, seed=5, task_shape=request.param)
    with start_simulator(config, clock=ManualClock(start=NOW)) as sim:
        client = Api(sim)
        yield client
        client.close()


def _inject(api: Api, body: object) -> Any:  # noqa: ANN401  the admin reply's JSON
    reply = api.http.post("/_sim/items", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _ours(api: Api, params: list[tuple[str, str]], lod: str = "short") -> list[dict[str, Any]]:
    items = api.walk("/tasks", [*params, ("lod", lod)])
    return [item for item in items if item.get("id") == OPEN["id"]]


def _count(api: Api, params: list[tuple[str, str]]) -> int:
    body = api.json("/tasks", [*params, ("lod", "count")])
    return int(next(iter(body.values())))


def test_an_injected_task_is_served_verbatim_where_its_state_and_times_place_it(api: Api) -> None:
    """Listed as given at every lod, under its state's filter and count, not under another state."""
    started = _count(api, [("state", "started")])
    _inject(api, {"kind": "tasks", "item": copy.deepcopy(OPEN)})
    for lod in ("tiny", "short", "long"):
        assert _ours(api, [("state", "started")], lod) == [OPEN]
    assert _ours(api, [("state", "completed")]) == []
    assert _count(api, [("state", "started")]) == started + 1
    assert api.sim.truth.counts_by_state()["started"] == started + 1


def test_reinjecting_the_same_id_completes_the_task_in_place(api: Api) -> None:
    """The completed variant replaces the open one: one task, now in the completion window only."""
    first = _inject(api, {"item": OPEN})["ids"]
    completions = len(api.sim.truth.completions())
    assert _inject(api, [{"item": COMPLETED}])["ids"] == first
    window = [("state", "completed"), ("completedAt", f"gt({format_ns(to_ns(NOW - 60))})")]
    assert _ours(api, [*window, ("order", "asc(completedAt)")]) == [COMPLETED]
    assert _ours(api, [("resultCode", "error")]) == [COMPLETED]
    assert _ours(api, [("state", "started")]) == []
    assert _ours(api, [("state", "completed"), ("completedAt", f"lt({format_ns(to_ns(NOW - 60))})")]) == []
    assert len(api.sim.truth.completions()) == completions + 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b'{"kind": "tasks"}', id="no-item"),
        pytest.param(b'{"item": ["a", "list"]}', id="item-not-an-object"),
        pytest.param(b'{"kind": "activities", "item": {}}', id="unsupported-kind"),
        pytest.param(b'{"item": {}, "tenant": "999"}', id="unknown-tenant"),
        pytest.param(b"[1, 2]", id="list-of-non-objects"),
    ],
)
def test_a_bad_injection_is_a_400_and_stores_nothing(api: Api, body: bytes) -> None:
    """Every refusal names what was wrong; the listing is unchanged."""
    before = _count(api, [])
    reply = api.http.post("/_sim/items", content=body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["debug"]["msg"]
    assert _count(api, []) == before


def test_a_list_with_one_bad_injection_stores_none_of_it(api: Api) -> None:
    """All or nothing: the good item before the bad one is not stored either."""
    before = _count(api, [])
    reply = api.http.post("/_sim/items", json=[{"item": OPEN}, {"item": OPEN, "tenant": "999"}])
    assert reply.status_code == 400, reply.text
    assert _count(api, []) == before
