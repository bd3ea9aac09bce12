"""The core contract: tokens, listings, counts, cursors and the manual-clock workload."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from simulator.models import Activity, Task

from .helpers import Api

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import ManualClock, RunningSimulator


class TestToken:
    """POST /api/2/idp/token."""

    def test_client_credentials_reply_has_the_documented_fields(self, api: Api, clock: ManualClock) -> None:
        """A client_credentials reply carries access_token, bearer type, absolute expires_on and id_token."""
        body = api.token_response().json()
        assert body["token_type"] == "bearer"  # noqa: S105  not a password
        assert body["expires_on"] == int(clock.now() + 7200)
        assert body["access_token"].endswith("=")
        assert body["id_token"]

    def test_bad_secret_is_401(self, api: Api) -> None:
        """A wrong client secret gets 401 with an error body."""
        reply = api.http.post(
            "/api/2/idp/token", data={"grant_type": "client_credentials"}, auth=("demo-client", "x")
        )
        assert reply.status_code == 401
        assert reply.json()["code"] == "invalid_client"

    def test_token_expires_on_the_simulator_clock(
        self, simulator_factory: Callable[..., RunningSimulator]
    ) -> None:
        """A token stops working once the manual clock passes its lifetime."""
        sim = simulator_factory(token_lifetime=60.0)
        client = Api(sim)
        token = client.token()
        assert client.get("/tasks", [("lod", "count")], token=token).status_code == 200
        sim.workload.advance(60)
        assert client.get("/tasks", [("lod", "count")], token=token).status_code == 401
        client.close()


class TestListing:
    """GET /tasks and /activities."""

    def test_count_matches_the_ground_truth(self, api: Api, simulator: RunningSimulator) -> None:
        """lod=count with a state filter equals the truth's count for that state."""
        truth = simulator.truth.counts_by_state()
        body = api.json("/tasks", [("lod", "count"), ("state", "started"), ("state", "paused")])
        assert body == {"count": truth["started"] + truth["paused"]}

    def test_walk_returns_every_item_once_in_id_order(self, api: Api, simulator: RunningSimulator) -> None:
        """Following after cursors yields every open task exactly once, ordered by id."""
        items = api.walk("/tasks", [("state", s) for s in ("enqueued", "assigned", "started", "paused")])
        ids = [item["id"] for item in items]
        assert ids == sorted(set(ids))
        assert {str(i) for i in ids} == {item.id for item in simulator.truth.open_items()}

    def test_items_parse_with_the_models_at_every_lod(self, api: Api) -> None:
        """Served tasks and activities validate against the pydantic models at every lod."""
        for lod in ("tiny", "short", "long", "full", "debug"):
            for item in api.json("/tasks", [("lod", lod), ("limit", "20")])["items"]:
                Task.model_validate(item)
            for item in api.json("/activities", [("lod", lod), ("limit", "20")])["items"]:
                Activity.model_validate(item)

    def test_get_by_id_returns_the_listed_item(self, api: Api) -> None:
        """/tasks/{id} returns the same object the listing served at that lod."""
        listed = api.json("/tasks", [("lod", "full"), ("limit", "1")])["items"][0]
        assert api.json(f"/tasks/{listed['id']}", [("lod", "full")]) == listed

    def test_completion_window_matches_truth(
        self, api: Api, simulator: RunningSimulator, clock: ManualClock
    ) -> None:
        """Completions listed by completedAt window match the truth grouped by tenant, queue and result."""
        start = clock.now()
        simulator.workload.advance(300)
        params = [("state", "completed"), ("completedAt", f"gt({int(start)})"), ("lod", "short")]
        items = api.walk("/tasks", params, limit=10)
        seen = Counter((i["tenant"]["id"], i["queue"], i["result"]["code"]) for i in items)
        assert seen == simulator.truth.count_completions(completed_after=start)
        assert sum(seen.values()) > 0
