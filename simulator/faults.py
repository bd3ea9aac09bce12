"""Faults a test or the admin endpoint switches on at run time.

Each fault either fires for its next `times` matching requests or, with
`times=None`, stays on until `clear()`. Methods are validated with pydantic, so
the admin endpoint can call them with JSON arguments and get a 400 on bad input.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, validate_call

if TYPE_CHECKING:
    from simulator.clock import ManualClock
    from simulator.token_endpoint import TokenStore

API_PREFIX = "/api/task_manager"
TOKEN_PATH = "/api/2/idp/token"  # noqa: S105  a URL path, not a password
Times = Annotated[int, Field(ge=1)] | None
CorruptMode = Literal["null", "missing", "unknown_enum"]


@dataclass
class Rule:
    """One active fault."""

    kind: str
    remaining: int | None  # None: until cleared
    path_prefix: str = API_PREFIX
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """Return the rule as JSON for GET /_sim/faults."""
        return {
            "fault": self.kind,
            "remaining": self.remaining,
            "path_prefix": self.path_prefix,
            **self.options,
        }


def take_rule(rules: list[Rule], kind: str, path: str) -> Rule | None:
    """Consume one occurrence of the first rule of ``kind`` for ``path``; the caller holds the lock.

    A rule whose count runs out leaves ``rules``; one with ``remaining=None`` stays until cleared.
    """
    for rule in rules:
        if rule.kind == kind and path.startswith(rule.path_prefix):
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    rules.remove(rule)
            return rule
    return None


class Faults:
    """The switchboard of faults; every method is safe to call from any thread."""

    def __init__(self, tokens: TokenStore, latency: float = 0.0) -> None:
        self._tokens = tokens
        self._rules: list[Rule] = []
        self._jumps: list[tuple[ManualClock, float, Rule]] = []  # clock jumps waiting for their page
        self._lock = threading.Lock()
        self.added_latency = latency
        self._initial_latency = latency
        self.date_skew = 0.0  # seconds the Date header runs ahead of the simulator's clock

    @validate_call
    def latency(self, seconds: Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)]) -> None:
        """Add `seconds` of delay to every request."""
        self.added_latency = seconds

    @validate_call
    def fail(
        self,
        status: Annotated[int, Field(ge=400, le=599)],
        times: Times = 1,
        path_prefix: str = API_PREFIX,
        retry_after: Annotated[float, Field(allow_inf_nan=False)] | str | None = None,
        html: bool = False,  # noqa: FBT001, FBT002  the issue's signature, also called from JSON
    ) -> None:
        """Answer the next `times` requests under `path_prefix` with `status`.

        `retry_after` becomes a `Retry-After` header: a number is sent as seconds, a
        string verbatim (use `timefmt.http_date()` for an HTTP date). `html=True` sends
        an HTML page, as a proxy in front of the API would.
        """
        self._add(
            Rule("fail", times, path_prefix, {"status": status, "retry_after": retry_after, "html": html})
        )

    def expire_tokens(self) -> None:
        """Expire every token issued so far."""
        self._tokens.expire_all()

    def revoke_credentials(self) -> None:
        """Make the token endpoint answer 401 until `restore_credentials()` or `clear()`."""
        self._tokens.revoked = True

    def restore_credentials(self) -> None:
        """Undo `revoke_credentials()`."""
        self._tokens.revoked = False

    @validate_call
    def token_endpoint_down(self, times: Times = None) -> None:
        """Answer the token endpoint with 503."""
        self._add(Rule("fail", times, TOKEN_PATH, {"status": 503, "retry_after": None, "html": False}))

    def drop_scope(self) -> None:
        """Issue tokens without any task_manager scope (the API then answers 403) until cleared."""
        self._tokens.scopeless = True

    @validate_call
    def truncate_json(self, times: Times = 1, path_prefix: str = API_PREFIX) -> None:
        """Cut JSON bodies off half-way."""
        self._add(Rule("truncate_json", times, path_prefix))

    @validate_call
    def malformed_json(self, times: Times = 1, path_prefix: str = API_PREFIX) -> None:
        """Send a body that is not JSON at all, with a JSON content type."""
        self._add(Rule("malformed_json", times, path_prefix))

    @validate_call
    def wrong_shape(self, times: Times = 1, path_prefix: str = API_PREFIX) -> None:
        """Send valid JSON of the wrong shape (a list where an object was due)."""
        self._add(Rule("wrong_shape", times, path_prefix))

    @validate_call
    def set_cookies(self, times: Times = None, path_prefix: str = "/api/") -> None:
        """Give each reply (token ones too) a ``Set-Cookie`` of a new name and 1 KiB, as hostile hosts do."""
        self._add(Rule("set_cookies", times, path_prefix))

    @validate_call
    def extra_header(self, name: str, value: str, times: Times = None, path_prefix: str = "/api/") -> None:
        """Add a header to each reply, as a proxy may (a Latin-1 value is sent as its bytes)."""
        self._add(Rule("extra_header", times, path_prefix, {"name": name, "value": value}))

    @validate_call
    def duplicate_reply(self, times: Times = None, path_prefix: str = "/api/") -> None:
        """Send each reply twice on its connection, the copy with the body's end, as a broken proxy may."""
        self._add(Rule("duplicate_reply", times, path_prefix))

    @validate_call
    def repeat_cursor(self, times: Times = 1) -> None:
        """On the next `times` pages requested with `after`, answer with that same `after`."""
        self._add(Rule("repeat_cursor", times))

    @validate_call
    def endless_pages(self, on: bool = True) -> None:  # noqa: FBT001, FBT002  the issue's signature
        """Give every page a fresh `after` cursor, even past the last item."""
        with self._lock:
            self._rules = [rule for rule in self._rules if rule.kind != "endless_pages"]
        if on:
            self._add(Rule("endless_pages", None))

    @validate_call
    def corrupt_items(
        self,
        mode: CorruptMode = "null",
        count: Annotated[int, Field(ge=1)] = 1,
        times: Times = 1,
        fraction: Annotated[float, Field(gt=0, le=1)] | None = None,
    ) -> None:
        """Corrupt `count` items (or a `fraction` of them) of the next `times` listings or gets."""
        self._add(
            Rule("corrupt_items", times, API_PREFIX, {"mode": mode, "count": count, "fraction": fraction})
        )

    def jump_clock(
        self, clock: ManualClock, seconds: float, *, page: int = 1, path_prefix: str = API_PREFIX
    ) -> None:
        """Move ``clock`` on by ``seconds`` while the ``page``-th continuation page under a path is served.

        That page's items are read before the jump, its Date after, and the next page
        sees the workload caught up: a clock step in the middle of a walk. Python only.
        """
        with self._lock:
            self._jumps.append((clock, seconds, Rule("jump_clock", page, path_prefix)))

    def skew_date(self, seconds: float) -> None:
        """Date every reply ``seconds`` ahead of the clock (0: in step): a fast host clock. Python only."""
        self.date_skew = seconds

    def clear(self) -> None:
        """Switch every fault off and restore credentials, scopes and the configured latency."""
        with self._lock:
            self._rules.clear()
            self._jumps.clear()
        self._tokens.revoked = False
        self._tokens.scopeless = False
        self.added_latency = self._initial_latency
        self.date_skew = 0.0

    def active(self) -> list[dict[str, Any]]:
        """Describe every active fault (flags included) as JSON."""
        with self._lock:
            described = [rule.describe() for rule in self._rules]
        flags = {"revoke_credentials": self._tokens.revoked, "drop_scope": self._tokens.scopeless}
        described.extend({"fault": name} for name, on in flags.items() if on)
        if self.added_latency:
            described.append({"fault": "latency", "seconds": self.added_latency})
        if self.date_skew:
            described.append({"fault": "skew_date", "seconds": self.date_skew})
        return described

    def take(self, kind: str, path: str) -> Rule | None:
        """Consume one occurrence of a fault of `kind` that applies to `path`, if any."""
        if kind == "repeat_cursor":  # asked exactly once per continuation page: clock jumps count them
            self._count_page(path)
        with self._lock:
            return take_rule(self._rules, kind, path)

    def _count_page(self, path: str) -> None:
        with self._lock:
            due = [jump for jump in self._jumps if path.startswith(jump[2].path_prefix)]
            for jump in due:
                jump[2].remaining = (jump[2].remaining or 1) - 1
            fired = [jump for jump in due if jump[2].remaining == 0]
            self._jumps = [jump for jump in self._jumps if jump not in fired]
        for clock, seconds, _ in fired:
            clock.advance(seconds)

    def _add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)
