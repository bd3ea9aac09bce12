"""The Task Manager client over real HTTP: counts, pagination, throttling, retries and error mapping."""

from __future__ import annotations

import email.utils
import math
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from exporter.auth import OAuth2Auth, StaticBearerAuth
from exporter.client import TaskManagerClient
from exporter.config import ApiSettings
from exporter.errors import ApiError, ApiUnavailable, BadPayload, PaginationError, RateLimited
from exporter.redaction import SecretRegistry
from exporter.retry import retry_after_seconds
from exporter.selfmetrics import SelfMetrics
from exporter.tokens import TokenSource
from exporter.transport import endpoint_of
from exporter.typed_items import read_task
from exporter.vocabulary import OPEN_STATES
from tests.support.client_harness import ClientHarness, RecordingTokenSource, captured_logs, simulator_api
from tests.support.processes import free_port, wait_until

if TYPE_CHECKING:
    import io
    from collections.abc import Callable, Iterable, Iterator

    from exporter.pages import ListedItem, Page
    from simulator import ManualClock, RunningSimulator
    from simulator.requestlog import RequestRecord

TASKS_PATH = "/api/task_manager/v2/tasks"
OPEN = [("state", state) for state in OPEN_STATES]
TEMPLATES = {"/tasks", "/tasks/{id}", "/activities", "/activities/{id}", "/idp/token", "/astra/tasks"}


@dataclass(kw_only=True)
class Harness(ClientHarness):
    """A client wired to one simulator, with its metrics, stop event and log output."""

    stop: threading.Event

    def api_requests(self, at_least: int = 0) -> list[RequestRecord]:
        """Return the Task Manager requests answered so far, oldest first, once `at_least` are logged.

        The simulator logs a request just after answering it, so the client can be done
        before the last record lands: tests name how many they expect.
        """

        def answered() -> list[RequestRecord]:
            entries = self.sim.requests.entries()
            return [entry for entry in entries if entry.path.startswith("/api/task_manager")]

        wait_until(lambda: len(answered()) >= at_least, timeout=30.0, what=f"{at_least} answered requests")
        return answered()


@pytest.fixture
def secrets() -> SecretRegistry:
    """Return the registry the captured logs redact with, as the app owns one per run."""
    return SecretRegistry()


@pytest.fixture
def log_output(secrets: SecretRegistry) -> Iterator[io.StringIO]:
    """Capture the exporter's real log output (debug, JSON) and restore logging afterwards."""
    with captured_logs(secrets) as output:
        yield output


@pytest.fixture
def harness_factory(
    simulator_factory: Callable[..., RunningSimulator],
    clock: ManualClock,
    log_output: io.StringIO,
    secrets: SecretRegistry,
) -> Iterator[Callable[..., Harness]]:
    """Build harnesses; at teardown, check no secret or token reached the log output."""
    built: list[Harness] = []

    def build(api_overrides: dict[str, Any] | None = None, **sim_overrides: Any) -> Harness:  # noqa: ANN401
        sim = simulator_factory(**sim_overrides)
        api = simulator_api(sim, **(api_overrides or {}))
        registry, stop = CollectorRegistry(), threading.Event()
        metrics = SelfMetrics(registry)
        tokens = RecordingTokenSource(api, metrics, clock=clock.now, secrets=secrets)
        auth = OAuth2Auth(tokens, clock=clock.now)
        client = TaskManagerClient(api, auth, metrics, stop=stop, secrets=secrets)
        harness = Harness(sim=sim, client=client, tokens=tokens, registry=registry, stop=stop)
        harness.secrets.append(sim.config.client_secret)
        built.append(harness)
        return harness

    yield build
    for harness in built:
        harness.stop.set()
        harness.client.close()
        harness.assert_clean(log_output.getvalue())


@pytest.fixture
def harness(harness_factory: Callable[..., Harness]) -> Harness:
    """Return a harness on the default small simulator."""
    return harness_factory()


def _items(pages: Iterable[Page]) -> list[ListedItem]:
    """Return every item of a listing walk, as the sources read them: page by page."""
    return [item for page in pages for item in page]


