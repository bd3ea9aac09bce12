"""One load-generator process: a few kept-alive scrape connections driven by one selector.

Threads of one process take turns at one GIL: with 20, each reply waited for the others'
Python code before its clock stopped. Here each connection is a small state machine (send,
read the head, read the body) on a non-blocking socket, and ``scrape_load`` spreads the
connections over a few such processes. A reply counts only when complete (``Content-Length``
bytes, or up to the close without one) with status 200; the body stays as sent (gzipped).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

STALL_SECONDS: Final = 30.0  # a request that makes no progress this long fails, as httpx's timeout did
READY: Final = "ready"  # what a process prints once it can start; it starts when it reads a line
_CHUNK: Final = 256 * 1024
_OK: Final = 200


@dataclass(frozen=True)
class WorkerPlan:
    """What one process scrapes: where, with which request, how often, for how long at most."""

    address: tuple[str, int]
    request: bytes  # the whole request as sent: request line, headers, blank line
    phases: tuple[float, ...]  # one per connection: seconds after the common start of its first scrape
    scrapes_each: int
    budget_seconds: float  # no scrape starts once this has passed
    pace: float | None  # seconds between one connection's scrape starts; None: back to back


@dataclass(frozen=True)
class WorkerResult:
    """What one process measured."""

    latencies: tuple[float, ...]  # seconds, request started (connect included) to last byte read
    response_bytes: int  # the largest complete response body, as sent
    failures: int  # replies other than 200, and requests that broke off
    cpu_seconds: float  # this process's own CPU while scraping
    wall_seconds: float  # from the common start to the last reply
    error: str = ""  # set when the process could not scrape at all


def main() -> int:
    """``python -m bench.scrape_client``: a plan as one JSON line in; ready; a line; the result out."""
    raw = json.loads(sys.stdin.readline())
    plan = WorkerPlan(
        **{**raw, "address": tuple(raw["address"]), "request": raw["request"].encode("latin-1")}
    )

    def ready() -> None:
        print(READY, flush=True)
        sys.stdin.readline()  # the harness's go, once every process is ready

    try:
        result = run(plan, ready)
    except Exception as error:  # noqa: BLE001 - the harness must hear of it rather than wait
        result = WorkerResult((), 0, 0, 0.0, 0.0, error=repr(error))
    print(json.dumps(dataclasses.asdict(result)), flush=True)
    return 0


def plan_line(plan: WorkerPlan) -> str:
    """Return the plan as the JSON line ``main`` reads."""
    return json.dumps({**dataclasses.asdict(plan), "request": plan.request.decode("latin-1")}) + "\n"


def result_from_line(line: str) -> WorkerResult:
    """Read the JSON line ``main`` prints."""
    raw = json.loads(line)
    return WorkerResult(**{**raw, "latencies": tuple(raw["latencies"])})


def run(plan: WorkerPlan, ready: Callable[[], None] = lambda: None) -> WorkerResult:
    """Connect, call ``ready`` (it returns at the common start), scrape as planned through one selector.

    Connections open before the clock starts, as a Prometheus server keeps its connection
    between scrapes: twenty opened in the same millisecond would time the server's accept
    and thread start of each behind the others' scrapes. One the server closes later is
    opened again inside the next scrape, and that scrape is timed.
    """
    selector = selectors.DefaultSelector()
    tally = _Tally()
    scrapers = [_Scraper(plan, selector, tally, phase) for phase in plan.phases]
    for scraper in scrapers:
        scraper.open()
    ready()
    started, cpu_started = time.perf_counter(), time.process_time()
    deadline = started + plan.budget_seconds
    for scraper in scrapers:
        scraper.next_start += started
    while True:
        now = time.perf_counter()
        for scraper in scrapers:
            scraper.tick(now, deadline)
        if not any(scraper.active for scraper in scrapers):
            break
        for key, _ in selector.select(_wait(scrapers, now)):
            key.data.on_ready()
    return WorkerResult(
        tuple(tally.latencies),
        tally.response_bytes,
        tally.failures,
        time.process_time() - cpu_started,
        time.perf_counter() - started,
    )


def _wait(scrapers: list[_Scraper], now: float) -> float:
    """Seconds until a waiting scraper is due (at most one, to notice stalls)."""
    due = [s.next_start for s in scrapers if s.active and s.waiting]
    return max(0.0, min([*due, now + 1.0]) - now)


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    response_bytes: int = 0
    failures: int = 0


class _Scraper:
    """One connection: waits for its turn, sends, reads the reply, and again."""

    def __init__(
        self, plan: WorkerPlan, selector: selectors.BaseSelector, tally: _Tally, first: float
    ) -> None:
        self._plan, self._selector, self._tally = plan, selector, tally
        self._left = plan.scrapes_each
        self.next_start = first
        self.active = True
        self.waiting = True  # between scrapes
        self.sock: socket.socket | None = None
        self._events = 0  # what the selector watches the socket for; 0: not registered
        self._connecting = False
        self._buffer = bytearray(_CHUNK)
        self._reset()

    def _reset(self) -> None:
        self._started = self._progress = 0.0
        self._unsent = b""
        self._head = bytearray()
        self._status, self._length, self._body, self._close = 0, -1, 0, False

    def open(self) -> None:
        """Connect now, blocking: before the clock starts."""
        self.sock = socket.create_connection(self._plan.address, timeout=STALL_SECONDS)
        self.sock.setblocking(False)  # noqa: FBT003 - from here on through the selector
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def tick(self, now: float, deadline: float) -> None:
        """Start the next scrape when due; fail one that stalled."""
        if self.active and self.waiting and now >= self.next_start:
            if self._left <= 0 or now >= deadline:
                self.active = False
                self._disconnect()
                return
            self._begin(now)
        elif self.active and not self.waiting and now - self._progress > STALL_SECONDS:
            self._fail()

    def _begin(self, now: float) -> None:
        self._reset()
        self.waiting = False
        self._started = self._progress = now
        self._left -= 1
        self.next_start = now if self._plan.pace is None else self.next_start + self._plan.pace
        self._unsent = self._plan.request
        if self.sock is None:
            self.sock = socket.socket(socket.AF_INET6 if ":" in self._plan.address[0] else socket.AF_INET)
            self.sock.setblocking(False)  # noqa: FBT003 - a full backlog must not stall the other connections
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = self.sock.connect_ex(self._plan.address)
            if code not in {0, errno.EINPROGRESS}:
                self._fail()
                return
            self._connecting = True
            self._watch(selectors.EVENT_WRITE)
            return
        self._send()

    def on_ready(self) -> None:
        """Make progress on the socket: send the rest of the request, or read the reply."""
        try:
            if self.waiting:  # a kept-alive connection the server closed between scrapes
                self._disconnect()
            elif self._connecting:  # connected, or not: SO_ERROR says
                self._connecting = False
                if self.sock is None or self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    self._fail()
                else:
                    self._send()
            elif self._unsent:
                self._send()
            else:
                self._receive()
        except OSError:
            self._fail()

    def _send(self) -> None:
        assert self.sock is not None  # noqa: S101 - only called with a connection
        sent = self.sock.send(self._unsent)
        self._unsent = self._unsent[sent:]
        self._progress = time.perf_counter()
        self._watch(selectors.EVENT_WRITE if self._unsent else selectors.EVENT_READ)

    def _receive(self) -> None:
        assert self.sock is not None  # noqa: S101 - only called with a connection
        received = self.sock.recv_into(self._buffer)
        self._progress = time.perf_counter()
        if received == 0:  # the server closed: the end of a reply without Content-Length, else a break
            if self._status and self._length < 0:
                self._complete(close=True)
            else:
                self._fail()
            return
        if not self._status:
            self._head += memoryview(self._buffer)[:received]
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self._parse_head(bytes(self._head[:end])):
                self._fail()
                return
            self._body = len(self._head) - end - 4
        else:
            self._body += received
        if self._length >= 0 and self._body >= self._length:
            if self._body > self._length:  # more than announced: the connection is out of step
                self._fail()
            else:
                self._complete(close=self._close)

    def _parse_head(self, head: bytes) -> bool:
        status_line, *fields = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (f.partition(":") for f in fields)
        }
        if "chunked" in headers.get("transfer-encoding", "") or not rest[:3].isdigit():
            return False
        self._status = int(rest[:3])
        self._length = int(headers.get("content-length", "-1"))
        connection = headers.get("connection", "").lower()
        self._close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        return True

    def _complete(self, *, close: bool) -> None:
        if self._status == _OK:
            self._tally.latencies.append(time.perf_counter() - self._started)
            self._tally.response_bytes = max(self._tally.response_bytes, self._body)
        else:
            self._tally.failures += 1
        if close:
            self._disconnect()
        self.waiting = True

    def _fail(self) -> None:
        self._tally.failures += 1
        self._disconnect()
        self.waiting = True

    def _watch(self, events: int) -> None:
        assert self.sock is not None  # noqa: S101 - only called with a connection
        if events == self._events:
            return
        if self._events:
            self._selector.modify(self.sock, events, self)
        else:
            self._selector.register(self.sock, events, self)
        self._events = events

    def _disconnect(self) -> None:
        self._connecting = False
        if self.sock is None:
            return
        if self._events:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self.sock)
        self.sock.close()
        self.sock, self._events = None, 0


if __name__ == "__main__":
    sys.exit(main())
