"""Property tests: whatever JSON, strings and numbers the API sends, nothing escapes and /metrics parses.

Hypothesis generates the hostile input; the examples are few, derandomized and kept in no
database, so the suite stays fast and the same on every CI run.
"""

from __future__ import annotations

import json
import math
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from pydantic import HttpUrl, SecretStr

from exporter.app import build
from exporter.completions import CompletionTracker
from exporter.config import ApiSettings, PollSettings, Settings
from exporter.models import parse_activity, parse_task
from exporter.payloads import BodyError, decode_json
from exporter.sources import ACTIVITIES, TASKS, OpenActivityScan, OpenTaskScan
from exporter.vocabulary import OPEN_STATES, RESULT_CODES, TASK_STATES
from tests.faults.rewriter import BodyRewriter
from tests.support.prometheus import PROMTOOL, prometheus_available
from tests.support.properties import reproducible

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from exporter.app import Exporter
    from simulator import RunningSimulator

pytestmark = pytest.mark.slow  # hypothesis drives whole polls

FAST = reproducible(40)

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
)
strings = st.one_of(
    st.text(),  # hypothesis draws surrogates, controls and astral characters too
    st.sampled_from(["", "\udc80", "a\ud800b", "\x00", '\n\\"', "q" * 70_000, *TASK_STATES, *RESULT_CODES]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, strings),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(strings, children, max_size=4)
    ),
    max_leaves=12,
)
times = st.one_of(json_values, st.sampled_from(["", "2026-01-01T00:00:00Z", "2026-02-31T00:00:00Z"]))
tenants = st.one_of(
    json_values,
    st.fixed_dictionaries({"id": st.one_of(strings, numbers)}, optional={"name": json_values}),
)
items = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "idString": json_values,
        "state": st.one_of(st.sampled_from(TASK_STATES), json_values),
        "result": st.one_of(st.fixed_dictionaries({"code": st.sampled_from(RESULT_CODES)}), json_values),
        "tenant": tenants,
        "queue": json_values,
        "type": json_values,
        "priority": json_values,
        "enqueuedAt": times,
        "createdAt": times,
        "startedAt": times,
        "completedAt": times,
        "updatedAt": times,
        "assignCount": json_values,
        "blockers": json_values,
    },
)


def _splice(page: list[Any], cut: int, junk: bytes) -> bytes:
    """Put arbitrary bytes somewhere inside a page (bad UTF-8 and broken JSON alike)."""
    body = json.dumps({"items": page}).encode()
    at = cut % (len(body) + 1)
    return body[:at] + junk + body[at:]


bodies = st.one_of(
    st.builds(lambda page: json.dumps({"items": page}).encode(), st.lists(items, max_size=6)),
    st.builds(lambda value: json.dumps(value).encode(), json_values),
    st.builds(
        _splice,
        st.lists(items, max_size=4),
        st.integers(0),
        st.binary(),
    ),
)


def _strings_and_floats(value: object) -> Iterator[object]:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            stack.extend(current)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
        elif isinstance(current, str | float):
            yield current


class TestParsers:
    """Parsing never raises, and what it keeps renders."""

    @FAST
    @given(bodies)
    def test_a_decoded_body_holds_only_valid_utf8_and_finite_numbers(self, body: bytes) -> None:
        """decode_json raises BodyError or returns strings that encode and floats that are finite."""
        try:
            value = decode_json(body)
        except BodyError:
            return
        for leaf in _strings_and_floats(value):
            if isinstance(leaf, str):
                leaf.encode("utf-8")  # raises on a lone surrogate
            else:
                assert math.isfinite(leaf)  # type: ignore[arg-type]

    @FAST
    @given(st.lists(st.one_of(items, json_values), max_size=6))
    def test_item_parsers_and_scans_never_raise(self, raw_items: list[object]) -> None:
        """Every item parses; scans and completion walks fold any list of them."""
        tasks, activities = OpenTaskScan(), OpenActivityScan()
        for raw in raw_items:
            tasks.add(parse_task(raw))
            activities.add(parse_activity(raw))
        assert tasks.listed == activities.listed == len(raw_items)
        for kind in (TASKS, ACTIVITIES):
            tracker = CompletionTracker(overlap=60.0, fields=kind.completion_fields)
            tracker.commit(tracker.fold([kind.parse(raw) for raw in raw_items], start=0.0))
            tracker.fold([kind.parse(raw) for raw in raw_items])
        assert all(state in OPEN_STATES for state, *_ in tasks.groups)


@pytest.fixture
def stub(simulator_factory: Callable[..., RunningSimulator]) -> Iterator[tuple[BodyRewriter, Exporter]]:
    """Build an exporter polling a simulator through a rewriter: real HTTP and tokens, bodies replaced."""
    sim = simulator_factory(tasks=60, open_tasks=10, tenants=3)
    with BodyRewriter(("127.0.0.1", sim.port)) as rewriter:
        api = ApiSettings(
            url=HttpUrl(f"http://127.0.0.1:{rewriter.port}"),
            client_id=sim.config.client_id,
            client_secret=SecretStr(sim.config.client_secret),
            max_retries=0,
            page_size=10,
            max_pages=5,
        )
        exporter = build(Settings(api=api, poll=PollSettings(interval=5.0)))
        try:
            yield rewriter, exporter
        finally:
            exporter.close()


def _replace(listing: bytes, count: bytes) -> Callable[[str, bytes], bytes]:
    return lambda path, _: count if "lod=count" in path else listing


class TestWholePoll:
    """One whole poll against replies hypothesis writes: no exception escapes, the exposition parses."""

    @settings(
        FAST,
        max_examples=20,
        suppress_health_check=[*FAST.suppress_health_check, HealthCheck.function_scoped_fixture],
    )
    @given(listing=bodies, count=bodies)
    def test_no_exception_escapes_a_source_and_the_exposition_parses(
        self, stub: tuple[BodyRewriter, Exporter], listing: bytes, count: bytes
    ) -> None:
        """Whatever listings and counts hold, poll_once publishes, and the exposition parses and lints."""
        rewriter, exporter = stub
        rewriter.rewrite("/api/task_manager/v2/", _replace(listing, count))
        try:
            snapshot = exporter.poller.poll_once()
        finally:
            rewriter.clear()
        assert set(snapshot.sources) == set(exporter.poller.sources), "every source reports"
        text = exporter.exposition.body("text").decode("utf-8")
        families = {family.name for family in text_string_to_metric_families(text)}
        assert "acronis_up" in families
        up = next(
            s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == "acronis_up"
        )
        assert up == float(snapshot.up)
        if prometheus_available():
            checked = subprocess.run(
                [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, check=False
            )
            assert checked.returncode == 0, checked.stdout + checked.stderr
