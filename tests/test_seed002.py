"""Seed 002's own example task, as that seed declares it, through the parser and a whole poll.

Seed 002 is a third-party schema of the same task: flat ``tenant_id``, ``result_code``,
``policy_id``, ``resource_id``, ``executor_id``, camelCase times, a string ``id``
(``"task-uuid-001"``) and no required field. Its example is copied to
tests/fixtures/seed002_task.json (the seed files are not on every machine) and checked
against the seed's schema when the seed is present. The simulator serves it verbatim
(``POST /_sim/items``), open and then completed, to a real exporter over HTTP.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.completions import TASK_FIELDS
from exporter.models import MAX_ID_LENGTH, parse_task, parse_time
from exporter.sources.open_tasks import OPEN_TASK_FIELDS
from simulator import ManualClock, SimulatorConfig, start_simulator
from simulator.timefmt import format_ns, to_ns
from tests.support.processes import start_exporter, wait_until

if TYPE_CHECKING:
    from tests.support.processes import ExporterProcess

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "seed002_task.json"
SEED_NAME = "002_f27a0ed81c1f206f.txt"
TASK: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))["task"]
TIMES = ("enqueuedAt", "startedAt", "completedAt", "updatedAt")
NOW = 1_790_000_000.0
Sample = tuple[str, dict[str, str], float]


def _seed_file() -> Path | None:
    """Find shared/seeds/ beside this checkout or one of its parents (where the project keeps it)."""
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "seeds" / SEED_NAME
        if candidate.is_file():
            return candidate
    return None


def test_the_fixture_is_the_seeds_example_and_valid_under_its_schema() -> None:
    """Every declared property, the seed's example values, its enums and formats."""
    seed = _seed_file()
    if seed is None:
        pytest.skip(f"seed {SEED_NAME} is not on this machine; the fixture stands in for it")
    text = seed.read_text(encoding="utf-8")
    schema = json.loads(text[text.index("{", text.index("JSON Schema\n")) :])
    properties = schema["properties"]
    assert set(TASK) == set(properties)
    for name, declared in properties.items():
        if "example" in declared:
            assert TASK[name] == declared["example"], name
        if declared.get("format") == "uuid":
            uuid.UUID(TASK[name])
        if declared.get("format") == "date-time":
            assert parse_time(TASK[name]) is not None, name
    del schema["$id"]  # a JSON pointer fragment, which draft 2020-12 forbids in $id: the seed's own slip
    jsonschema.validate(TASK, schema, format_checker=jsonschema.FormatChecker())


def test_the_seeds_task_parses_with_nothing_missing() -> None:
    """String id, uuid tenant, result, times: usable by the completions and the open-task scan."""
    item = parse_task(TASK)
    assert item.defects == {}
    assert (item.id, item.state, item.result_code, item.type) == (
        "task-uuid-001",
        "completed",
        "ok",
        "backup",
    )
    assert item.tenant is not None
    assert item.tenant.id == TASK["tenant_id"]
    assert item.completed_at == parse_time(TASK["completedAt"])
    assert item.problem(*TASK_FIELDS) is None
    assert parse_task({**TASK, "state": "started"}).problem(OPEN_TASK_FIELDS) is None


def test_an_omitted_time_is_unset_in_seed_002_but_missing_in_the_apis_shape() -> None:
    """Seed 002 requires nothing; the API's own shape writes "" for unset, so an omission is a defect."""
    open_task = {name: value for name, value in TASK.items() if name not in ("completedAt", "result_code")}
    item = parse_task({**open_task, "state": "started"})
    assert item.completed_at is None
    assert item.defects == {"result.code": "missing_field"}  # needed by completions only
    lacking_start = parse_task({name: value for name, value in TASK.items() if name != "startedAt"})
    assert lacking_start.problem(*TASK_FIELDS) is None
    camel = {"id": 7, "state": "completed", "tenant": {"id": "1"}, "result": {"code": "ok"}, "type": "backup"}
    camel |= {"queue": "q", "completedAt": TASK["completedAt"], "enqueuedAt": "", "updatedAt": ""}
    assert parse_task(camel).problem(*TASK_FIELDS) == "missing_field"  # startedAt absent


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param({"id": ""}, "missing_field", id="empty-id"),
        pytest.param({"id": None}, "null_field", id="null-id"),
        pytest.param({"id": 1.5}, "missing_field", id="float-id"),
        pytest.param({"id": True}, "missing_field", id="boolean-id"),
        pytest.param({"completedAt": None}, "null_field", id="null-time"),
        pytest.param({"startedAt": "yesterday"}, "bad_time", id="bad-time"),
        pytest.param({"state": "suspended"}, "unknown_enum", id="unknown-state"),
        pytest.param({"result_code": "partiallySucceeded"}, "unknown_enum", id="unknown-result"),
        pytest.param({"tenant_id": None}, "null_field", id="null-tenant"),
        pytest.param({"tenant_id": ["a"]}, "missing_field", id="tenant-not-a-string"),
        pytest.param({"completedAt": ""}, "missing_field", id="completed-without-completedAt"),
    ],
)
def test_a_genuinely_bad_seed_002_task_is_still_skipped_with_its_reason(
    change: dict[str, Any], reason: str
) -> None:
    """The shape is tolerated, broken values are not: the reasons of the API's own shape."""
    assert parse_task({**TASK, **change}).problem(*TASK_FIELDS) == reason


