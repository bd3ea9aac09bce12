"""The Astra simulator's HTTP front: bearer token, the two task routes, faults, and ``/_sim/`` admin.

Admin routes (as the Acronis simulator's): ``POST /_sim/faults`` with ``{"fault": name, ...}``
or a list, ``GET``/``DELETE /_sim/faults``, ``GET /_sim/truth[?finished_after=unix]`` and
``POST /_sim/advance?seconds=N`` on a manual clock.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import ValidationError

from simulator.astra.faults import FAULT_NAMES, encode, failure_reply, mangle
from simulator.astra.problems import Problem, invalid
from simulator.astra.truth import truth

if TYPE_CHECKING:
    from simulator.astra.assembly import AstraSimulator

_ROUTE: Final = re.compile(r"^/accounts/([^/]+)/core/v1/tasks(?:/([^/]+))?/?$")
_MAX_BODY: Final = 1 << 16
_MAX_ADVANCE: Final = 366 * 86400.0


class AstraServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server fronting one Astra simulator."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: AstraSimulator) -> None:
        self.simulator = simulator
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    """One request: admin, or faults then the API."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: AstraServer
    date_skew = 0.0  # seconds the date_skew fault sets this reply's Date off the clock

    def do_GET(self) -> None:  # the stdlib's name
        """Serve a GET."""
        self._answer()

    def do_POST(self) -> None:  # the stdlib's name
        """Serve a POST."""
        self._answer()

    def do_DELETE(self) -> None:  # the stdlib's name
        """Serve a DELETE."""
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401  the stdlib's signature
        """No access log."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Stamp the Date header from the simulator's clock."""
        now = self.server.simulator.clock.now() + self.date_skew
        return super().date_time_string(now if timestamp is None else timestamp)

    def _answer(self) -> None:
        self.date_skew = 0.0
        try:
            parts = urlsplit(self.path)
            query = parse_qsl(parts.query, keep_blank_values=True)
            status, headers, payload = self._dispatch(parts.path, query)
        except Problem as problem:
            status, headers, payload = problem.status, {}, encode(problem.body())
        except Exception:  # noqa: BLE001  whatever broke, the client gets an answer
            self.server.simulator.failures.append(traceback.format_exc())
            self.close_connection = True
            status, headers, payload = 500, {}, encode(Problem(500, "the simulator failed").body())
        headers.setdefault("Content-Type", "application/json")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _dispatch(self, path: str, query: list[tuple[str, str]]) -> tuple[int, dict[str, str], bytes]:
        body = self._read_body()
        sim = self.server.simulator
        if path.startswith("/_sim/"):
            return 200, {}, encode(self._admin(path.rstrip("/"), query, body))
        sim.requests.append((self.command, path, query))
        skew = sim.faults.take("date_skew", path)
        if skew is not None:
            self.date_skew = skew.options["seconds"]
        if sim.faults.latency_seconds:
            time.sleep(sim.faults.latency_seconds)  # the simulator's own delay, not a test waiting
        match = _ROUTE.match(path)
        if match is None or self.command != "GET":
            raise Problem(404 if match is None else 405, f"No route for {self.command} {path[:200]}.")
        self._authorize()
        if unquote(match[1]) != sim.config.account_id:
            raise Problem(403, "The token is not authorized for this account.")
        failure = sim.faults.take("fail", path)
        if failure is not None:
            return failure_reply(failure.options)
        if match[2] is None:
            payload = encode(sim.api.list_tasks(query))
        else:
            payload = encode(sim.api.get_task(unquote(match[2])))
        mangled = sim.faults.take("body", path)
        return 200, {}, payload if mangled is None else mangle(mangled.options["kind"], payload)

    def _authorize(self) -> None:
        sim = self.server.simulator
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        expected = sim.config.token.encode()
        if (
            sim.faults.revoked
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(token.encode(), expected)
        ):
            raise Problem(401, "The API token is missing, malformed or not valid.")

    def _admin(self, path: str, query: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
        sim, route = self.server.simulator, (self.command, path)
        if route == ("GET", "/_sim/faults"):
            return {"faults": sim.faults.active()}
        if route == ("DELETE", "/_sim/faults"):
            sim.faults.clear()
            return {"faults": []}
        if route == ("POST", "/_sim/faults"):
            _set_faults(sim, body)
            return {"faults": sim.faults.active()}
        if route == ("GET", "/_sim/truth"):
            return truth(sim.world, _seconds(dict(query), "finished_after", default=-math.inf))
        if route == ("POST", "/_sim/advance"):
            seconds = _seconds(dict(query), "seconds", default=0.0)
            if not 0 <= seconds <= _MAX_ADVANCE:
                raise invalid("seconds", f"from 0 to {_MAX_ADVANCE}")
            try:
                sim.world.advance(seconds)
            except TypeError:
                raise Problem(409, "advance needs a manual clock") from None
            return {"now": sim.clock.now()}
        raise Problem(404, f"No admin route for {self.command} {path[:200]}.")

    def _read_body(self) -> bytes:
        declared = (self.headers.get("Content-Length") or "0").strip()
        if "Transfer-Encoding" in self.headers or not declared.isdigit() or int(declared) > _MAX_BODY:
            self.close_connection = True
            raise Problem(400, "send a body of at most 64 KiB with a Content-Length")
        return self.rfile.read(int(declared)) if int(declared) else b""


def _set_faults(sim: AstraSimulator, body: bytes) -> None:
    try:
        requested = json.loads(body or b"null")
    except (ValueError, RecursionError):
        raise invalid("body", "must be JSON") from None
    for spec in requested if isinstance(requested, list) else [requested]:
        name = spec.get("fault") if isinstance(spec, dict) else None
        if not isinstance(name, str) or name not in FAULT_NAMES:
            raise invalid("fault", f"one of {sorted(FAULT_NAMES)}")
        arguments = {key: value for key, value in spec.items() if key != "fault"}
        try:
            getattr(sim.faults, name)(**arguments)
        except (ValidationError, TypeError) as error:
            raise invalid("fault", f"bad arguments for {name}: {str(error)[:200]}") from None


def _seconds(query: dict[str, str], name: str, *, default: float) -> float:
    if name not in query:
        return default
    try:
        value = float(query[name])
    except ValueError:
        raise invalid(name, "expected a number") from None
    if not math.isfinite(value):
        raise invalid(name, "expected a finite number")
    return value
