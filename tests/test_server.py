"""The web server: /metrics negotiation and gzip, pages, probes, TLS and basic auth, over real HTTP."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.parser import text_string_to_metric_families as parse_text
from pydantic import HttpUrl, SecretStr

from exporter.app import build
from exporter.config import ApiSettings, Settings, WebSettings
from exporter.exposition import Exposition, self_registry
from exporter.listener import MetricsServer
from exporter.selfmetrics import SelfMetrics
from exporter.server import BasicAuth, ExporterApp
from exporter.snapshot import Snapshot, SnapshotStore
from tests.support.snapshots import hand_built_snapshot

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path
    from wsgiref.types import StartResponse, WSGIEnvironment

    from prometheus_client.metrics_core import Metric

    from simulator import RunningSimulator

# What Prometheus 2.x sends when it scrapes.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
# The OpenMetrics parser is untyped in client_python; this is its signature.
parse_openmetrics: Callable[[str], Iterable[Metric]] = openmetrics_parser.text_string_to_metric_families
USER, PASSWORD = "prometheus", "s3cret-scrape-password"


class Served:
    """A server running in a thread, with the knobs tests turn."""

    def __init__(
        self, server: MetricsServer, store: SnapshotStore, alive: threading.Event, metrics: SelfMetrics
    ) -> None:
        self.server = server
        self.store = store
        self.metrics = metrics
        self.alive = alive
        self.url = server.url  # bound to 127.0.0.1, so this is a loopback URL


@contextlib.contextmanager
def serve(
    web: WebSettings | None = None,
    *,
    store: SnapshotStore | None = None,
    api_url: str = "https://eu2-cloud.acronis.com",
) -> Iterator[Served]:
    """Run the real app on a free loopback port until the block ends."""
    web = web or WebSettings(listen_address="127.0.0.1:0")
    store = store if store is not None else SnapshotStore(initial=hand_built_snapshot())
    registry = self_registry()
    metrics = SelfMetrics(registry)
    metrics.api_requests.labels("/tasks", "200").inc()
    alive = threading.Event()
    alive.set()
    password = web.resolved_basic_auth_password
    auth = BasicAuth(web.basic_auth_username, password) if web.basic_auth_username else None
    app = ExporterApp(Exposition(store, registry), store, alive.is_set, api_url=api_url, basic_auth=auth)
    server = MetricsServer(web, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(server, store, alive, metrics)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def served() -> Iterator[Served]:
    """Serve the hand-built snapshot over plain HTTP."""
    with serve() as running:
        yield running


def names(families: Iterable[Metric]) -> set[str]:
    """Return the family names of a parsed exposition."""
    return {family.name for family in families}


def raw_scrape(client: httpx.Client, url: str) -> tuple[bytes, str | None]:
    """GET /metrics accepting gzip; return the undecoded body and its Content-Encoding."""
    with client.stream("GET", url + "/metrics", headers={"Accept-Encoding": "gzip"}) as response:
        return b"".join(response.iter_raw()), response.headers.get("content-encoding")


def single_gzip_member(raw: bytes) -> bytes:
    """Decode exactly one gzip member and insist nothing follows it."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    plain = decoder.decompress(raw) + decoder.flush()
    assert decoder.eof, "the gzip member is not finished"
    assert decoder.unused_data == b"", "bytes follow the first gzip member"
    return plain


def api_requests(exposition: str) -> float:
    """Sum the exporter's own API request counter in a text exposition."""
    return sum(
        sample.value
        for family in parse_text(exposition)
        if family.name == "acronis_exporter_api_requests"
        for sample in family.samples
        if sample.name.endswith("_total")
    )


