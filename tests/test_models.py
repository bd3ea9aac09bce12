import ast
import json

import pytest

from exporter.models import (
    ActivityItem,
    TaskItem,
    Tenant,
    format_time,
    parent_from_locator,
    parse_activity,
    parse_task,
    parse_time,
)

# The reference's example bodies of GET /tasks/{id} and GET /activities (seeds/000), verbatim.
REFERENCE_TASK_JSON = (
    '{"state":"enqueued","ackTimeout":"","queueTimeout":"","context":{},"tenant":{"id":"",'
    '"uuid":"","name":"","locator":""},"result":{"code":"ok","error":{"domain":"","code":"",'
    '"reason":"","context":{},"kbLink":{"lineTag":"","serCode":"","version":"","build":0,'
    '"product":"","os":""},"debug":{}},"warnings":[{"domain":"","code":"","reason":"",'
    '"context":{},"kbLink":{"lineTag":"","serCode":"","version":"","build":0,"product":"",'
    '"os":""},"debug":{}}],"payload":{}},"argument":{},"queue":"","startedAt":"","id":0,'
    '"startedByUser":"","completedAt":"","heartBeatInterval":"","resource":{"name":"","id":"",'
    '"type":""},"issuer":{"id":"","clusterId":""},"cancelRequested":true,"uuid":"","tags":[""],'
    '"blockers":[{"taskId":0,"tenant":{"id":"","uuid":"","name":"","locator":""},"id":0,'
    '"possibleSolutions":[{"key":"","context":{}}],"issue":{"key":"","context":{}},"uuid":"",'
    '"solution":{"key":"","context":{}},"activityId":0}],"progress":{"current":0,'
    '"bytesProcessed":0,"processingSpeed":0,"leftTime":"","bytesSaved":0,'
    '"bottleneck":{"source":0,"destination":0,"processing":0},"total":0},"enqueuedAt":"",'
    '"cancellable":true,"updatedAt":"","executor":{"id":"","clusterId":""},"maxAssignCount":0,'
    '"execTimeout":"","policy":{"name":"","id":"","type":""},"lifeTime":"","workflowId":0,'
    '"sustainable":true,"type":"","assignCount":0,"priority":"low","assignedAt":"",'
    '"affinity":{"agentId":"","clusterId":""}}'
)
REFERENCE_ACTIVITY_JSON = (
    '{"parentActivityId":0,"state":"enqueued","taskId":0,"context":{},"result":{"code":"ok",'
    '"error":{"domain":"","code":"","reason":"","context":{},"kbLink":{"lineTag":"",'
    '"serCode":"","version":"","build":0,"product":"","os":""},"debug":{}},'
    '"warnings":[{"domain":"","code":"","reason":"","context":{},"kbLink":{"lineTag":"",'
    '"serCode":"","version":"","build":0,"product":"","os":""},"debug":{}}],"payload":{}},'
    '"tenant":{"id":"","uuid":"","name":"","locator":""},"startedAt":"","id":0,"createdAt":"",'
    '"startedByUser":"","completedAt":"","resource":{"name":"","id":"","type":""},"uuid":"",'
    '"progress":{"current":0,"bytesProcessed":0,"processingSpeed":0,"leftTime":"",'
    '"bytesSaved":0,"bottleneck":{"source":0,"destination":0,"processing":0},"total":0},'
    '"tags":[""],"updatedAt":"","executor":{"id":"","clusterId":""},"policy":{"name":"",'
    '"id":"","type":""},"workflowId":0,"type":""}'
)
# A real GET /activities response as Acronis's guide pprints it (seeds/004), verbatim.
REAL_ACTIVITIES_PPRINT = (
    "{'items': [{'completedAt': '2020-04-22T11:34:03.290396913Z',"
    " 'context': {'IsProcessRoot': True, 'Persistent': {'AgentType': 'agent',"
    " 'ID': 'f7358a00-8469-45ae-a0c3-22952e9ed12f', 'Name': 'DESKTOP-GFT9S1R',"
    " 'OwnerID': '1496265'}, 'Specific': 'Business', 'UserName': 'DESKTOP-GFT9S1R\\\\AMS User',"
    " 'isLegacy': True, 'title': \"Adding agent 'DESKTOP-GFT9S1R' to the \" 'management server'},"
    " 'createdAt': '2020-04-22T11:34:03.290396913Z', 'executor': {'clusterId': '', 'id': ''},"
    " 'id': 944455285181775872, 'idString': '944455285181775872', 'result': {'code': 'ok',"
    " 'payload': 'MachineManagement::AddAgentResponse'},"
    " 'startedAt': '2020-04-22T11:34:03.290396913Z',"
    " 'startedByUser': 'DESKTOP-GFT9S1R\\\\AMS User', 'state': 'completed',"
    " 'taskId': 944455285181775872, 'taskIdString': '944455285181775872',"
    " 'tenant': {'id': '1496265', 'locator': '/1/1496262/1496265/', 'name': 'John Doe'},"
    " 'type': 'A59E8BF2-39C3-42C4-B667-CB672381A214',"
    " 'updatedAt': '2020-04-22T11:34:03.294683447Z',"
    " 'uuid': '38045860-8901-426e-b51f-fc6d24d1cbe0'}]}"
)

