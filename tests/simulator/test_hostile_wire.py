"""Hostile requests below the query string: framing, the token endpoint, the admin endpoints.

Every reply must be complete and carry the documented JSON error body, including the
refusals the stdlib's HTTP parser makes itself (URL too long, too many headers) and a
500 for a failure nobody foresaw.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import TYPE_CHECKING

import httpx
import pytest

from simulator.api import TaskManagerApi

from .helpers import wait_until
from .rawhttp import API, RawReply, basic, exchange, get, post

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import RunningSimulator

TOKEN = "/api/2/idp/token"  # noqa: S105  a path


def _refusal(reply: RawReply, status: int) -> str:
    """Assert `status` with the documented error body; return its code."""
    assert reply.status == status, (reply.status, reply.body[:300])
    assert reply.headers["content-type"] == "application/json"
    return reply.error().code


class TestFraming:
    """What the HTTP parser refuses still gets a JSON body and a clean close."""

    def test_url_over_64k_is_414(self, shared_simulator: RunningSimulator, shared_token: str) -> None:
        """A request line too long to read is answered 414, not cut off."""
        reply = get(shared_simulator.url, f"{API}/tasks?type={'x' * 70_000}", shared_token)
        assert _refusal(reply, 414) == "RequestURITooLong"

    def test_too_many_headers_is_431(self, shared_simulator: RunningSimulator, shared_token: str) -> None:
        """More header lines than the parser takes is answered 431."""
        headers = b"".join(b"X-Filler-%d: x\r\n" % n for n in range(150))
        reply = get(shared_simulator.url, f"{API}/tasks", shared_token, headers=headers)
        _refusal(reply, 431)

    @pytest.mark.parametrize(
        ("request_bytes", "status"),
        [
            (b"HELLO\r\n\r\n", 400),
            (b"GET /api/task_manager/v2/tasks HTTP/9.9\r\n\r\n", 505),
            (b"GET /api/task_manager/v2/tasks HTTP/1.x\r\n\r\n", 400),
            (b"PUT /api/task_manager/v2/tasks HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 501),
        ],
    )
    def test_unparsable_request_is_refused_in_json(
        self, shared_simulator: RunningSimulator, request_bytes: bytes, status: int
    ) -> None:
        """Bad syntax, an unknown version or method: the status the stdlib picks, with our body."""
        _refusal(exchange(shared_simulator.url, request_bytes), status)

    @pytest.mark.parametrize(
        "target", [b"/api/task_manager/v2/tasks?type=a\x00b", b"/api/task_manager/v2/tasks/1\x00", b"//[/x"]
    )
    def test_raw_nul_and_odd_targets(
        self, shared_simulator: RunningSimulator, shared_token: str, target: bytes
    ) -> None:
        """Raw NUL bytes and a target urlsplit cannot read get a well-formed 4xx or an empty page."""
        reply = get(shared_simulator.url, target, shared_token)
        assert reply.status in (200, 400, 404), reply.body[:300]
        if reply.status != 200:
            reply.error()

    @pytest.mark.parametrize(
        ("length_header", "status"),
        [(b"abc", 400), (b"-1", 400), (b"1e3", 400), (b"99999999999999999999", 413), (b"2000000", 413)],
    )
    def test_bad_content_length_is_refused(
        self, shared_simulator: RunningSimulator, length_header: bytes, status: int
    ) -> None:
        """A Content-Length that is no size, or too large, is refused before reading any body."""
        reply = post(
            shared_simulator.url,
            TOKEN,
            b"grant_type=x",
            headers=b"Content-Length: " + length_header + b"\r\n",
        )
        _refusal(reply, status)

    def test_chunked_body_is_411(self, shared_simulator: RunningSimulator) -> None:
        """A chunked body is refused: the simulator reads only Content-Length bodies."""
        reply = post(
            shared_simulator.url, TOKEN, b"5\r\nhello\r\n0\r\n\r\n", headers=b"Transfer-Encoding: chunked\r\n"
        )
        _refusal(reply, 411)


class TestTokenEndpoint:
    """Broken forms and Basic headers are OAuth refusals, never a crash."""

    @pytest.mark.parametrize(
        "authorization",
        [
            b"Basic %%%%",
            b"Basic \xe9\xe9\xe9\xe9",  # latin-1 bytes: non-ASCII text to base64
            b"Basic " + b"/w==",  # decodes to 0xFF: not UTF-8
            b"Basic " + b"ZGVtby1jbGllbnQ=",  # "demo-client" with no colon
            b"Basic",
            b"Basic " + b"A" * 60_000,
        ],
    )
    def test_bad_basic_header_is_401(self, shared_simulator: RunningSimulator, authorization: bytes) -> None:
        """Client credentials that cannot be decoded are bad credentials."""
        reply = post(
            shared_simulator.url,
            TOKEN,
            b"grant_type=client_credentials",
            headers=b"Authorization: " + authorization + b"\r\n",
        )
        assert _refusal(reply, 401) == "invalid_client"
        assert reply.json()["error"] == "invalid_client"

    @pytest.mark.parametrize(
        "form",
        [b"grant_type=\xff\xfe", b"\x00\x00", b"grant_type=%FF", b"a=b&" * 100_000, b"grant_type", b"%"],
    )
    def test_odd_form_is_400(self, shared_simulator: RunningSimulator, form: bytes) -> None:
        """A form without a grant type the IdP knows is 400 unsupported_grant_type."""
        config = shared_simulator.config
        reply = post(shared_simulator.url, TOKEN, form, headers=basic(config.client_id, config.client_secret))
        assert _refusal(reply, 400) == "unsupported_grant_type"

    @pytest.mark.parametrize(
        "scope", ["urn:acronis.com:tenant-id:nope", "urn:acronis.com:tenant-id:" + "f" * 5000]
    )
    def test_unknown_tenant_scope_is_400(self, shared_simulator: RunningSimulator, scope: str) -> None:
        """A tenant scope that names no tenant is invalid_scope."""
        config = shared_simulator.config
        body = f"grant_type=client_credentials&scope={scope}".encode()
        reply = post(shared_simulator.url, TOKEN, body, headers=basic(config.client_id, config.client_secret))
        assert _refusal(reply, 400) == "invalid_scope"

    def test_get_is_405(self, shared_simulator: RunningSimulator) -> None:
        """The token endpoint takes POST only."""
        _refusal(
            exchange(shared_simulator.url, f"GET {TOKEN} HTTP/1.1\r\nConnection: close\r\n\r\n".encode()), 405
        )


class TestAdmin:
    """The /_sim/ endpoints refuse bad input with 400 and leave no fault behind."""

    @pytest.mark.parametrize(
        "body",
        [
            b"not json", b"\xff\xfe", b"[" * 100_000, b'{"fault": []}', b'{"fault": {"a": 1}}', b"[1, 2]",
            b'{"fault": "latency", "seconds": Infinity}', b'{"fault": "latency", "seconds": NaN}',
            b'{"fault": "latency", "seconds": 1e300}',
            b'{"fault": "fail", "status": 503, "retry_after": NaN}',
            b'{"fault": "fail", "status": "x"}', b'{"fault": "clear", "extra": 1}', b'{"fault": null}',
        ],
    )  # fmt: skip
    def test_bad_fault_spec_is_400(self, shared_simulator: RunningSimulator, body: bytes) -> None:
        """POST /_sim/faults with anything but a valid spec is a 400; no fault is left active."""
        _refusal(post(shared_simulator.url, "/_sim/faults", body), 400)
        assert httpx.get(shared_simulator.url + "/_sim/faults").json() == {"faults": []}

    @pytest.mark.parametrize(
        "query",
        [
            "written_after=inf", "written_after=nan", "completed_until=1e400", "written_until=-1e300",
            "completed_after=abc", "by=nonsense", "by=", "by=%00", "kind=%FF",
        ],
    )  # fmt: skip
    def test_bad_truth_query_is_400(self, shared_simulator: RunningSimulator, query: str) -> None:
        """GET /_sim/truth refuses non-finite or absurd bounds and unknown groupings."""
        reply = exchange(
            shared_simulator.url, f"GET /_sim/truth?{query} HTTP/1.1\r\nConnection: close\r\n\r\n".encode()
        )
        _refusal(reply, 400)

    @pytest.mark.parametrize("seconds", ["inf", "nan", "-1", "1e300", "abc", "", "%00"])
    def test_bad_advance_is_400(self, shared_simulator: RunningSimulator, seconds: str) -> None:
        """POST /_sim/advance takes a finite, bounded number of seconds; the clock does not move otherwise."""
        before = shared_simulator.clock.now()
        _refusal(post(shared_simulator.url, f"/_sim/advance?seconds={seconds}", b""), 400)
        assert shared_simulator.clock.now() == before

    def test_unknown_admin_route_is_404(self, shared_simulator: RunningSimulator) -> None:
        """An admin path that does not exist is a 404 with the body."""
        _refusal(post(shared_simulator.url, "/_sim/%00", b""), 404)


class TestUnexpectedErrors:
    """A failure nobody foresaw is a 500 with the error body and a logged traceback."""

    def test_is_500_with_body_and_traceback(
        self,
        simulator_factory: Callable[..., RunningSimulator],
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A bug in request handling answers 500; the log has it at error level; serving goes on."""
        sim = simulator_factory()  # started inside the test, so its log goes to the captured stderr
        token = httpx.post(
            sim.url + TOKEN,
            data={"grant_type": "client_credentials"},
            auth=(sim.config.client_id, sim.config.client_secret),
        ).json()["access_token"]

        def broken(*_: object, **__: object) -> None:
            raise RuntimeError("a bug nobody foresaw")

        monkeypatch.setattr(TaskManagerApi, "list_items", broken)  # the one way to have a bug on demand
        reply = get(sim.url, f"{API}/tasks", token)
        assert _refusal(reply, 500) == "InternalError"
        assert "nobody foresaw" not in reply.body.decode()  # the traceback is for the log, not the client
        monkeypatch.undo()
        assert get(sim.url, f"{API}/tasks?limit=1", token).status == 200
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        failures = [line for line in lines if line.get("event") == "request_failed"]
        assert len(failures) == 1
        assert failures[0]["level"] == "error"
        assert "RuntimeError: a bug nobody foresaw" in failures[0]["traceback"]

    def test_a_client_hanging_up_mid_body_is_routine(
        self, simulator_factory: Callable[..., RunningSimulator], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A reset while the body is read is logged as a disconnect at debug level, not as a 500."""
        sim = simulator_factory(log_requests=True)
        events: list[str] = []

        def logged(event: str) -> bool:
            err = capsys.readouterr().err
            events.extend(json.loads(line)["event"] for line in err.splitlines() if line.startswith("{"))
            return event in events

        with socket.create_connection(("127.0.0.1", sim.port)) as sock:
            sock.sendall(b"POST " + TOKEN.encode() + b" HTTP/1.1\r\nContent-Length: 1000\r\n\r\ngrant_type")
            assert wait_until(lambda: sim.in_flight == 1)  # the server now waits for the rest of the body
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
        assert wait_until(lambda: logged("client_disconnected"))
        assert "request_failed" not in events
