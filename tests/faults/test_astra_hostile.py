"""An Astra Control API that misbehaves on purpose, each case a regression test of a defect found.

Each test runs the real exporter (Astra only) against a small programmable stub of the Astra
task listing over real HTTP, and states what an operator needs: a finished task is counted
once however long the API leaves it out, and a name or id of any size neither bloats every
scrape nor memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.json_stub import JsonHandler, JsonStub
from tests.support.processes import start_exporter, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.support.processes import ExporterProcess

pytestmark = pytest.mark.slow

ACCOUNT = "acct-hostile"
TOKEN = "astra-hostile-Token-5c1e9a"  # noqa: S105 - the stub's own test credential
Listing = Callable[[int], list[dict[str, Any]]]  # request number -> the tasks listed


class StubAstra(JsonStub):
    """Lists the tasks ``listing`` gives for each request, on one page; 401 without ``TOKEN``."""

    def __init__(self) -> None:
        self.listing: Listing = lambda _n: []
        self.requests = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.send_json(401, {"title": "Unauthorized"})
                    return
                with owner._lock:
                    owner.requests += 1
                    number = owner.requests
                self.send_json(200, {"items": owner.listing(number), "metadata": {}})

        super().__init__(Handler)


@pytest.fixture
def stub() -> Iterator[StubAstra]:
    """Start the stub API."""
    api = StubAstra()
    yield api
    api.stop()


def _start(stub: StubAstra, workdir: Path, *flags: str) -> ExporterProcess:
    token = workdir / "token"
    token.write_text(TOKEN)
    args = ["--astra.url", stub.url, "--astra.account-id", ACCOUNT, "--astra.token-file", str(token),
            "--poll.interval", "1", "--api.max-retries", "0", *flags]  # fmt: skip
    return start_exporter(args, workdir=workdir, wait_ready=False)


def _task(task_id: str, name: str, state: str) -> dict[str, Any]:
    times = {"startTime": "2026-01-01T00:00:00Z"}
    if state in ("completed", "failed", "cancelled"):
        times["endTime"] = "2026-01-01T00:05:00Z"
    return {"type": "application/astra-task", "id": task_id, "name": name, "state": state, **times}


def _family(exporter: ExporterProcess, name: str) -> dict[frozenset[tuple[str, str]], float]:
    text = exporter.get("/metrics").raise_for_status().text
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def _finished(exporter: ExporterProcess) -> float:
    return sum(_family(exporter, "astra_control_tasks_finished_total").values())


def test_a_finished_task_left_out_of_many_listings_is_counted_once(stub: StubAstra, tmp_path: Path) -> None:
    """Reproduce: a task finishes, the API lists nothing for a few polls (a glitch), then lists it again."""
    running, finished = [_task("t-1", "backup", "running")], [_task("t-1", "backup", "completed")]

    def listing(number: int) -> list[dict[str, Any]]:
        if number == 1:
            return running  # the baseline
        if number <= 3 or number > 10:
            return finished
        return []

    stub.listing = listing
    with _start(stub, tmp_path) as exporter:
        exporter.wait_ready()
        wait_until(lambda: stub.requests >= 3, timeout=30, what="the finish listed")
        wait_until(lambda: _finished(exporter) == 1, timeout=30, what="the finish counted")
        wait_until(lambda: stub.requests >= 14, timeout=60, what="listings after the glitch")
        wait_until(lambda: len(exporter.events("poll_finished")) >= 13, timeout=30, what="their polls")
        assert _finished(exporter) == 1


@pytest.mark.parametrize(
    "first", [[], [{"id": "no-name", "state": "completed"}]], ids=["empty", "all-skipped"]
)
def test_a_first_listing_that_shows_nothing_does_not_make_the_history_new(
    stub: StubAstra, tmp_path: Path, first: list[dict[str, Any]]
) -> None:
    """Reproduce: the first listing is empty or all skipped, the next lists 300 tasks long finished.

    Only the task that finished after the exporter's first listing (on the API's clock) is counted.
    """
    history = [_task(f"old-{i}", "backup", "completed") for i in range(300)]  # finished 2026-01-01
    late = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))  # the stub's Date is now
    new = {**_task("new-1", "backup", "completed"), "endTime": late}

    def listing(number: int) -> list[dict[str, Any]]:
        if number == 1:
            return first
        return history if number <= 3 else [*history, new]

    stub.listing = listing
    with _start(stub, tmp_path) as exporter:
        exporter.wait_ready()
        wait_until(lambda: stub.requests >= 5, timeout=30, what="listings with the new finish")
        wait_until(lambda: len(exporter.events("poll_finished")) >= 5, timeout=30, what="their polls")
        # Zero-first shows a new series at 0 for a poll interval: wait for what it holds.
        wait_until(lambda: _finished(exporter) > 0, timeout=30, what="the finished counter after its hold")
        assert _finished(exporter) == 1
        assert _up(exporter) == 1


def test_huge_task_names_and_ids_stay_small_and_distinct(stub: StubAstra, tmp_path: Path) -> None:
    """A 200 KB name or id must not become a 200 KB label on every scrape, nor merge two tasks."""
    long = "x" * 200_000
    stub.listing = lambda _n: [
        _task(long + "1", long + "a", "running"),
        _task(long + "2", long + "b", "running"),
        _task("t-3", "backup", "running"),
    ]
    with _start(stub, tmp_path) as exporter:
        exporter.wait_ready()
        open_tasks = _family(exporter, "astra_control_open_tasks")
        assert sum(open_tasks.values()) == 3
        assert len(open_tasks) == 3
        longest = max(len(line) for line in exporter.get("/metrics").text.splitlines())
        assert longest < 4096


def _up(exporter: ExporterProcess) -> float | None:
    return _family(exporter, "astra_control_up").get(frozenset())


def _refresh_failures(exporter: ExporterProcess, reason: str) -> float:
    labels = frozenset({("source", "astra_tasks"), ("reason", reason)})
    return _family(exporter, "acronis_exporter_refresh_failures_total").get(labels, 0.0)


@pytest.mark.parametrize(
    "rotated", ["", "\n", "line-one\nline-two", "two words", "t\u00f6ken-\u00e9", "tab\there", None]
)
def test_a_token_file_rotated_to_something_unusable_fails_the_source_alone(
    stub: StubAstra, tmp_path: Path, rotated: str | None
) -> None:
    """An empty, blank, two-line, spaced or non-ASCII token, or none (deleted): failed as auth, recovered.

    The failure is the operator's (reason auth, the message names the file), never the API's
    (shape) nor a crash of the exporter (internal).
    """
    stub.listing = lambda _n: [_task("t-1", "backup", "running")]
    with _start(stub, tmp_path) as exporter:
        exporter.wait_ready()
        token = tmp_path / "token"
        if rotated is None:
            token.unlink()
        else:
            token.write_text(rotated, encoding="utf-8")
        wait_until(lambda: _up(exporter) == 0, timeout=30, what="astra_control_up 0 on the unusable token")
        wait_until(
            lambda: _refresh_failures(exporter, "auth") >= 1, timeout=30, what="an auth failure counted"
        )
        failed = exporter.events("source_refresh_failed")
        assert failed, "no source_refresh_failed event"
        messages = [str(event.fields.get("error")) for event in failed]
        assert all("astra.token_file" in message and str(token) in message for message in messages), messages
        polls = len(exporter.events("poll_finished"))
        wait_until(lambda: len(exporter.events("poll_finished")) > polls + 1, timeout=30, what="polls go on")
        token.write_text(TOKEN)
        wait_until(lambda: _up(exporter) == 1, timeout=30, what="astra_control_up 1 on the restored token")
        assert exporter.returncode is None
        for secret in (TOKEN, *(rotated or "").split()):
            assert secret not in exporter.stderr()
        assert "Traceback" not in exporter.stderr()
        assert "source_crashed" not in exporter.stderr()
