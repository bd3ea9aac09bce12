"""Faults switched on from Python and through the admin endpoint, and the request log."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from simulator.timefmt import http_date

from .helpers import after_of

if TYPE_CHECKING:
    from simulator import RunningSimulator

    from .helpers import Api


class TestFailures:
    """Injected statuses."""

    def test_fail_answers_the_next_n_requests(self, api: Api, simulator: RunningSimulator) -> None:
        """fail(503, times=2) fails exactly two matching requests, then the API recovers."""
        api.token()
        simulator.faults.fail(503, times=2)
        statuses = [api.get("/tasks", [("lod", "count")]).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]

    @pytest.mark.parametrize("retry_after", [7, http_date(1_790_000_060)])
    def test_retry_after_in_seconds_or_as_a_date(
        self, api: Api, simulator: RunningSimulator, retry_after: float | str
    ) -> None:
        """429 carries Retry-After as given: seconds or an HTTP date."""
        api.token()
        simulator.faults.fail(429, retry_after=retry_after)
        reply = api.get("/tasks")
        assert reply.status_code == 429
        assert reply.headers["Retry-After"] == str(retry_after)

    def test_html_401_like_a_proxy(self, api: Api, simulator: RunningSimulator) -> None:
        """html=True answers with an HTML page, not JSON."""
        api.token()
        simulator.faults.fail(401, html=True)
        reply = api.get("/tasks")
        assert reply.status_code == 401
        assert reply.headers["Content-Type"] == "text/html"
        assert reply.text.startswith("<html>")

    def test_path_prefix_limits_the_fault(self, api: Api, simulator: RunningSimulator) -> None:
        """A fault on /activities leaves /tasks alone until it fires."""
        api.token()
        simulator.faults.fail(500, times=None, path_prefix="/api/task_manager/v2/activities")
        assert api.get("/tasks").status_code == 200
        assert api.get("/activities").status_code == 500
        assert api.get("/activities").status_code == 500
        simulator.faults.clear()
        assert api.get("/activities").status_code == 200

    def test_set_cookies_sets_a_new_cookie_per_reply_and_the_log_tells_who_sent_one(
        self, api: Api, simulator: RunningSimulator
    ) -> None:
        """Each reply sets a cookie of a new name; a request that carried any back is marked in the log."""
        api.token()
        simulator.requests.clear()
        simulator.faults.set_cookies(times=2)
        first, second, third = (api.get("/tasks", [("lod", "count")]) for _ in range(3))
        names = [reply.headers["Set-Cookie"].split("=")[0] for reply in (first, second)]
        assert len(set(names)) == 2
        assert "Set-Cookie" not in third.headers
        # The test's own client keeps cookies, as a browser would: what it sends back is logged.
        assert [entry.cookie for entry in simulator.requests.entries()] == [False, True, True]
        api.http.cookies.clear()  # the client may serve later tests


class TestTokenFaults:
    """Faults of the IdP."""

    def test_expire_tokens(self, api: Api, simulator: RunningSimulator) -> None:
        """expire_tokens() makes every issued token a 401; a new one works."""
        token = api.token()
        simulator.faults.expire_tokens()
        assert api.get("/tasks", token=token).status_code == 401
        assert api.get("/tasks", token=api.token(fresh=True)).status_code == 200

    def test_revoked_credentials(self, api: Api, simulator: RunningSimulator) -> None:
        """revoke_credentials() makes the token endpoint 401 until restored."""
        simulator.faults.revoke_credentials()
        assert api.token_response().status_code == 401
        simulator.faults.restore_credentials()
        assert api.token_response().status_code == 200

    def test_token_endpoint_down(self, api: Api, simulator: RunningSimulator) -> None:
        """token_endpoint_down(times=1) answers one 503."""
        simulator.faults.token_endpoint_down(times=1)
        assert api.token_response().status_code == 503
        assert api.token_response().status_code == 200


class TestBodyFaults:
    """Bodies that cannot be used."""

    def test_truncated_json(self, api: Api, simulator: RunningSimulator) -> None:
        """truncate_json() cuts one body short so it no longer parses."""
        api.token()
        simulator.faults.truncate_json()
        with pytest.raises(json.JSONDecodeError):
            json.loads(api.get("/tasks").text)
        assert api.get("/tasks").json()["items"]

    def test_malformed_and_wrong_shape(self, api: Api, simulator: RunningSimulator) -> None:
        """malformed_json() sends non-JSON; wrong_shape() sends a JSON list."""
        api.token()
        simulator.faults.malformed_json()
        with pytest.raises(json.JSONDecodeError):
            json.loads(api.get("/tasks").text)
        simulator.faults.wrong_shape()
        assert isinstance(api.get("/tasks").json(), list)

    @pytest.mark.parametrize("mode", ["null", "missing", "unknown_enum"])
    def test_corrupt_items(self, api: Api, simulator: RunningSimulator, mode: str) -> None:
        """corrupt_items() breaks the first `count` items of one listing."""
        api.token()
        simulator.faults.corrupt_items(mode=mode, count=2)  # type: ignore[arg-type]
        items = api.json("/tasks", [("limit", "5")])["items"]
        if mode == "null":
            assert items[0]["tenant"] is None
        elif mode == "missing":
            assert "tenant" not in items[1]
        else:
            assert items[0]["state"] == "suspended"
        assert items[2]["tenant"]

    def test_corrupt_fraction(self, api: Api, simulator: RunningSimulator) -> None:
        """A fraction corrupts that share of a page."""
        api.token()
        simulator.faults.corrupt_items(mode="missing", fraction=0.5)
        items = api.json("/tasks", [("limit", "10")])["items"]
        assert sum("tenant" not in item for item in items) == 5


class TestCursorFaults:
    """Cursor chains that misbehave."""

    def test_repeat_cursor(self, api: Api, simulator: RunningSimulator) -> None:
        """repeat_cursor() answers a later page with the after that was sent."""
        after = after_of(api.json("/tasks", [("limit", "5")]))
        simulator.faults.repeat_cursor()
        assert after_of(api.json("/tasks", [("after", str(after))])) == after

    def test_endless_pages(self, api: Api, simulator: RunningSimulator) -> None:
        """endless_pages() gives every page a fresh cursor, even past the end."""
        simulator.faults.endless_pages()
        page = api.json("/tasks", [("state", "paused"), ("limit", "100")])
        cursors = set()
        for _ in range(4):
            after = after_of(page)
            assert after
            assert after not in cursors
            cursors.add(after)
            page = api.json("/tasks", [("after", after)])
        assert page["items"] == []
        simulator.faults.endless_pages(on=False)
        assert after_of(page) is not None
        assert after_of(api.json("/tasks", [("after", str(after_of(page)))])) is None


class TestLatencyAndLog:
    """Latency and the request log."""

    def test_latency_delays_requests(self, api: Api, simulator: RunningSimulator) -> None:
        """latency(s) spaces requests at least s apart, as the request log shows."""
        api.token()
        simulator.faults.latency(0.05)
        simulator.requests.clear()
        reply = api.get("/tasks", [("lod", "count")])
        api.get("/tasks", [("lod", "count")])
        first, second = simulator.requests.entries()
        assert second.at - first.at >= 0.05
        assert (first.method, first.path, first.query, first.status) == (
            "GET", "/api/task_manager/v2/tasks", [("lod", "count")], 200,
        )  # fmt: skip
        assert first.response_bytes == len(reply.content)


class TestAdminEndpoint:
    """Faults, truth and the manual clock over HTTP."""

    def test_faults_over_http(self, api: Api) -> None:
        """POST /_sim/faults switches faults on, GET lists them, DELETE clears them."""
        api.token()
        reply = api.http.post(
            "/_sim/faults", json=[{"fault": "fail", "status": 503, "times": 1}, {"fault": "drop_scope"}]
        )
        assert reply.status_code == 200
        assert {f["fault"] for f in api.http.get("/_sim/faults").json()["faults"]} == {"fail", "drop_scope"}
        assert api.get("/tasks").status_code == 503
        assert api.http.delete("/_sim/faults").json() == {"faults": []}
        assert api.get("/tasks").status_code == 200

    def test_bad_fault_is_400(self, api: Api) -> None:
        """An unknown fault or bad arguments are a 400."""
        assert api.http.post("/_sim/faults", json={"fault": "meteor"}).status_code == 400
        assert api.http.post("/_sim/faults", json={"fault": "fail", "status": 200}).status_code == 400

    def test_truth_and_advance_over_http(self, api: Api, simulator: RunningSimulator) -> None:
        """GET /_sim/truth reports counts; POST /_sim/advance moves the manual clock."""
        before = simulator.clock.now()
        assert api.http.post("/_sim/advance", params={"seconds": "30"}).json() == {"now": before + 30}
        truth = api.http.get("/_sim/truth", params={"by": "result_code"}).json()
        assert truth["counts_by_state"] == simulator.truth.counts_by_state()
        assert sum(group["count"] for group in truth["groups"]) == truth["completions"]
