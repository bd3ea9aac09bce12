"""Faults of the Astra simulator, switched on from tests or ``POST /_sim/faults``.

The same design as the Acronis simulator's (``simulator/faults.py``): each fault fires for
its next ``times`` requests to the API routes, or with ``times=None`` until cleared.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, validate_call

from simulator.astra.problems import problem_body
from simulator.faults import Rule, take_rule

if TYPE_CHECKING:
    from simulator.astra.api import TasksApi

Times = Annotated[int, Field(ge=1)] | None
BodyFault = Literal[
    "malformed_json",
    "wrong_shape",
    "truncate_json",
    "huge_name",
    "deep_nesting",
    "continue_number",
    "continue_list",
    "continue_null",
    "metadata_not_object",
]
FAULT_NAMES = frozenset(
    {
        "fail",
        "body",
        "date_skew",
        "revoke_token",
        "omit_count",
        "unknown_state",
        "empty_pages",
        "latency",
        "clear",
    }
)
_MAX_SKEW = 366 * 86400.0  # seconds a Date may be set off the simulator's clock, either way
# A page's metadata.continue as the continue_* body faults replace it: no string, yet no end.
_BAD_CONTINUE: dict[str, object] = {"continue_number": 12345, "continue_list": ["x"], "continue_null": None}
_PREFIX = "/accounts/"


class AstraFaults:
    """The switchboard; every method is safe to call from any thread."""

    def __init__(self, api: TasksApi) -> None:
        self._api = api
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self.revoked = False
        self.latency_seconds = 0.0

    @validate_call
    def fail(
        self,
        status: Annotated[int, Field(ge=400, le=599)],
        times: Times = 1,
        retry_after: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None,
    ) -> None:
        """Answer the next ``times`` API requests with ``status`` and a problem body."""
        self._add(Rule("fail", times, _PREFIX, {"status": status, "retry_after": retry_after}))

    @validate_call
    def body(self, kind: BodyFault, times: Times = 1) -> None:
        """Mangle the next ``times`` successful bodies: not JSON, a wrong shape, cut, or hostile values."""
        self._add(Rule("body", times, _PREFIX, {"kind": kind}))

    @validate_call
    def date_skew(
        self,
        seconds: Annotated[float, Field(ge=-_MAX_SKEW, le=_MAX_SKEW, allow_inf_nan=False)],
        times: Times = 1,
    ) -> None:
        """Stamp the Date of the next ``times`` API replies ``seconds`` off the clock, as a proxy might."""
        self._add(Rule("date_skew", times, _PREFIX, {"seconds": seconds}))

    @validate_call
    def revoke_token(self, on: bool = True) -> None:  # noqa: FBT001, FBT002  also called from JSON
        """Refuse the API token (401) until cleared."""
        self.revoked = on

    @validate_call
    def omit_count(self, on: bool = True) -> None:  # noqa: FBT001, FBT002
        """Leave metadata.count out even when asked."""
        self._api.omit_count = on

    @validate_call
    def unknown_state(
        self, state: Annotated[str, Field(min_length=1, max_length=64)] | None = "queued"
    ) -> None:
        """Show running and notStarted tasks under a state the documentation does not list."""
        self._api.unknown_state = state

    @validate_call
    def empty_pages(self, on: bool = True) -> None:  # noqa: FBT001, FBT002
        """Answer every listing request with an empty page whose continue leads to the real page."""
        self._api.empty_pages = on

    @validate_call
    def latency(self, seconds: Annotated[float, Field(ge=0, le=60, allow_inf_nan=False)]) -> None:
        """Delay every API request by ``seconds``."""
        self.latency_seconds = seconds

    def clear(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self._rules.clear()
        self.revoked = False
        self.latency_seconds = 0.0
        self._api.omit_count = False
        self._api.unknown_state = None
        self._api.empty_pages = False

    def active(self) -> list[dict[str, Any]]:
        """Describe the active faults as JSON."""
        with self._lock:
            described = [rule.describe() for rule in self._rules]
        flags = {
            "revoke_token": self.revoked,
            "omit_count": self._api.omit_count,
            "empty_pages": self._api.empty_pages,
        }
        described.extend({"fault": name} for name, on in flags.items() if on)
        if self._api.unknown_state is not None:
            described.append({"fault": "unknown_state", "state": self._api.unknown_state})
        return described

    def take(self, kind: str, path: str) -> Rule | None:
        """Consume one occurrence of a fault of ``kind`` for ``path``."""
        with self._lock:
            return take_rule(self._rules, kind, path)

    def _add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)


def failure_reply(options: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Return the injected status with its problem body (and Retry-After when given)."""
    headers = {"Content-Type": "application/problem+json"}
    if options["retry_after"] is not None:
        headers["Retry-After"] = str(round(options["retry_after"]))
    return options["status"], headers, encode(problem_body(options["status"], "injected fault"))


def mangle(kind: str, payload: bytes) -> bytes:
    """Return a successful body as the ``body`` fault of ``kind`` spoils it."""
    if kind == "malformed_json":
        return b"<<not json>> {items: [ oops"
    if kind == "wrong_shape":
        return encode([{"unexpected": "shape"}])
    if kind == "truncate_json":
        return payload[: max(1, len(payload) // 2)]
    if kind in _BAD_CONTINUE or kind == "metadata_not_object":
        return _spoil_metadata(kind, json.loads(payload))
    if kind == "huge_name":  # one task whose name is a megabyte: the label must still be bounded
        body = json.loads(payload)
        for item in body.get("items", [])[:1]:
            if isinstance(item, dict):
                item["name"] = "astra." + "x" * (1 << 20)
        return encode(body)
    return b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # deep_nesting


def _spoil_metadata(kind: str, body: dict[str, Any]) -> bytes:
    """Say "there is a next page" in a form no client may read as "this is the last page"."""
    metadata = body.get("metadata", {})
    if kind == "metadata_not_object":
        body["metadata"] = f"continue={metadata.get('continue', '')}"
    elif "continue" in metadata:
        metadata["continue"] = _BAD_CONTINUE[kind]
    return encode(body)


def encode(body: object) -> bytes:
    """Encode a body compactly."""
    return json.dumps(body, separators=(",", ":")).encode()
