"""Contract tests of the Astra Control simulator over real HTTP (seed 003, API notes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from simulator import ManualClock
from simulator.astra import AstraConfig, start_astra_simulator

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from simulator.astra import RunningAstra

STATES = {"notStarted", "running", "completed", "pausing", "paused", "cancelling", "cancelled", "failed"}


@pytest.fixture(scope="module")
def astra() -> Iterator[RunningAstra]:
    """One small account on a manual clock."""
    with start_astra_simulator(AstraConfig(tasks=120, open_tasks=15), ManualClock()) as sim:
        yield sim


@pytest.fixture
def http(astra: RunningAstra) -> Iterator[httpx.Client]:
    """Return a client with the account's bearer token; faults cleared afterwards."""
    headers = {"Authorization": f"Bearer {astra.config.token}"}
    with httpx.Client(base_url=astra.url, headers=headers, timeout=30) as client:
        yield client
        client.delete("/_sim/faults")


def _tasks(astra: RunningAstra) -> str:
    return f"/accounts/{astra.config.account_id}/core/v1/tasks"


def _walk(http: httpx.Client, astra: RunningAstra, **params: str) -> list[Any]:
    items: list[Any] = []
    reply = http.get(_tasks(astra), params=params).raise_for_status().json()
    items += reply["items"]
    while "continue" in reply["metadata"]:
        token = reply["metadata"]["continue"]
        reply = http.get(_tasks(astra), params={"continue": token, "limit": params.get("limit", "7")})
        reply = reply.raise_for_status().json()
        items += reply["items"]
    return items


def test_a_listing_is_the_documented_envelope_of_task_resources(
    http: httpx.Client, astra: RunningAstra
) -> None:
    """type, version, items and metadata; each item has the seed's required fields and a known state."""
    body = http.get(_tasks(astra), params={"limit": "5"}).raise_for_status().json()
    assert (body["type"], body["version"]) == ("application/astra-tasks", "1.1")
    assert len(body["items"]) == 5
    for item in body["items"]:
        assert {"id", "name", "state", "resourceID", "stateTransitions", "stateDetails", "metadata"} <= set(
            item
        )
        assert item["state"] in STATES
        assert "." in item["name"]


def test_continuation_walks_every_task_once_and_count_is_the_total(
    http: httpx.Client, astra: RunningAstra
) -> None:
    """Pages of 7 following metadata.continue list every task exactly once; count=true gives the total."""
    items = _walk(http, astra, limit="7")
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == 120
    first = http.get(_tasks(astra), params={"limit": "7", "count": "true"}).json()
    assert first["metadata"]["count"] == 120
    assert "count" not in http.get(_tasks(astra), params={"limit": "7"}).json()["metadata"]


@pytest.mark.parametrize(
    ("expression", "check"),
    [
        ("state eq 'running'", lambda i: i["state"] == "running"),
        ("state eq 'completed' and name eq 'astra.core.app.backup'",
         lambda i: i["state"] == "completed" and i["name"] == "astra.core.app.backup"),
        ("percentDone gte '100'", lambda i: i["percentDone"] >= 100),
        ("endTime lt '2026-09-21T14:00:00Z'",
         lambda i: "endTime" in i and i["endTime"] < "2026-09-21T14:00:00Z"),
    ],
)  # fmt: skip
def test_filters_select_exactly_the_matching_tasks(
    http: httpx.Client, astra: RunningAstra, expression: str, check: Callable[[dict[str, Any]], bool]
) -> None:
    """A filtered walk (continued pages keep the filter) equals the matching part of the whole listing."""
    everything = _walk(http, astra, limit="50")
    filtered = _walk(http, astra, limit="7", filter=expression)
    assert [i["id"] for i in filtered] == [i["id"] for i in everything if check(i)]


def test_include_returns_rows_of_the_named_fields(http: httpx.Client, astra: RunningAstra) -> None:
    """With include, each item is an array of those fields' values, in order."""
    rows = http.get(_tasks(astra), params={"include": "id,state", "limit": "3"}).json()["items"]
    assert all(len(row) == 2 and row[1] in STATES for row in rows)


@pytest.mark.parametrize(
    ("params", "name"),
    [({"limit": "0"}, "limit"), ({"filter": "state is running"}, "filter"), ({"continue": "x!"}, "continue"),
     ({"colour": "red"}, "colour"), ({"count": "yes"}, "count")],
)  # fmt: skip
def test_a_bad_parameter_is_a_400_problem_naming_it(
    http: httpx.Client, astra: RunningAstra, params: dict[str, str], name: str
) -> None:
    """The error body is {type, title, detail, status, correlationID, invalidParams}."""
    reply = http.get(_tasks(astra), params=params)
    body = reply.json()
    assert reply.status_code == 400
    assert {"type", "title", "detail", "status", "correlationID"} <= set(body)
    assert body["status"] == "400"
    assert body["invalidParams"][0]["name"] == name


def test_the_token_is_required_and_checked(astra: RunningAstra) -> None:
    """No token, a wrong one, or a revoked one: 401 with a problem body."""
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        reply = httpx.get(astra.url + _tasks(astra), headers=headers)
        assert (reply.status_code, reply.json()["status"]) == (401, "401")


def test_one_task_by_id_and_an_unknown_one(http: httpx.Client, astra: RunningAstra) -> None:
    """GET /tasks/{id} returns the listed resource; an unknown id is a 404 problem."""
    item = http.get(_tasks(astra), params={"limit": "1"}).json()["items"][0]
    assert http.get(f"{_tasks(astra)}/{item['id']}").json()["id"] == item["id"]
    assert http.get(f"{_tasks(astra)}/nope").status_code == 404


def test_faults_answer_as_configured_then_clear(http: httpx.Client, astra: RunningAstra) -> None:
    """Answer each fault (fail with Retry-After, a body fault, a revoked token) for its count, then serve."""
    faults = [{"fault": "fail", "status": 429, "retry_after": 3}, {"fault": "body", "kind": "malformed_json"}]
    http.post("/_sim/faults", json=faults).raise_for_status()
    throttled = http.get(_tasks(astra))
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")
    assert http.get(_tasks(astra)).content.startswith(b"<<not json>>")
    assert http.get(_tasks(astra)).status_code == 200
    http.post("/_sim/faults", json={"fault": "revoke_token"}).raise_for_status()
    assert http.get(_tasks(astra)).status_code == 401
    http.delete("/_sim/faults").raise_for_status()
    assert http.get(_tasks(astra)).status_code == 200


def test_the_manual_clock_moves_tasks_and_the_truth_follows(http: httpx.Client, astra: RunningAstra) -> None:
    """Advancing an hour finishes tasks; the truth's finishes equal the listing's new endTimes."""
    before = http.get("/_sim/truth").json()
    http.post("/_sim/advance", params={"seconds": "3600"}).raise_for_status()
    after = http.get("/_sim/truth", params={"finished_after": str(before["now"])}).json()
    assert after["now"] == before["now"] + 3600
    listed = [i for i in _walk(http, astra, limit="100") if i.get("endTime")]
    finished = sum(group["count"] for group in after["finished"])
    assert finished > 0
    assert sum(after["counts_by_state"].values()) == len(_walk(http, astra, limit="100"))
    assert finished >= len([i for i in listed if i["state"] == "cancelled"])
