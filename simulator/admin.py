"""The admin endpoint under /_sim/: faults, ground truth and the manual clock over HTTP.

* `POST /_sim/faults` with `{"fault": "<Faults method>", ...its arguments}` or a list of them
* `GET /_sim/faults` lists active faults; `DELETE /_sim/faults` clears them all
* `GET /_sim/truth[?kind=&by=a,b&written_after=&written_until=&completed_after=&completed_until=]`
* `POST /_sim/advance?seconds=N` moves a manual clock and applies the workload
* `POST /_sim/items` with `{"kind": "tasks", "item": {...}, "tenant": "<id>"}` or a list of them
  stores each item to be served verbatim (simulator/injection.py); answers their row ids
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from simulator.api import Reply
from simulator.api_errors import ApiError, bad_request
from simulator.clock import ManualClock

if TYPE_CHECKING:
    from simulator.clock import Clock
    from simulator.faults import Faults
    from simulator.injection import Injections
    from simulator.truth import Kind, Truth
    from simulator.workload import Workload

FAULT_NAMES = frozenset({
    "latency", "fail", "expire_tokens", "revoke_credentials", "restore_credentials", "token_endpoint_down",
    "drop_scope", "truncate_json", "malformed_json", "wrong_shape", "repeat_cursor", "endless_pages",
    "corrupt_items", "set_cookies", "extra_header", "duplicate_reply", "clear",
})  # fmt: skip
MAX_ADVANCE = 366 * 86400.0
_MAX_UNIX_SECONDS = 9.2e9  # int64 nanoseconds, where the store keeps times, end in 2262
_WINDOW = ("written_after", "written_until", "completed_after", "completed_until")


class Admin:
    """Serves /_sim/*."""

    # Given the parts it drives, not the Simulator that owns them: app builds the Admin, so
    # admin importing app (even for its type) would close an import cycle.
    def __init__(
        self, *, faults: Faults, truth: Truth, clock: Clock, workload: Workload, injections: Injections
    ) -> None:
        self._faults, self._ground_truth, self._clock, self._workload = faults, truth, clock, workload
        self._injections = injections

    def handle(self, method: str, path: str, query: list[tuple[str, str]], body: bytes) -> Reply:
        """Route one admin request."""
        route = (method, path.rstrip("/"))
        if route == ("POST", "/_sim/faults"):
            return self._set_faults(body)
        if route == ("DELETE", "/_sim/faults"):
            self._faults.clear()
            return Reply(200, {"faults": []})
        if route == ("GET", "/_sim/faults"):
            return Reply(200, {"faults": self._faults.active()})
        if route == ("GET", "/_sim/truth"):
            return Reply(200, self._truth(dict(query)))
        if route == ("POST", "/_sim/advance"):
            return self._advance(dict(query))
        if route == ("POST", "/_sim/items"):
            return self._inject(body)
        raise ApiError(404, "NotFound", f"no admin route for {method} {path}", domain="Simulator")

    def _set_faults(self, body: bytes) -> Reply:
        requested = _json_body(body)
        for spec in requested if isinstance(requested, list) else [requested]:
            if not isinstance(spec, dict) or not _known_fault(spec.get("fault")):
                raise bad_request(f"each fault needs 'fault', one of {sorted(FAULT_NAMES)}", value=str(spec))
            arguments = {key: value for key, value in spec.items() if key != "fault"}
            try:
                getattr(self._faults, spec["fault"])(**arguments)
            except (ValidationError, TypeError) as error:
                raise bad_request(f"bad arguments for {spec['fault']}: {error}") from None
        return Reply(200, {"faults": self._faults.active()})

    def _inject(self, body: bytes) -> Reply:
        requested = _json_body(body)
        specs = requested if isinstance(requested, list) else [requested]
        if not all(isinstance(spec, dict) and "item" in spec for spec in specs):
            raise bad_request("each injection needs 'item' (and may give 'kind' and 'tenant')")
        for spec in specs:  # all or nothing: refuse the whole list before storing any of it
            self._injections.check(spec.get("kind", "tasks"), spec["item"], spec.get("tenant"))
        now = self._clock.now()
        ids = [
            self._injections.put(spec.get("kind", "tasks"), spec["item"], now=now, tenant=spec.get("tenant"))
            for spec in specs
        ]
        return Reply(200, {"ids": ids})

    def _truth(self, query: dict[str, str]) -> dict[str, Any]:
        truth = self._ground_truth
        if query.get("kind", "tasks") not in ("tasks", "activities"):
            raise bad_request("kind must be tasks or activities", parameter="kind")
        kind: Kind = "activities" if query.get("kind") == "activities" else "tasks"
        window = {name: _unix_seconds(name, query[name]) for name in _WINDOW if name in query}
        result: dict[str, Any] = {
            "now": self._clock.now(),
            "kind": kind,
            "counts_by_state": truth.counts_by_state(kind),
            "tenants": len(truth.tenants()),
            "completions": len(truth.completions(kind, **window)),
        }
        if "by" in query:
            try:
                counter = truth.count_completions(kind, by=tuple(query["by"].split(",")), **window)
            except ValueError as error:
                raise bad_request(str(error), parameter="by") from None
            result["groups"] = [{"key": list(key), "count": n} for key, n in sorted(counter.items())]
        return result

    def _advance(self, query: dict[str, str]) -> Reply:
        if not isinstance(self._clock, ManualClock):
            raise ApiError(409, "Conflict", "advance needs a manual clock", domain="Simulator")
        seconds = _number("seconds", query.get("seconds", ""))
        if not 0 <= seconds <= MAX_ADVANCE:  # an infinite or huge step would loop on arrivals for ever
            raise bad_request(f"seconds must be from 0 to {MAX_ADVANCE}", parameter="seconds")
        self._workload.advance(seconds)
        return Reply(200, {"now": self._clock.now()})


def _json_body(body: bytes) -> Any:  # noqa: ANN401  any JSON value
    try:
        return json.loads(body or b"null")
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
        raise bad_request("body must be JSON") from None


def _number(name: str, text: str) -> float:
    """Parse a finite number; inf and nan are refused like any other non-number."""
    try:
        value = float(text)
    except ValueError:
        raise bad_request(f"{name} must be a number", parameter=name) from None
    if not math.isfinite(value):
        raise bad_request(f"{name} must be a finite number", parameter=name)
    return value


def _unix_seconds(name: str, text: str) -> float:
    value = _number(name, text)
    if abs(value) > _MAX_UNIX_SECONDS:
        raise bad_request(f"{name} must be Unix seconds within +-{_MAX_UNIX_SECONDS:g}", parameter=name)
    return value


def _known_fault(name: object) -> bool:
    """Tell a fault name from anything else JSON can hold (a list is not even hashable)."""
    return isinstance(name, str) and name in FAULT_NAMES