COMPLETION_FIELDS = ("id", "state", "completedAt", "result.code", "tenant", "type")


def _task(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "idString": "1001",
        "state": "completed",
        "result": {"code": "ok"},
        "tenant": {"id": "42", "name": "Acme", "locator": "/1/7/42/"},
        "type": "WinScan",
        "queue": "antimalware",
        "priority": "normal",
        "enqueuedAt": "2026-01-01T00:00:00Z",
        "startedAt": "2026-01-01T00:00:05.5Z",
        "completedAt": "2026-01-01T00:01:05.5Z",
        "updatedAt": "2026-01-01T00:01:05.6Z",
    }
    base.update(fields)
    return base


def _without(field: str) -> dict[str, object]:
    raw = _task()
    del raw[field]
    return raw


class TestRealPayload:
    """The real activity from Acronis's guide parses completely."""

    def test_real_activity_is_usable_for_completion_counting(self) -> None:
        """Every field the completion counters need is read from the real payload."""
        raw = ast.literal_eval("".join(REAL_ACTIVITIES_PPRINT))["items"][0]
        item = parse_activity(raw)
        assert item.problem(COMPLETION_FIELDS) is None
        assert item.id == "944455285181775872"
        assert item.state == "completed"
        assert item.result_code == "ok"
        assert item.type == "A59E8BF2-39C3-42C4-B667-CB672381A214"
        assert item.completed_at == pytest.approx(1587555243.290396913)
        assert item.updated_at == pytest.approx(1587555243.294683447)

    def test_real_tenant_without_uuid_yields_its_parent_from_the_locator(self) -> None:
        """The real tenant has no uuid; its parent is the previous id in the locator path."""
        raw = ast.literal_eval("".join(REAL_ACTIVITIES_PPRINT))["items"][0]
        assert parse_activity(raw).tenant == Tenant(
            id="1496265", name="John Doe", locator="/1/1496262/1496265/", uuid="", parent_id="1496262"
        )

    def test_real_64_bit_id_survives_exactly_without_its_string_twin(self) -> None:
        """An id above 2**53 is kept digit for digit when only the integer is sent."""
        raw = ast.literal_eval("".join(REAL_ACTIVITIES_PPRINT))["items"][0]
        del raw["idString"]
        assert parse_activity(raw).id == "944455285181775872"