class TestCount:
    """count() reads lod=count in every shape the API may answer."""

    @pytest.mark.parametrize("shape", ["count", "total", "size"])
    def test_count_reads_every_count_shape(self, harness_factory: Callable[..., Harness], shape: str) -> None:
        """{"count": N}, {"total": N} and {"size": N} all give N, with and without filters."""
        harness = harness_factory(count_shape=shape)
        truth = harness.sim.truth.counts_by_state("tasks")
        assert harness.client.count("tasks") == sum(truth.values())
        assert harness.client.count("tasks", OPEN) == sum(truth[state] for state in OPEN_STATES)

    def test_filters_with_several_values_are_repeated_keys(self, harness: Harness) -> None:
        """state=started&state=paused goes out as two keys, after lod=count."""
        harness.client.count("tasks", [("state", "started"), ("state", "paused")])
        assert harness.api_requests(1)[-1].query == [
            ("lod", "count"),
            ("state", "started"),
            ("state", "paused"),
        ]

    def test_count_falls_back_to_the_length_of_items(self, log_output: io.StringIO) -> None:
        """A reply with items but no count key is counted by its items, with a warning.

        The simulator never answers lod=count this way, so an httpx transport stands in.
        """
        transport = httpx.MockTransport(lambda _: httpx.Response(200, json={"items": [{}, {}, {}]}))
        api = ApiSettings(url="https://dc.example", bearer_token=SecretStr("static-token-value"))
        metrics = SelfMetrics(CollectorRegistry())
        auth = StaticBearerAuth(SecretStr("static-token-value"))
        with TaskManagerClient(api, auth, metrics, transport=transport) as client:
            assert client.count("activities") == 3
        assert '"event": "count_from_items"' in log_output.getvalue()

    def test_a_reply_sent_twice_is_never_taken_for_the_next_one(self, harness: Harness) -> None:
        """A proxy sends each reply twice on a kept-alive connection: each count still answers its own query.

        The copy arrives with the reply's end; a client that kept it would read it as the
        answer to its next request.
        """
        truth = harness.sim.truth.counts_by_state("tasks")
        harness.sim.faults.duplicate_reply()
        counted = {state: harness.client.count("tasks", [("state", state)]) for state in [*truth, *truth]}
        assert counted == truth
        assert len(set(truth.values())) > 1, "equal counts would hide an answer to another query"
        pages = harness.client.iter_pages("tasks", OPEN, lod="short", limit=7)
        ids = [str(read_task(item).id) for item in _items(pages)]
        assert sorted(ids) == sorted(item.id for item in harness.sim.truth.open_items("tasks"))

    def test_a_reply_sent_twice_through_a_forward_proxy_answers_no_other_request(
        self, harness_factory: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The same, reached through an HTTP forward proxy (HTTP_PROXY), which wraps the connection once more.

        The simulator is its own proxy here: it answers the absolute-form requests a forward
        proxy receives, and the duplicated reply reaches the client as a proxy would pass it on.
        """
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        port = free_port()
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        proxied = harness_factory(port=port)  # the simulator proxies to itself
        truth = proxied.sim.truth.counts_by_state("tasks")
        proxied.sim.faults.duplicate_reply()
        counted = {state: proxied.client.count("tasks", [("state", state)]) for state in [*truth, *truth]}
        assert counted == truth

    def test_count_of_the_wrong_shape_is_bad_payload(self, harness: Harness) -> None:
        """A list where an object was due is BadPayload(shape), not a crash or a zero."""
        harness.sim.faults.wrong_shape()
        with pytest.raises(BadPayload) as caught:
            harness.client.count("tasks")
        assert caught.value.reason == "shape"


class TestPagination:
    """iter_pages() follows cursors to the true end and refuses loops."""

    @pytest.mark.parametrize("placement", ["paging", "top"])
    def test_walk_returns_exactly_the_open_items(
        self, harness_factory: Callable[..., Harness], placement: str
    ) -> None:
        """With the cursor in paging or at top level, the pages hold every open task once."""
        harness = harness_factory(cursor_placement=placement)
        pages = list(harness.client.iter_pages("tasks", OPEN, lod="short", limit=7))
        ids = [str(read_task(item).id) for page in pages for item in page]
        expected = {item.id for item in harness.sim.truth.open_items("tasks")}
        assert sorted(ids) == sorted(expected)
        assert len(pages) == math.ceil(len(expected) / 7)

    def test_later_pages_send_only_after_limit_and_lod(self, harness: Harness) -> None:
        """The first page carries the filters; the cursor carries them afterwards."""
        _items(harness.client.iter_pages("tasks", OPEN, lod="short", limit=10))
        pages = math.ceil(len(harness.sim.truth.open_items("tasks")) / 10)
        first, *later = [entry.query for entry in harness.api_requests(pages)]
        assert first == [("limit", "10"), ("lod", "short"), *OPEN]
        assert later
        for query in later:
            assert [key for key, _ in query] == ["after", "limit", "lod"]

    def test_a_silently_capped_page_size_is_followed_to_the_end(
        self, harness_factory: Callable[..., Harness]
    ) -> None:
        """When the API returns fewer items than asked, the cursor still leads to every item."""
        harness = harness_factory(max_page_size=60)
        items = _items(harness.client.iter_pages("tasks", lod="tiny", limit=500))
        assert len(items) == sum(harness.sim.truth.counts_by_state("tasks").values())

    def test_repeated_cursor_is_a_pagination_error(self, harness: Harness) -> None:
        """A page that hands back the cursor just sent would loop forever: it raises."""
        harness.sim.faults.repeat_cursor()
        with pytest.raises(PaginationError, match="repeated a cursor"):
            list(harness.client.iter_pages("tasks", lod="tiny", limit=10))

    def test_endless_cursors_end_at_the_first_empty_page(self, harness: Harness) -> None:
        """A fresh cursor past the last item leads to an empty page, which ends the walk."""
        harness.sim.faults.endless_pages()
        items = _items(harness.client.iter_pages("tasks", lod="tiny", limit=1000))
        assert len(items) == sum(harness.sim.truth.counts_by_state("tasks").values())
        assert len(harness.api_requests(2)) == 2

    def test_a_walk_longer_than_the_page_budget_is_a_pagination_error(self, harness: Harness) -> None:
        """More pages than max_pages raises after exactly max_pages requests, never a silent cut."""
        harness.sim.faults.endless_pages()
        with pytest.raises(PaginationError, match="after 4"):
            list(harness.client.iter_pages("tasks", lod="tiny", limit=10, max_pages=4))
        assert len(harness.api_requests(4)) == 4

    def test_listing_of_the_wrong_shape_is_bad_payload(self, harness: Harness) -> None:
        """A listing without an items list is BadPayload(shape)."""
        harness.sim.faults.wrong_shape()
        with pytest.raises(BadPayload) as caught:
            next(harness.client.iter_pages("tasks", lod="tiny"))
        assert caught.value.reason == "shape"


class TestThrottling:
    """429 and 503 with Retry-After hold back every request until the moment given."""

    def test_retry_after_seconds_is_waited_out_then_the_request_succeeds(self, harness: Harness) -> None:
        """The retry reaches the API no sooner than Retry-After seconds after the 429."""
        harness.client.count("tasks")
        harness.sim.faults.fail(429, retry_after=1)
        harness.client.count("tasks")
        throttled, retried = harness.api_requests(3)[-2:]
        assert (throttled.status, retried.status) == (429, 200)
        assert retried.at - throttled.at >= 1.0
        assert (
            harness.sample("acronis_exporter_api_retries_total", endpoint="/tasks", reason="throttled") == 1
        )
        assert harness.sample("acronis_exporter_api_throttled_seconds_total") == pytest.approx(1.0, abs=0.01)

    def test_retry_after_http_date_is_read_on_the_api_clock(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """A Retry-After date is measured against the reply's Date, not against our clock.

        The simulator's clock (its Date header) stands months away from ours: "2 s after
        the API's now" must hold requests back 2 s, neither none nor for months.
        """
        harness.client.count("tasks")
        api_now = math.floor(clock.now())  # the API's Date has whole seconds
        harness.sim.faults.fail(503, retry_after=email.utils.formatdate(api_now + 2, usegmt=True))
        harness.client.count("tasks")
        throttled, retried = harness.api_requests(3)[-2:]
        assert (throttled.status, retried.status) == (503, 200)
        assert retried.at - throttled.at >= 2.0 - 0.01
        assert harness.sample("acronis_exporter_api_throttled_seconds_total") == pytest.approx(2.0, abs=0.01)

    def test_the_gate_holds_back_other_threads_too(self, harness: Harness) -> None:
        """While one thread honours Retry-After, another thread's request waits as well."""
        harness.client.count("tasks")
        harness.sim.faults.fail(429, retry_after=1)
        first = threading.Thread(target=harness.client.count, args=("tasks",))
        first.start()
        wait_until(
            lambda: harness.sample("acronis_exporter_api_throttled_seconds_total") > 0,
            timeout=30.0,
            what="the throttle gate to close",
        )
        harness.client.count("activities")
        first.join(timeout=30)
        answered = harness.api_requests(4)
        throttled = next(entry for entry in answered if entry.status == 429)
        other = next(entry for entry in answered if entry.path.endswith("/activities"))
        assert other.at - throttled.at >= 1.0

    def test_retry_after_beyond_the_cap_fails_at_once(self, harness_factory: Callable[..., Harness]) -> None:
        """A Retry-After longer than api.retry_after_max is RateLimited without waiting or retrying."""
        harness = harness_factory({"retry_after_max": 5.0})
        harness.sim.faults.fail(429, retry_after=3600)
        with pytest.raises(RateLimited) as caught:
            harness.client.count("tasks")
        assert caught.value.retry_after == 3600
        assert len(harness.api_requests(1)) == 1
        assert harness.sample(
            "acronis_exporter_api_request_failures_total", endpoint="/tasks", reason="throttled"
        )

    def test_throttling_that_outlasts_the_retries_is_rate_limited(
        self, harness_factory: Callable[..., Harness]
    ) -> None:
        """Three 429s with one retry allowed end in RateLimited after exactly two requests."""
        harness = harness_factory({"max_retries": 1})
        harness.sim.faults.fail(429, times=3, retry_after=0)
        with pytest.raises(RateLimited):
            harness.client.count("tasks")
        assert [entry.status for entry in harness.api_requests(2)] == [429, 429]

    def test_stop_interrupts_a_retry_after_wait(self, harness_factory: Callable[..., Harness]) -> None:
        """SIGTERM's stop event ends a ten-minute Retry-After wait with ApiUnavailable(cancelled)."""
        harness = harness_factory({"retry_after_max": 900.0})
        harness.sim.faults.fail(429, retry_after=600)
        errors: list[ApiError] = []

        def count() -> None:
            try:
                harness.client.count("tasks")
            except ApiError as error:
                errors.append(error)

        worker = threading.Thread(target=count)
        worker.start()
        wait_until(
            lambda: any(entry.status == 429 for entry in harness.api_requests()),
            timeout=30.0,
            what="a 429 answered",
        )
        harness.stop.set()
        worker.join(timeout=60)
        assert not worker.is_alive()
        assert [error.reason for error in errors] == ["cancelled"]
        assert not harness.sample(
            "acronis_exporter_api_request_failures_total", endpoint="/tasks", reason="cancelled"
        )


class TestServerErrors:
    """5xx and transport failures are retried with backoff, then mapped onto ApiUnavailable."""

    def test_a_5xx_burst_shorter_than_the_retries_is_absorbed(self, harness: Harness) -> None:
        """Two 500s with two retries allowed still return the count."""
        expected = harness.client.count("tasks")
        harness.sim.faults.fail(500, times=2)
        assert harness.client.count("tasks") == expected
        assert harness.sample("acronis_exporter_api_retries_total", endpoint="/tasks", reason="http_5xx") == 2

    def test_a_5xx_burst_longer_than_the_retries_is_api_unavailable(self, harness: Harness) -> None:
        """Three HTML 502s with two retries allowed fail, naming endpoint and status but not the page."""
        harness.client.count("tasks")
        harness.sim.faults.fail(502, times=3, html=True)
        with pytest.raises(ApiUnavailable) as caught:
            harness.client.count("tasks")
        assert (caught.value.reason, str(caught.value)) == ("http_5xx", "GET /tasks: HTTP 502")
        assert harness.sample(
            "acronis_exporter_api_request_failures_total", endpoint="/tasks", reason="http_5xx"
        )
        assert [entry.status for entry in harness.api_requests(4)][-3:] == [502, 502, 502]

    def test_timeout_is_api_unavailable_timeout(self, harness_factory: Callable[..., Harness]) -> None:
        """A response slower than api.timeout is retried, then reported as a timeout."""
        harness = harness_factory({"timeout": 0.2, "max_retries": 1})
        harness.client.count("tasks")  # mint while the simulator is fast
        harness.sim.faults.latency(1.0)
        with pytest.raises(ApiUnavailable) as caught:
            harness.client.count("tasks")
        assert caught.value.reason == "timeout"
        assert "no full reply within 0.2s" in str(caught.value)
        assert harness.sample("acronis_exporter_api_retries_total", endpoint="/tasks", reason="timeout") == 1
        assert harness.sample(
            "acronis_exporter_api_request_failures_total", endpoint="/tasks", reason="timeout"
        )

    def test_connection_refused_is_api_unavailable_connect(self, clock: ManualClock) -> None:
        """Nothing listening on the port is ApiUnavailable(connect), after the retries."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        api = ApiSettings(
            url=f"http://127.0.0.1:{port}",
            client_id="c",
            client_secret=SecretStr("closed-port-secret"),
            max_retries=1,
            backoff_initial=0.01,
            backoff_max=0.01,
        )
        metrics = SelfMetrics(CollectorRegistry())
        auth = OAuth2Auth(TokenSource(api, metrics, clock=clock.now), clock=clock.now)
        with TaskManagerClient(api, auth, metrics) as client, pytest.raises(ApiUnavailable) as caught:
            client.count("tasks")
        assert caught.value.reason == "connect"
        assert "closed-port-secret" not in str(caught.value)


class TestBadBodies:
    """Bodies we cannot read are BadPayload, never retried into a wrong answer."""

    @pytest.mark.parametrize("fault", ["truncate_json", "malformed_json"])
    def test_broken_json_is_bad_payload_decode(self, harness: Harness, fault: str) -> None:
        """A truncated or non-JSON body raises BadPayload(decode) after one request."""
        harness.client.count("tasks")
        getattr(harness.sim.faults, fault)()
        with pytest.raises(BadPayload) as caught:
            harness.client.count("tasks")
        assert caught.value.reason == "decode"
        assert harness.sample(
            "acronis_exporter_api_request_failures_total", endpoint="/tasks", reason="decode"
        )
        assert len(harness.api_requests(2)) == 2

    def test_a_rejected_filter_is_an_api_error_with_the_api_code(self, harness: Harness) -> None:
        """A 400 names the endpoint, the status and the API's error code, not the whole body."""
        with pytest.raises(ApiError) as caught:
            harness.client.count("tasks", [("state", "bogus")])
        assert caught.value.reason == "http_4xx"
        assert str(caught.value).startswith("GET /tasks: HTTP 400: ")
        assert "{" not in str(caught.value)


class TestInstrumentation:
    """Request counters use route templates and status codes, never raw URLs."""

    def test_requests_are_counted_by_endpoint_template_and_code(self, harness: Harness) -> None:
        """Counts, listings, the token request and a failed try all land on template labels."""
        next(harness.client.iter_pages("tasks", lod="tiny", limit=1))
        harness.sim.faults.fail(500)
        harness.client.count("activities")
        assert harness.sample("acronis_exporter_api_requests_total", endpoint="/idp/token", code="200") == 1
        assert harness.sample("acronis_exporter_api_requests_total", endpoint="/tasks", code="200") == 1
        assert harness.sample("acronis_exporter_api_requests_total", endpoint="/activities", code="500") == 1
        assert harness.sample("acronis_exporter_api_request_duration_seconds_count", endpoint="/tasks") == 1
        exposition = generate_latest(harness.registry).decode()
        for family in text_string_to_metric_families(exposition):
            for sample in family.samples:
                assert sample.labels.get("endpoint", "/tasks") in TEMPLATES
        harness.assert_clean(exposition)

    @pytest.mark.parametrize(
        ("path", "template"),
        [
            ("/api/task_manager/v2/tasks", "/tasks"),
            ("/api/task_manager/v2/tasks/1515004791535955968", "/tasks/{id}"),
            ("/api/task_manager/v2/activities/", "/activities"),
            ("/api/task_manager/v2/activities/42", "/activities/{id}"),
            ("/api/2/idp/token", "/idp/token"),
            ("/somewhere/else", "other"),
        ],
    )
    def test_paths_map_to_route_templates(self, path: str, template: str) -> None:
        """Ids never become label values."""
        assert endpoint_of(path) == template

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("7", 7.0),
            ("0", 0.0),
            (None, None),
            ("soon", None),
            ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
            # Not delay-seconds by RFC 9110: unreadable, so the client backs off instead.
            ("1e308", None),
            ("inf", None),
            ("NaN", None),
            ("-5", None),
            ("1_0", None),
            ("9" * 400, None),
        ],
    )
    def test_retry_after_parses_seconds_and_dates(self, header: str | None, expected: float | None) -> None:
        """Delta seconds, past dates (no wait) and garbage (backoff instead) are told apart."""
        assert retry_after_seconds(header) == expected
