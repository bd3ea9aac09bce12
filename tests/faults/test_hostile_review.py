"""Replies a hostile review found breaking the exporter, each now a regression test.

Each test runs the real exporter against a small programmable stub API and states what an
operator needs: polling resumes after any Retry-After, joins on tenant_id stay one-to-one,
a malformed token fails as the token's fault, and an interval that would hammer the API is
refused at start.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.json_stub import JsonHandler, JsonStub
from tests.support.processes import run_exporter, start_exporter, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.support.processes import ExporterProcess

pytestmark = pytest.mark.slow

Answer = tuple[int, dict[str, str], object]  # status, extra headers, JSON body
TOKEN = {"access_token": "review-token", "token_type": "bearer", "expires_in": 7200}
RECOVERY = 20.0  # seconds: many poll intervals of 1 s


class StubApi(JsonStub):
    """An API that answers like an empty Acronis unless ``rule`` says otherwise."""

    def __init__(self) -> None:
        self.rule: Callable[[str, int], Answer | None] = lambda _path, _n: None
        self.token: object = TOKEN
        self.api_requests = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_json(200, owner.token)

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                with owner._lock:
                    owner.api_requests += 1
                    number = owner.api_requests
                status, headers, body = owner.rule(self.path, number) or owner.default(self.path)
                self.send_json(status, body, headers)

        super().__init__(Handler)

    @staticmethod
    def default(path: str) -> Answer:
        """Answer an empty API: zero counts, no items."""
        if "lod=count" in path:
            return 200, {}, {"count": 0}
        return 200, {}, {"items": [], "paging": {"cursors": {}}}


@pytest.fixture
def stub() -> Iterator[StubApi]:
    """Start the stub API."""
    api = StubApi()
    yield api
    api.stop()


def _start(stub: StubApi, workdir: Path, *flags: str) -> ExporterProcess:
    args = ["--api.url", stub.url, "--api.client-id", "review", "--poll.interval", "1", *flags]
    env = {"ACRONIS_EXPORTER_API__CLIENT_SECRET": "review-secret-7f3a"}
    return start_exporter(args, workdir=workdir, env=env, wait_ready=False)


def _clean_polls(exporter: ExporterProcess) -> int:
    return sum(1 for event in exporter.events("poll_finished") if event.fields.get("sources_failed") == 0)


@pytest.mark.parametrize("retry_after", ["1e308", "inf", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_one_absurd_retry_after_does_not_stop_polling_for_good(
    stub: StubApi, tmp_path: Path, retry_after: str
) -> None:
    """Reproduce: the API's first request answers 429 with this Retry-After, then the API behaves."""
    stub.rule = lambda _path, n: (
        (429, {"Retry-After": retry_after}, {"code": "throttled"}) if n == 1 else None
    )
    with _start(stub, tmp_path, "--api.retry-after-max", "5") as exporter:
        wait_until(lambda: stub.api_requests > 1, timeout=RECOVERY, what="the throttled request's successors")
        wait_until(lambda: _clean_polls(exporter) > 0, timeout=RECOVERY, what="a clean poll after the 429")


def _open_task(tenant_id: str, name: str) -> dict[str, object]:
    return {
        "id": abs(hash(tenant_id)) % 10**9,
        "state": "enqueued",
        "type": "BackupPlan",
        "queue": "backup",
        "priority": "normal",
        "tenant": {"id": tenant_id, "name": name, "locator": f"/1/{tenant_id}/", "uuid": "u"},
        "enqueuedAt": "2026-01-01T00:00:00Z",
        "startedAt": "",
        "completedAt": "",
        "assignCount": 1,
        "blockers": [],
        "cancelRequested": False,
    }


def _tenant_info_ids(exporter: ExporterProcess) -> list[str] | None:
    try:
        exposition = exporter.get("/metrics").text
    except httpx.ConnectError:  # not listening yet
        return None
    families = {family.name: family for family in text_string_to_metric_families(exposition)}
    info = families.get("acronis_tenant_info")
    ids = [sample.labels["tenant_id"] for sample in info.samples] if info else []
    return ids if any(tenant_id not in ("__other__", "unknown") for tenant_id in ids) else None


def test_tenant_info_has_one_row_per_tenant_id_whatever_the_api_names_its_tenants(
    stub: StubApi, tmp_path: Path
) -> None:
    """Reproduce: the open-task listing holds tenants with ids '__other__', 'unknown' and '1001'."""
    items = [_open_task("__other__", "__other__"), _open_task("unknown", "unknown"), _open_task("1001", "a")]

    def listing(path: str, _n: int) -> Answer | None:
        if "lod=count" in path or "state=completed" in path:
            return None
        return 200, {}, {"items": items, "paging": {"cursors": {}}}

    stub.rule = listing
    with _start(stub, tmp_path) as exporter:
        ids = wait_until(lambda: _tenant_info_ids(exporter), timeout=RECOVERY, what="tenant rows")
        assert sorted(ids) == sorted(set(ids)), ids