def test_a_long_string_id_is_remembered_by_a_bounded_key() -> None:
    """Equal ids give equal keys, different ones differ, and no key outgrows the bound."""
    long_id, other = "x" * 100_000, "x" * 99_999 + "y"
    keys = [parse_task({**TASK, "id": value}).id or "" for value in (long_id, long_id, other)]
    assert keys[0] == keys[1] != keys[2]
    assert all(len(key) <= MAX_ID_LENGTH for key in keys)


def _retimed(task: dict[str, Any], completed_at: float) -> dict[str, Any]:
    """Shift the example's times together so that it completes at ``completed_at``."""
    shift = completed_at - (parse_time(task["completedAt"]) or 0.0)
    return {**task, **{name: format_ns(to_ns((parse_time(task[name]) or 0.0) + shift)) for name in TIMES}}


def _samples(exporter: ExporterProcess, tenant: str) -> list[Sample]:
    text = exporter.get("/metrics").raise_for_status().text
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("tenant_id") == tenant or sample.name == "acronis_tasks"
    ]


def _value(samples: list[Sample], name: str, **labels: str) -> float | None:
    found = [value for sample, have, value in samples if sample == name and labels.items() <= have.items()]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def test_the_seeds_task_through_whole_polls_open_then_completed_once(tmp_path: Path) -> None:
    """Open, it is in acronis_open_tasks and acronis_tasks; completed, it is counted once.

    Counted with its tenant and result, gone from the open tasks, and its resource's and
    policy's last outcome shown (--metrics.resources).
    """
    completed = _retimed(TASK, NOW)
    started = {k: v for k, v in completed.items() if k not in ("completedAt", "result_code")} | {
        "state": "started"
    }
    tenant = TASK["tenant_id"]
    config = SimulatorConfig(tasks=200, open_tasks=30, tenants=4, seed=11)
    with start_simulator(config, clock=ManualClock(start=NOW)) as sim:
        sim_admin = f"{sim.url}/_sim/items"
        httpx.post(sim_admin, json={"item": started}).raise_for_status()
        args = ["--api.url", sim.url, "--api.client-id", config.client_id, "--poll.interval", "1",
                "--no-poll.activities", "--metrics.resources"]  # fmt: skip
        env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": config.client_secret}
        with start_exporter(args, env=env, workdir=tmp_path) as exporter:
            first = _samples(exporter, tenant)
            assert _value(first, "acronis_open_tasks", state="started", queue="unknown") == 1
            assert _value(first, "acronis_tasks", state="started") == sim.truth.counts_by_state()["started"]
            assert _value(first, "acronis_tasks_completed_total", result_code="ok") in (None, 0)

            httpx.post(sim_admin, json={"item": completed}).raise_for_status()
            wait_until(
                lambda: (
                    _value(_samples(exporter, tenant), "acronis_tasks_completed_total", result_code="ok") == 1
                ),
                what="the seed's task counted as completed",
                timeout=30.0,
            )
            polls = len(exporter.events("poll_finished"))
            wait_until(
                lambda: len(exporter.events("poll_finished")) >= polls + 2,
                what="two more polls",
                timeout=30.0,
            )
            later = _samples(exporter, tenant)

    assert _value(later, "acronis_tasks_completed_total", result_code="ok", queue="unknown") == 1
    assert sum(v for name, _, v in later if name == "acronis_tasks_completed_total") == 1
    assert not _value(later, "acronis_open_tasks", state="started")
    for role in ("resource", "policy"):
        name = f"acronis_{role}_last_completion_timestamp_seconds"
        assert _value(later, name, result_code="ok", **{f"{role}_id": TASK[f"{role}_id"]}) == NOW