class TestMetrics:
    """/metrics speaks both exposition formats and compresses on request."""

    def test_plain_scrape_gets_text_format_with_data_and_self_metrics(self, served: Served) -> None:
        """Without Accept, /metrics is text 0.0.4 holding data, build info and process metrics."""
        response = httpx.get(served.url + "/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        parsed = names(parse_text(response.text))
        assert {"acronis_tasks", "acronis_up", "acronis_exporter_build_info", "process_cpu_seconds"} <= parsed
        assert "acronis_exporter_api_requests" in parsed

    def test_prometheus_accept_header_gets_openmetrics(self, served: Served) -> None:
        """Prometheus' Accept header yields OpenMetrics 1.0 with exactly one # EOF, at the end."""
        response = httpx.get(served.url + "/metrics", headers={"Accept": PROMETHEUS_ACCEPT})
        assert (
            response.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
        )
        assert response.text.endswith("# EOF\n")
        assert response.text.count("# EOF") == 1
        parsed = names(parse_openmetrics(response.text))
        assert {
            "acronis_tasks_completed",
            "acronis_task_duration_seconds",
            "acronis_exporter_build_info",
        } <= parsed

    def test_text_preferred_by_quality_wins_over_openmetrics(self, served: Served) -> None:
        """A client ranking text/plain above OpenMetrics gets text."""
        accept = "text/plain;version=0.0.4;q=1.0,application/openmetrics-text;q=0.5"
        response = httpx.get(served.url + "/metrics", headers={"Accept": accept})
        assert response.headers["content-type"].startswith("text/plain")

    def test_no_created_series_are_exposed(self, served: Served) -> None:
        """Counters carry no _created samples in either format."""
        text = httpx.get(served.url + "/metrics").text
        openmetrics = httpx.get(served.url + "/metrics", headers={"Accept": PROMETHEUS_ACCEPT}).text
        assert "_created" not in text
        assert "_created" not in openmetrics

    def test_gzip_is_used_when_accepted(self, served: Served) -> None:
        """Accept-Encoding: gzip gets a gzip body that decompresses to the plain exposition."""
        with httpx.Client() as client:
            raw, encoding = raw_scrape(client, served.url)
            plain = client.get(served.url + "/metrics", headers={"Accept-Encoding": "identity"})
        assert encoding == "gzip"
        assert "content-encoding" not in plain.headers
        unzipped = single_gzip_member(raw).decode()
        assert names(parse_text(unzipped)) == names(parse_text(plain.text))

    def test_gzip_body_is_one_member_that_follows_live_counters_and_polls(self, served: Served) -> None:
        """Each gzipped scrape is one complete gzip member holding the self metrics of the moment.

        The data part is compressed once per poll and the live part per scrape; a decoder that
        reads a single member (httpx, many proxies) must still get the whole exposition.
        """
        requests = served.metrics.api_requests.labels("/tasks", "200")
        bodies = []
        with httpx.Client() as client:
            for change in ("inc", "inc", "publish"):
                bodies.append(single_gzip_member(raw_scrape(client, served.url)[0]).decode())
                if change == "inc":
                    requests.inc()
                else:
                    served.store.publish(Snapshot(taken_at=1.0, sources={}))
            bodies.append(single_gzip_member(raw_scrape(client, served.url)[0]).decode())
        assert [api_requests(body) for body in bodies] == [1, 2, 3, 3]
        assert ["acronis_tasks{" in body for body in bodies] == [True, True, True, False]

    def test_head_returns_headers_without_a_body(self, served: Served) -> None:
        """HEAD /metrics answers 200 with the content type and an empty body."""
        response = httpx.head(served.url + "/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert response.content == b""

    def test_a_new_poll_is_served_after_publish(self, served: Served) -> None:
        """The cached rendering is replaced as soon as the poller publishes."""
        assert "acronis_tasks{" in httpx.get(served.url + "/metrics").text
        served.store.publish(Snapshot(taken_at=1.0, sources={}))
        assert "acronis_tasks{" not in httpx.get(served.url + "/metrics").text

    def test_only_a_scrape_that_renders_a_new_poll_leaves_the_serving_loop(self) -> None:
        """Rendering a new poll (seconds with many tenants) runs on a worker: the probes answer meanwhile."""
        store = SnapshotStore(initial=hand_built_snapshot())
        exposition = Exposition(store, self_registry())
        app = ExporterApp(exposition, store, lambda: True)
        scrape = {"PATH_INFO": "/metrics", "HTTP_ACCEPT": PROMETHEUS_ACCEPT}
        assert app.worker_for(scrape) == "render"
        exposition.render(PROMETHEUS_ACCEPT, "gzip")
        assert app.worker_for(scrape) is None
        assert app.worker_for({"PATH_INFO": "/metrics"}) == "render"  # the text format is not rendered yet
        store.publish(Snapshot(taken_at=1.0, sources={}))  # renders the formats scraped lately, itself
        assert app.worker_for(scrape) is None
        assert app.worker_for({"PATH_INFO": "/metrics"}) == "render"
        assert app.worker_for({"PATH_INFO": "/healthz"}) is None
        assert app.worker_for({"PATH_INFO": "/"}) is None

    def test_a_scrape_the_loop_answers_serves_what_it_found_rendered(self) -> None:
        """A poll published between the loop's look and its answer is not rendered on the loop."""
        store = SnapshotStore(initial=hand_built_snapshot())
        exposition = Exposition(store, self_registry())
        app = ExporterApp(exposition, store, lambda: True)
        exposition.render()
        scrape: WSGIEnvironment = {"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET"}
        assert app.worker_for(scrape) is None
        store.publish(Snapshot(taken_at=1.0, sources={}))  # the poll thread, between the two
        body = b"".join(app(scrape, _ignore_start))
        assert b"acronis_tasks{" in body  # the poll found rendered, not the one published since

    def test_twenty_concurrent_scrapers_get_complete_identical_data(self, served: Served) -> None:
        """Twenty parallel scrapes, in both formats, each parse fully and agree on the data families."""

        def scrape(index: int) -> set[tuple[str, float]]:
            accept = PROMETHEUS_ACCEPT if index % 2 else "text/plain"
            body = httpx.get(served.url + "/metrics", headers={"Accept": accept}, timeout=30).text
            parse = parse_openmetrics if index % 2 else parse_text
            return {
                (sample.name, sample.value)
                for family in parse(body)
                if family.name.startswith("acronis_") and not family.name.startswith("acronis_exporter_")
                for sample in family.samples
            }

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(scrape, range(20)))
        assert results[0]
        assert all(result == results[0] for result in results)


class TestPages:
    """The landing page, the probes and the error statuses."""

    def test_landing_page_links_every_page_and_names_only_the_data_centre_host(self) -> None:
        """/ names the exporter and the API host but never its path, user or password."""
        with serve(api_url="https://apiuser:hunter2pass@eu2-cloud.acronis.com/api/2?secret=x") as running:
            page = httpx.get(running.url + "/").text
        assert "acronis-task-exporter" in page
        for link in ('href="/metrics"', 'href="/healthz"', 'href="/readyz"'):
            assert link in page
        assert "eu2-cloud.acronis.com" in page
        assert not any(leak in page for leak in ("apiuser", "hunter2pass", "secret=x", "/api/2"))

    def test_healthz_follows_the_poll_loop(self, served: Served) -> None:
        """/healthz is 200 while the poll loop is alive and 503 once it is not."""
        assert httpx.get(served.url + "/healthz").status_code == 200
        served.alive.clear()
        assert httpx.get(served.url + "/healthz").status_code == 503

    def test_readyz_turns_ready_with_the_first_snapshot(self) -> None:
        """/readyz is 503 until the first snapshot is published, then 200."""
        with serve(store=SnapshotStore()) as running:
            before = httpx.get(running.url + "/readyz")
            running.store.publish(hand_built_snapshot())
            after = httpx.get(running.url + "/readyz")
        assert before.status_code == 503
        assert after.status_code == 200

    def test_unknown_path_is_404(self, served: Served) -> None:
        """A path the exporter does not serve answers 404."""
        assert httpx.get(served.url + "/metricz").status_code == 404

    def test_other_methods_are_405_with_allow(self, served: Served) -> None:
        """POST /metrics answers 405 and names the allowed methods."""
        response = httpx.post(served.url + "/metrics", content=b"x")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"

    def test_port_zero_reports_the_bound_port(self, served: Served) -> None:
        """Asking for port 0 binds a real port and reports it."""
        assert served.server.address[1] > 0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Make a self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class TestTls:
    """With a certificate and key the server speaks HTTPS only."""

    def test_https_scrape_verifies_against_the_certificate(self, certificate: tuple[Path, Path]) -> None:
        """A client trusting the certificate scrapes /metrics over TLS."""
        cert, key = certificate
        web = WebSettings(listen_address="127.0.0.1:0", tls_cert_file=cert, tls_key_file=key)
        with serve(web) as running:
            response = httpx.get(running.url + "/metrics", verify=ssl.create_default_context(cafile=cert))
        assert running.url.startswith("https://")
        assert response.status_code == 200

    def test_plain_http_to_the_tls_port_fails(self, certificate: tuple[Path, Path]) -> None:
        """Plain HTTP on the TLS port gets a 400 naming the mistake and never the metrics."""
        cert, key = certificate
        web = WebSettings(listen_address="127.0.0.1:0", tls_cert_file=cert, tls_key_file=key)
        with serve(web) as running:
            response = httpx.get(running.url.replace("https://", "http://") + "/metrics")
            still_serving = httpx.get(
                running.url + "/healthz", verify=ssl.create_default_context(cafile=cert)
            )
        assert response.status_code == 400
        assert "HTTPS" in response.text
        assert "acronis_" not in response.text
        assert still_serving.status_code == 200

    def test_untrusted_certificate_is_refused_by_a_verifying_client(
        self, certificate: tuple[Path, Path]
    ) -> None:
        """A client with the system trust store rejects the self-signed certificate."""
        cert, key = certificate
        web = WebSettings(listen_address="127.0.0.1:0", tls_cert_file=cert, tls_key_file=key)
        with serve(web) as running, pytest.raises(httpx.ConnectError):
            httpx.get(running.url + "/metrics")

    def test_basic_auth_over_tls_refuses_a_wrong_password_and_admits_the_right_one(
        self, certificate: tuple[Path, Path]
    ) -> None:
        """With TLS and basic auth together, a wrong password gets 401 and the right one 200."""
        cert, key = certificate
        web = WebSettings(
            listen_address="127.0.0.1:0",
            tls_cert_file=cert,
            tls_key_file=key,
            basic_auth_username=USER,
            basic_auth_password=SecretStr(PASSWORD),
        )
        trust = ssl.create_default_context(cafile=cert)
        with serve(web) as running, httpx.Client(verify=trust) as client:
            wrong = client.get(running.url + "/metrics", auth=(USER, "not-the-password"))
            right = client.get(running.url + "/metrics", auth=(USER, PASSWORD))
        assert (wrong.status_code, right.status_code) == (401, 200)
        assert "acronis_up" in right.text


class TestBasicAuth:
    """Basic auth guards /metrics and / but leaves the probes open."""

    @pytest.fixture
    def guarded(self) -> Iterator[Served]:
        """Serve with basic auth for USER/PASSWORD."""
        web = WebSettings(
            listen_address="127.0.0.1:0", basic_auth_username=USER, basic_auth_password=SecretStr(PASSWORD)
        )
        with serve(web) as running:
            yield running

    def test_missing_credentials_get_401_with_a_challenge(self, guarded: Served) -> None:
        """No Authorization header: 401 and a WWW-Authenticate Basic challenge."""
        response = httpx.get(guarded.url + "/metrics")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic ")

    def test_wrong_password_gets_401(self, guarded: Served) -> None:
        """The right user with a wrong password is refused."""
        assert httpx.get(guarded.url + "/metrics", auth=(USER, "wrong")).status_code == 401

    def test_wrong_user_gets_401(self, guarded: Served) -> None:
        """A wrong user with the right password is refused."""
        assert httpx.get(guarded.url + "/", auth=("someone", PASSWORD)).status_code == 401

    def test_right_credentials_get_the_metrics(self, guarded: Served) -> None:
        """The right user and password scrape /metrics."""
        response = httpx.get(guarded.url + "/metrics", auth=(USER, PASSWORD))
        assert response.status_code == 200
        assert "acronis_up" in response.text

    def test_probes_need_no_credentials(self, guarded: Served) -> None:
        """/healthz and /readyz answer without credentials, for kubelet and Docker probes."""
        assert httpx.get(guarded.url + "/healthz").status_code == 200
        assert httpx.get(guarded.url + "/readyz").status_code == 200

    def test_an_absolute_form_probe_needs_no_credentials_either(self, guarded: Served) -> None:
        """``GET http://host/healthz`` (RFC 9112 absolute-form) is the open probe, not a guarded page."""
        host, port = guarded.server.address
        with socket.create_connection((host, port), timeout=10.0) as sock:
            sock.sendall(f"GET http://{host}:{port}/healthz HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
            assert sock.recv(64).partition(b"\r\n")[0] == b"HTTP/1.1 200 OK"

    def test_a_rotated_password_file_takes_effect_without_restart(self, tmp_path: Path) -> None:
        """Rewriting the password file switches the accepted password on the next request."""
        secret = tmp_path / "password"
        secret.write_text("first-password\n")
        web = WebSettings(
            listen_address="127.0.0.1:0", basic_auth_username=USER, basic_auth_password_file=secret
        )
        with serve(web) as running:
            first = httpx.get(running.url + "/metrics", auth=(USER, "first-password"))
            secret.write_text("second-password\n")
            old = httpx.get(running.url + "/metrics", auth=(USER, "first-password"))
            new = httpx.get(running.url + "/metrics", auth=(USER, "second-password"))
        assert (first.status_code, old.status_code, new.status_code) == (200, 401, 200)


class TestApiOutage:
    """Scrapes are served from the last poll, so an API outage never fails them."""

    def test_scrapes_answer_with_last_good_values_while_the_api_is_down(
        self, simulator_factory: Callable[..., RunningSimulator]
    ) -> None:
        """With the simulator stopped, /metrics still answers 200: old counts, source_up 0, acronis_up 0."""
        simulator = simulator_factory(wall_clock=True)
        api = ApiSettings(
            url=HttpUrl(simulator.url),
            client_id=simulator.config.client_id,
            client_secret=SecretStr(simulator.config.client_secret),
            max_retries=0,
        )
        exporter = build(Settings(api=api, web=WebSettings(listen_address="127.0.0.1:0")))
        server = exporter.bind()
        server.start()
        try:
            exporter.poller.poll_once()
            before = httpx.get(server.url + "/metrics")
            simulator.stop()
            exporter.poller.poll_once()
            after = httpx.get(server.url + "/metrics")
        finally:
            server.shutdown()
            exporter.close()
        assert (before.status_code, after.status_code) == (200, 200)
        old, new = values_of(before.text), values_of(after.text)
        tasks = [key for key in old if key[0] == "acronis_tasks"]
        assert len(tasks) == 5
        assert all(new[key] == old[key] for key in tasks)
        assert new[("acronis_up", ())] == 0
        assert new[("acronis_exporter_source_up", (("source", "task_counts"),))] == 0


def values_of(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Map (sample name, sorted labels) to value, parsed with the real text parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in parse_text(text)
        for sample in family.samples
    }


def _ipv6_loopback_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


class TestListenAddress:
    """web.listen_address follows the Prometheus convention."""

    @pytest.mark.skipif(not _ipv6_loopback_works(), reason="no IPv6 loopback on this host")
    def test_port_only_address_listens_on_ipv4_and_ipv6(self) -> None:
        """':port' binds every interface: the server answers on 127.0.0.1 and on ::1."""
        with serve(WebSettings(listen_address=":0")) as running:
            port = running.server.address[1]
            over_ipv4 = httpx.get(f"http://127.0.0.1:{port}/healthz")
            over_ipv6 = httpx.get(f"http://[::1]:{port}/healthz")
        assert (over_ipv4.status_code, over_ipv6.status_code) == (200, 200)

    def test_taken_port_raises_oserror(self, served: Served) -> None:
        """Binding a port another server holds fails at construction, before serving anything."""
        taken = WebSettings(listen_address=f"127.0.0.1:{served.server.address[1]}")
        with pytest.raises(OSError, match="in use"):
            MetricsServer(taken, _never_called)


def _never_called(_environ: WSGIEnvironment, _start_response: StartResponse) -> Iterable[bytes]:
    raise AssertionError("a server that failed to bind must never serve")


def _ignore_start(
    _status: str, _headers: list[tuple[str, str]], _exc_info: object = None
) -> Callable[[bytes], object]:
    return bytes