@pytest.mark.parametrize("token", ["a b\r\nX-Injected: 1", "nul\u0000x"])
def test_a_token_unusable_in_a_header_fails_as_a_token_problem(
    stub: StubApi, tmp_path: Path, token: str
) -> None:
    """Reproduce: the token endpoint answers {"access_token": <token>, "expires_in": 7200}."""
    stub.token = {"access_token": token, "token_type": "bearer", "expires_in": 7200}
    with _start(stub, tmp_path) as exporter:
        failures = wait_until(
            lambda: exporter.events("source_refresh_failed") or None,
            timeout=RECOVERY,
            what="a failed refresh",
        )
        assert {event.fields["reason"] for event in failures} <= {"shape", "auth"}


def test_a_poll_interval_that_would_hammer_the_api_is_refused() -> None:
    """Reproduce: acronis-task-exporter --poll.interval 1e-9 (any other setting valid)."""
    result = run_exporter(
        ["--api.url", "http://127.0.0.1:9", "--check-config", "--poll.interval", "1e-9"],
        env={"ACRONIS_EXPORTER_API__BEARER_TOKEN": "review-token"},
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert "poll.interval" in result.stderr


def _open_listing(body: object) -> Callable[[str, int], Answer | None]:
    def rule(path: str, _n: int) -> Answer | None:
        if "lod=count" in path or "state=completed" in path or "after=" in path:
            return None
        return 200, {}, body

    return rule


def _samples(exporter: ExporterProcess, name: str) -> list[tuple[dict[str, str], float]] | None:
    """Return the samples named ``name`` once a poll has been published, else None."""
    try:
        exposition = exporter.get("/metrics").text
    except httpx.ConnectError:  # not listening yet
        return None
    if "acronis_exporter_source_up" not in exposition or not exporter.events("poll_finished"):
        return None
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    ]


def test_a_year_one_enqueued_at_does_not_become_the_oldest_task(stub: StubApi, tmp_path: Path) -> None:
    """Reproduce: one open task with enqueuedAt 0001-01-01T00:00:00Z."""
    task = {**_open_task("1001", "a"), "enqueuedAt": "0001-01-01T00:00:00Z"}
    stub.rule = _open_listing({"items": [task], "paging": {"cursors": {}}})
    with _start(stub, tmp_path) as exporter:
        oldest = wait_until(
            lambda: _samples(exporter, "acronis_task_oldest_timestamp_seconds"),
            timeout=RECOVERY,
            what="a poll",
        )
        assert all(value > 0 for _labels, value in oldest), oldest


def test_an_oversized_cursor_fails_the_source_without_an_internal_error(
    stub: StubApi, tmp_path: Path
) -> None:
    """Reproduce: the open-task listing's paging.cursors.after is 100,000 characters long."""
    task = _open_task("1001", "a")
    stub.rule = _open_listing({"items": [task], "paging": {"cursors": {"after": "a" * 100_000}}})
    with _start(stub, tmp_path) as exporter:
        failures = wait_until(
            lambda: exporter.events("source_refresh_failed") or None,
            timeout=RECOVERY,
            what="a failed refresh",
        )
        assert "internal" not in {event.fields["reason"] for event in failures}


def test_a_queue_name_too_long_to_send_back_is_skipped_once_not_retried(
    stub: StubApi, tmp_path: Path
) -> None:
    """A 65 kB queue name is admitted from the walk but never sent: skipped once, task_counts stays up.

    The issue saw it crash every poll (httpx InvalidURL), sticky because the queue stays admitted.
    """
    task = {**_open_task("1001", "a"), "queue": "q" * 65_000}
    stub.rule = _open_listing({"items": [task], "paging": {"cursors": {}}})
    with _start(stub, tmp_path) as exporter:

        def unsendable() -> list[float]:
            skipped = _samples(exporter, "acronis_exporter_items_skipped_total") or []
            return [value for labels, value in skipped if labels.get("reason") == "unsendable"]

        # Zero-first: the new series shows 0 for a poll interval, then its count.
        wait_until(lambda: unsendable() == [1.0], timeout=RECOVERY, what="one unsendable queue counted")
        polls = len(exporter.events("poll_finished"))
        wait_until(lambda: len(exporter.events("poll_finished")) >= polls + 2, timeout=RECOVERY, what="polls")
        assert unsendable() == [1.0], "counted again: the queue was retried"
        sources = _samples(exporter, "acronis_exporter_source_up") or []
        up = {labels["source"]: value for labels, value in sources}
        assert up.get("task_counts") == 1.0, up
        assert not exporter.events("source_crashed")
        assert all(event.fields.get("sources_failed") == 0 for event in exporter.events("poll_finished")[1:])
