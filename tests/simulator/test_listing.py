"""Listing parameters: lod field sets, counts, filters, like, time formats, order, allow_deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from simulator.timefmt import format_ns, http_date

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import RunningSimulator

    from .helpers import Api

TINY = {"id", "idString", "uuid", "state"}
SHORT_TASK = TINY | {
    "type", "queue", "priority", "tenant", "result", "enqueuedAt", "assignedAt", "startedAt", "completedAt",
    "updatedAt", "cancelRequested", "assignCount",
}  # fmt: skip
LONG_TASK = SHORT_TASK | {
    "policy", "resource", "issuer", "executor", "progress", "blockers", "tags", "startedByUser", "workflowId",
    "cancellable", "sustainable",
}  # fmt: skip
FULL_TASK = LONG_TASK | {
    "context", "argument", "ackTimeout", "queueTimeout", "heartBeatInterval", "execTimeout", "lifeTime",
    "maxAssignCount", "affinity",
}  # fmt: skip
SHORT_ACTIVITY = TINY | {
    "type", "tenant", "result", "createdAt", "startedAt", "completedAt", "updatedAt", "taskId",
    "taskIdString",
}  # fmt: skip
LONG_ACTIVITY = SHORT_ACTIVITY | {
    "policy", "resource", "executor", "progress", "tags", "startedByUser", "workflowId", "cancellable",
    "sustainable",
}  # fmt: skip
OPTIONAL = {"policy", "parentActivityId", "parentActivityIdString"}  # absent where there is none


def keys(items: list[dict[str, Any]]) -> set[str]:
    """Return the union of the items' keys, minus those that are legitimately optional."""
    return {key for item in items for key in item} - OPTIONAL


class TestLod:
    """Each lod returns its documented field set."""

    @pytest.mark.parametrize(
        ("lod", "expected"),
        [("tiny", TINY), ("short", SHORT_TASK), ("long", LONG_TASK), ("full", FULL_TASK),
         ("debug", FULL_TASK | {"debug"})],
    )  # fmt: skip
    def test_task_fields(self, api: Api, lod: str, expected: set[str]) -> None:
        """Tasks at this lod carry exactly the documented fields."""
        assert keys(api.json("/tasks", [("lod", lod), ("limit", "50")])["items"]) == expected - OPTIONAL

    @pytest.mark.parametrize(
        ("lod", "expected"),
        [
            ("tiny", TINY),
            ("short", SHORT_ACTIVITY),
            ("long", LONG_ACTIVITY),
            ("full", LONG_ACTIVITY | {"context"}),
        ],
    )
    def test_activity_fields(self, api: Api, lod: str, expected: set[str]) -> None:
        """Activities at this lod carry exactly the documented fields."""
        assert keys(api.json("/activities", [("lod", lod), ("limit", "50")])["items"]) == expected - OPTIONAL

    def test_default_lod_is_short(self, api: Api) -> None:
        """Without lod the listing is lod=short."""
        assert api.json("/tasks", [("limit", "5")]) == api.json("/tasks", [("limit", "5"), ("lod", "short")])

    def test_quirks_are_present(self, api: Api) -> None:
        """Ids exceed 2^53 with string twins; unset times are ""; unassigned executors are empty strings."""
        items = api.walk("/tasks", [("lod", "long"), ("state", "enqueued")], limit=100)
        assert items
        for item in items:
            assert item["id"] > 2**53
            assert item["idString"] == str(item["id"])
            assert item["startedAt"] == ""
            assert item["completedAt"] == ""
            assert item["executor"] == {"id": "", "clusterId": ""}

    def test_completed_times_have_nanoseconds(self, api: Api) -> None:
        """Completion times are RFC3339 with nine fraction digits."""
        item = api.json("/tasks", [("state", "completed"), ("limit", "1")])["items"][0]
        assert len(item["completedAt"].split(".")[1]) == len("123456789Z")


class TestCount:
    """lod=count."""

    @pytest.mark.parametrize("shape", ["count", "total", "size"])
    def test_count_key_is_a_setting(
        self, simulator_factory: Callable[..., RunningSimulator], shape: str
    ) -> None:
        """count_shape picks the single key of a count reply."""
        from .helpers import Api  # noqa: PLC0415  kept beside its only runtime use in this module

        client = Api(simulator_factory(count_shape=shape))
        body = client.json("/activities", [("lod", "count")])
        client.close()
        assert list(body) == [shape]

    def test_counts_follow_filters(self, api: Api, simulator: RunningSimulator) -> None:
        """Per-state counts over the API equal the truth's counts_by_state."""
        truth = simulator.truth.counts_by_state()
        for state, expected in truth.items():
            assert api.json("/tasks", [("lod", "count"), ("state", state)])["count"] == expected