class TestReferenceExamples:
    """The reference's example bodies parse without raising, unset times read as None."""

    def test_reference_task_reads_flags_blockers_and_unset_times(self) -> None:
        """Blockers, cancelRequested and priority are read; "" times are unset, not defects."""
        item = parse_task(json.loads("".join(REFERENCE_TASK_JSON)))
        assert isinstance(item, TaskItem)
        assert (item.id, item.state, item.priority) == ("0", "enqueued", "low")
        assert item.has_blockers
        assert item.cancel_requested
        assert item.assign_count == 0
        assert (item.enqueued_at, item.started_at, item.completed_at) == (None, None, None)
        assert item.defects == {}

    def test_reference_activity_parses_with_an_empty_tenant(self) -> None:
        """The example's tenant of empty strings is a tenant with an empty id, not a defect."""
        item = parse_activity(json.loads("".join(REFERENCE_ACTIVITY_JSON)))
        assert isinstance(item, ActivityItem)
        assert item.tenant == Tenant(id="")
        assert item.created_at is None
        assert item.defects == {}


class TestIds:
    """Ids come from idString, else the integer, never through a float."""

    def test_id_string_wins_over_the_integer(self) -> None:
        """The idString field is authoritative when both are present."""
        assert parse_task(_task(idString="18446744073709551615", id=1.8e19)).id == "18446744073709551615"

    def test_float_id_without_string_is_a_defect(self) -> None:
        """A float id has already lost digits, so the item has no usable id."""
        raw = _without("idString")
        raw["id"] = 9.44455285181775872e17
        item = parse_task(raw)
        assert item.id is None
        assert item.problem(["id"]) == "missing_field"

    def test_null_id_is_a_null_field(self) -> None:
        """An id of null is reported as null_field."""
        raw = _without("idString")
        raw["id"] = None
        assert parse_task(raw).problem(["id"]) == "null_field"


class TestTimes:
    """Times are RFC3339 with up to nanoseconds; unset, null and malformed differ."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2020-04-22T11:34:03.290396913Z", 1587555243.290396913),
            ("2020-04-22T11:34:03Z", 1587555243.0),
            ("2020-04-22T13:34:03.5+02:00", 1587555243.5),
            ("2020-04-22T06:34:03-05:00", 1587555243.0),
        ],
    )
    def test_rfc3339_variants_parse_to_unix_seconds(self, text: str, expected: float) -> None:
        """Fractions up to nanoseconds and numeric offsets are honoured."""
        assert parse_time(text) == pytest.approx(expected)

    @pytest.mark.parametrize(
        "text",
        [
            "yesterday",
            "2020-02-31T00:00:00Z",
            "2020-04-22 11:34:03",
            "1587555243",
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
        ],
    )
    def test_malformed_times_parse_to_none(self, text: str) -> None:
        """Anything that is not a valid RFC3339 instant since 1970 is rejected, not guessed."""
        assert parse_time(text) is None

    def test_format_time_round_trips_with_nanosecond_digits(self) -> None:
        """Formatting prints nine fraction digits that parse back to the same instant."""
        text = format_time(1587555243.25)
        assert text == "2020-04-22T11:34:03.250000000Z"
        assert parse_time(text) == 1587555243.25

    @pytest.mark.parametrize(
        ("value", "reason"), [(None, "null_field"), ("soon", "bad_time"), (17, "bad_time")]
    )
    def test_bad_completed_at_is_reported_with_its_reason(self, value: object, reason: str) -> None:
        """A null or malformed completedAt makes the item unusable for counting, with a reason."""
        item = parse_task(_task(completedAt=value))
        assert item.completed_at is None
        assert item.problem(COMPLETION_FIELDS) == reason

    def test_missing_completed_at_is_a_missing_field(self) -> None:
        """An absent completedAt is reported as missing_field."""
        assert parse_task(_without("completedAt")).problem(COMPLETION_FIELDS) == "missing_field"

    def test_empty_time_is_unset_and_only_a_problem_where_needed(self) -> None:
        """An empty startedAt is no defect, but a consumer needing it sees missing_field."""
        item = parse_task(_task(startedAt=""))
        assert item.started_at is None
        assert "startedAt" not in item.defects
        assert item.problem(COMPLETION_FIELDS) is None
        assert item.problem(["startedAt"]) == "missing_field"
        assert item.problem([], optional=["startedAt"]) is None

    def test_optional_time_may_be_unset_but_not_null(self) -> None:
        """A null startedAt is a defect even for a consumer that can live without a start."""
        assert parse_task(_task(startedAt=None)).problem([], optional=["startedAt"]) == "null_field"


class TestEnums:
    """State, result code and priority are checked against the API's enums."""

    def test_unknown_state_is_an_unknown_enum(self) -> None:
        """A state the reference does not list is reported, not passed on as a label."""
        item = parse_task(_task(state="exploded"))
        assert item.state is None
        assert item.problem(COMPLETION_FIELDS) == "unknown_enum"

    def test_unknown_result_code_is_an_unknown_enum(self) -> None:
        """A result code outside the six documented ones is reported."""
        assert parse_task(_task(result={"code": "meh"})).problem(["result.code"]) == "unknown_enum"

    @pytest.mark.parametrize(
        ("result", "reason"), [(None, "null_field"), ({}, "missing_field"), ({"code": None}, "null_field")]
    )
    def test_absent_result_code_names_its_reason(self, result: object, reason: str) -> None:
        """A null result, a result without code and a null code each say why."""
        assert parse_task(_task(result=result)).problem(["result.code"]) == reason

    def test_string_payload_is_tolerated(self) -> None:
        """result.payload may be a string in real responses."""
        item = parse_task(_task(result={"code": "warning", "payload": "Backup::Response"}))
        assert item.result_code == "warning"

    def test_unknown_priority_is_reported_and_unset(self) -> None:
        """A priority outside the enum does not become a label value."""
        item = parse_task(_task(priority="urgent"))
        assert item.priority is None
        assert item.defects["priority"] == "unknown_enum"