class TestFilters:
    """Every filter narrows the listing to matching items."""

    def test_repeated_keys_mean_or(self, api: Api) -> None:
        """state=started&state=paused returns both states and nothing else."""
        items = api.walk("/tasks", [("state", "started"), ("state", "paused")], limit=100)
        assert {item["state"] for item in items} <= {"started", "paused"}
        assert "started" in {item["state"] for item in items}

    @pytest.mark.parametrize(
        ("param", "field"),
        [("type", "type"), ("queue", "queue"), ("priority", "priority"), ("resultCode", "result")],
    )
    def test_exact_filters(self, api: Api, param: str, field: str) -> None:
        """Filtering on a value returns only items with that value, and all of them."""
        items = api.walk("/tasks", [("state", "completed")], limit=500)
        value = items[0][field]["code"] if field == "result" else items[0][field]
        expected = [i["id"] for i in items if (i[field]["code"] if field == "result" else i[field]) == value]
        got = api.walk("/tasks", [("state", "completed"), (param, value)], limit=500)
        assert [i["id"] for i in got] == expected

    @pytest.mark.parametrize(
        ("param", "path"),
        [
            ("startedBy", ("startedByUser",)),
            ("policyName", ("policy", "name")),
            ("resourceName", ("resource", "name")),
        ],
    )
    def test_like_is_a_substring_match(self, api: Api, param: str, path: tuple[str, ...]) -> None:
        """like(value) matches a substring; an exact value matches only equal strings."""
        items = [i for i in api.walk("/tasks", [("lod", "long")], limit=500) if path[0] in i]
        full = _dig(items[0], path)
        fragment = full[2:6]
        expected = sorted(i["id"] for i in items if fragment in _dig(i, path))
        got = api.walk("/tasks", [("lod", "long"), (param, f"like({fragment})")], limit=500)
        assert sorted(i["id"] for i in got) == expected
        exact = api.walk("/tasks", [("lod", "long"), (param, full)], limit=500)
        assert {_dig(i, path) for i in exact} == {full}

    @pytest.mark.parametrize(
        ("param", "path"),
        [("policyId", ("policy", "id")), ("policyType", ("policy", "type")),
         ("resourceId", ("resource", "id")),
         ("resourceType", ("resource", "type")), ("executorId", ("executor", "id"))],
    )  # fmt: skip
    def test_linked_filters(self, api: Api, param: str, path: tuple[str, ...]) -> None:
        """Policy, resource and executor filters return exactly the items linked to that value."""
        items = [
            i for i in api.walk("/tasks", [("lod", "long")], limit=500) if path[0] in i and _dig(i, path)
        ]
        value = _dig(items[0], path)
        got = api.walk("/tasks", [("lod", "long"), (param, value)], limit=500)
        assert sorted(i["id"] for i in got) == sorted(i["id"] for i in items if _dig(i, path) == value)

    def test_id_uuid_tag_and_workflow_filters(self, api: Api) -> None:
        """id, uuid, tag and workflowId filters select the expected items."""
        items = api.walk("/tasks", [("lod", "long")], limit=500)
        first, second = items[0], items[1]
        by_id = api.json("/tasks", [("id", first["idString"]), ("id", second["idString"])])["items"]
        assert [i["id"] for i in by_id] == [first["id"], second["id"]]
        assert api.json("/tasks", [("uuid", first["uuid"])])["items"][0]["id"] == first["id"]
        tagged = api.walk("/tasks", [("lod", "long"), ("tag", "manual")], limit=500)
        assert sorted(i["id"] for i in tagged) == sorted(i["id"] for i in items if "manual" in i["tags"])
        flow = next(i for i in items if i["workflowId"])
        assert api.json("/tasks", [("workflowId", str(flow["workflowId"]))])["items"][0]["id"] == flow["id"]

    def test_activity_filters(self, api: Api) -> None:
        """taskId, parentActivityId and sustainable filter activities."""
        items = api.walk("/activities", [("lod", "long")], limit=500)
        child = next(i for i in items if "parentActivityId" in i)
        family = api.walk("/activities", [("taskId", child["taskIdString"])], limit=50)
        assert {i["taskId"] for i in family} == {child["taskId"]}
        assert child["id"] in {i["id"] for i in family}
        kids = api.walk("/activities", [("parentActivityId", child["parentActivityIdString"])], limit=50)
        assert child["id"] in {i["id"] for i in kids}
        sustainable = api.walk("/activities", [("lod", "long"), ("sustainable", "true")], limit=500)
        assert sustainable
        assert all(i["sustainable"] for i in sustainable)

    def test_tenant_filter_does_not_exist(self, api: Api) -> None:
        """There is no tenant filter (API notes): it is an unknown parameter."""
        assert api.get("/tasks", [("tenant", "1")]).status_code == 400