class TestTenantsAndLabels:
    """Tenant and label fields distinguish null and missing from empty."""

    @pytest.mark.parametrize(
        ("tenant", "reason"),
        [
            (None, "null_field"),
            ({"name": "x"}, "missing_field"),
            ({"id": None}, "null_field"),
            (5, "missing_field"),
        ],
    )
    def test_unusable_tenant_names_its_reason(self, tenant: object, reason: str) -> None:
        """A null tenant, a tenant without id and a non-object tenant are defects."""
        item = parse_task(_task(tenant=tenant))
        assert item.tenant is None
        assert item.problem(["tenant"]) == reason

    def test_null_queue_differs_from_empty_queue(self) -> None:
        """Null is a defect; an empty string is a value the labeler turns into "unknown"."""
        assert parse_task(_task(queue=None)).problem(["queue"]) == "null_field"
        assert parse_task(_task(queue="")).problem(["queue"]) is None

    @pytest.mark.parametrize(
        ("locator", "tenant_id", "parent"),
        [("/1/7/42/", "42", "7"), ("/1/", "1", ""), ("", "42", ""), ("/1/7/", "42", "7")],
    )
    def test_parent_comes_from_the_locator_path(self, locator: str, tenant_id: str, parent: str) -> None:
        """The parent is the id before the tenant's own in its locator."""
        assert parent_from_locator(locator, tenant_id) == parent


class TestNeverRaises:
    """Garbage items parse into reports, never exceptions."""

    @pytest.mark.parametrize(
        "raw",
        [None, [], "item", 7, {}, {"tenant": [], "result": "ok", "blockers": None, "assignCount": "3"}],
    )
    def test_garbage_parses_to_an_unusable_item(self, raw: object) -> None:
        """Anything that is not a task object yields an item that no consumer can use."""
        task, activity = parse_task(raw), parse_activity(raw)
        assert task.problem(COMPLETION_FIELDS) is not None
        assert activity.problem(COMPLETION_FIELDS) is not None
        assert task.assign_count == 0
        assert not task.has_blockers