def _dig(item: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = item
    for key in path:
        value = value[key]
    return str(value)


class TestTimeFilters:
    """gt/lt time filters in every accepted format."""

    def test_range_with_repeated_keys(self, api: Api) -> None:
        """completedAt=gt(a)&completedAt=lt(b) returns exactly the completions strictly inside."""
        items = api.walk("/tasks", [("state", "completed")], limit=500)
        times = sorted(i["completedAt"] for i in items)
        low, high = times[10], times[-10]
        got = api.walk("/tasks", [("completedAt", f"gt({low})"), ("completedAt", f"lt({high})")], limit=500)
        assert sorted(i["completedAt"] for i in got) == [t for t in times if low < t < high]

    def test_formats_are_equivalent(self, api: Api, simulator: RunningSimulator) -> None:
        """RFC3339 (Z, offset, fraction), RFC1123, RFC850, Unix seconds and ns give the same count."""
        moment = int(simulator.clock.now()) - 120
        rfc1123 = http_date(moment)
        weekday, rest = rfc1123.split(", ", 1)
        day, month, year, clock_time, zone = rest.split()
        full_day = {"Mon": "Monday", "Tue": "Tuesday", "Wed": "Wednesday", "Thu": "Thursday", "Fri": "Friday",
                    "Sat": "Saturday", "Sun": "Sunday"}[weekday]  # fmt: skip
        forms = [
            format_ns(moment * 10**9).replace(".000000000", ""),
            format_ns(moment * 10**9),
            format_ns((moment + 7200) * 10**9).replace(".000000000Z", "+02:00"),
            rfc1123,
            f"{full_day}, {day}-{month}-{year[2:]} {clock_time} {zone}",
            str(moment),
            f"{moment * 10**9}ns",
        ]
        counts = {
            form: api.json("/tasks", [("lod", "count"), ("completedAt", f"gt({form})")])["count"]
            for form in forms
        }
        assert len(set(counts.values())) == 1, counts
        assert next(iter(counts.values())) > 0


class TestOrder:
    """order=asc(field)/desc(field)."""

    @pytest.mark.parametrize(
        "field",
        ["id", "uuid", "type", "priority", "startedByUser", "state", "enqueuedAt", "assignedAt", "startedAt",
         "updatedAt", "completedAt"],
    )  # fmt: skip
    def test_task_order_fields(self, api: Api, field: str) -> None:
        """A walk ordered on a field is sorted on it (ties by id) in both directions."""
        for direction in ("asc", "desc"):
            items = api.walk("/tasks", [("lod", "long"), ("order", f"{direction}({field})")], limit=60)
            keys_ = [(i[field], i["id"]) for i in items]
            assert keys_ == sorted(keys_, reverse=direction == "desc")

    def test_activity_order_on_created_at(self, api: Api) -> None:
        """Activities order on createdAt."""
        items = api.walk("/activities", [("order", "desc(createdAt)")], limit=80)
        keys_ = [(i["createdAt"], i["id"]) for i in items]
        assert keys_ == sorted(keys_, reverse=True)


class TestAllowDeleted:
    """Soft-deleted tasks."""

    def test_deleted_tasks_hidden_unless_allowed(self, api: Api) -> None:
        """allow_deleted=true adds soft-deleted tasks to listings and single gets."""
        visible = {i["id"] for i in api.walk("/tasks", [("state", "completed")], limit=500)}
        everything = api.walk("/tasks", [("state", "completed"), ("allow_deleted", "true")], limit=500)
        deleted = [i for i in everything if i["id"] not in visible]
        assert deleted
        assert api.get(f"/tasks/{deleted[0]['id']}").status_code == 404
        assert api.get(f"/tasks/{deleted[0]['id']}", [("allow_deleted", "true")]).status_code == 200
