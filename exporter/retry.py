"""When and whether the client tries a request again.

``RetryPolicy`` runs one request's attempts. A failure worth another go is raised as
``Retry``: 5xx and transport errors wait a capped, fully jittered exponential backoff;
a 429 (or a 503 with Retry-After) closes a ``ThrottleGate`` shared by every thread, so a
throttled API never sees more requests per minute than in steady state. Every wait
watches the ``stop`` event, so shutdown interrupts it. What a response *means* (which
error it is) stays with the client; this module only decides about the next attempt.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import threading
import time
from typing import TYPE_CHECKING, Final, NoReturn

from exporter import logs
from exporter.errors import ApiError, ApiUnavailable, RateLimited

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    from exporter.config import ApiSettings
    from exporter.selfmetrics import SelfMetrics

# Operators know these lines (api_request_retried, api_throttled) as the client's.
_log = logs.get_logger(component="client")
_DELTA_SECONDS: Final = re.compile(r"[0-9]{1,12}")  # RFC 9110 delay-seconds; 12 digits is 30,000 years


class Retry(Exception):
    """A failure worth another attempt; `delay` None means exponential backoff."""

    def __init__(self, error: ApiError, *, delay: float | None = None, reason: str | None = None) -> None:
        super().__init__(str(error))
        self.error, self.delay, self.reason = error, delay, reason or error.reason


class HeldBack(Exception):
    """A request reached the wire while the gate had closed after it last looked: go back and wait."""


class ThrottleGate:
    """The moment before which no thread may send, set by Retry-After, and the shutdown switch.

    Closing the gate, stopping and admitting a request each happen under one lock, and
    each logs its line under it. So the log is an exact record: no ``api_request_sent``
    line stands after an ``api_throttled`` line unless it was sent at or after that
    line's ``resume_at``, and none stands after ``api_sending_stopped`` at all.
    """

    def __init__(self, stop: threading.Event) -> None:
        self._lock = threading.Lock()
        self._open_at = 0.0  # time.monotonic()
        self._stop = stop

    def close_for(self, seconds: float, **context: object) -> float:
        """Hold every request back `seconds` from now; return how far this extended the hold."""
        with self._lock:
            now = time.monotonic()
            until = now + seconds
            extension = max(0.0, until - max(self._open_at, now))
            self._open_at = max(self._open_at, until)
            resume_at = time.time() + (self._open_at - now)
            _log.warning("api_throttled", held_seconds=extension, resume_at=_rfc3339(resume_at), **context)
            return extension

    def remaining(self) -> float:
        """Return seconds until requests may go out again."""
        with self._lock:
            return max(0.0, self._open_at - time.monotonic())

    def admit(self, endpoint: str) -> None:
        """Let one request onto the wire now, or raise: shut down, or held back since it last looked."""
        with self._lock:
            if self._stop.is_set():
                raise ApiUnavailable(f"GET {endpoint}: cancelled by shutdown", reason="cancelled")
            if self._open_at > time.monotonic():
                raise HeldBack(endpoint)
            _log.debug("api_request_sent", endpoint=endpoint)

    def stop_sending(self) -> None:
        """Set the stop event: from this line of the log on, no request goes out."""
        with self._lock:
            self._stop.set()
            _log.info("api_sending_stopped")


def _rfc3339(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse Retry-After: delta seconds or an HTTP date; None when absent or unreadable.

    RFC 9110 allows only ``1*DIGIT`` or an HTTP date: ``1e308``, ``inf``, ``-5`` or ``1_0``
    are unreadable, not numbers, so a hostile value backs off exponentially instead.
    """
    if not value:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _http_time(date: str | None) -> float | None:
    """Return an HTTP Date header as unix seconds, or None when absent or unreadable."""
    if not date:
        return None
    try:
        return email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class RetryPolicy:
    """Runs a request's attempts within api.max_retries, waiting as the API and the backoff ask."""

    def __init__(
        self, api: ApiSettings, metrics: SelfMetrics, *, stop: threading.Event, rng: random.Random
    ) -> None:
        self._api, self._metrics, self._stop, self._rng = api, metrics, stop, rng
        self.gate = ThrottleGate(stop)

    def run(self, endpoint: str, attempt: Callable[[], object]) -> object:
        """Return what `attempt` returns; retry it on `Retry`, raise the last error when out of tries."""
        retries_left = self._api.max_retries
        number = 0
        while True:
            try:
                self._hold_back(endpoint)
                return attempt()
            except HeldBack:
                continue  # never sent: not an attempt
            except Retry as retry:
                if number == retries_left:
                    raise retry.error from None
                delay = self._backoff(number) if retry.delay is None else retry.delay
                self._metrics.api_retries.labels(endpoint=endpoint, reason=retry.reason).inc()
                _log.info("api_request_retried", endpoint=endpoint, reason=retry.reason, delay_seconds=delay)
                self._wait(delay, endpoint)
                number += 1

    def throttled(
        self, endpoint: str, status: int, message: str, retry_after: str | None, date: str | None = None
    ) -> NoReturn:
        """Answer a 429 (or a 503 with Retry-After) whose error reads `message`: retry, or fail now.

        A Retry-After date is on the API's clock: it is measured against the reply's ``date``
        (its Date header), so an API clock an hour ahead of ours does not turn "in 5 s" into
        an hour; without a readable Date, against our clock.
        """
        delay = retry_after_seconds(retry_after, _http_time(date))
        if delay is None:  # a 429 without a usable Retry-After: back off exponentially
            raise Retry(RateLimited(message, status=status), reason="throttled")
        error = RateLimited(f"{message}, Retry-After {delay:g}s", retry_after=delay, status=status)
        cap = self._api.retry_after_max
        beyond_cap = delay > cap
        # Honoured up to the cap only: an API (or a proxy) asking for a day, or for the year
        # 9999, must not silence monitoring for that long. Past the cap the API is asked again.
        held = self.gate.close_for(
            min(delay, cap),
            endpoint=endpoint,
            status=status,
            retry_after_seconds=delay,
            beyond_cap=beyond_cap,
        )
        self._metrics.api_throttled_seconds.inc(held)
        if beyond_cap:
            raise error  # waiting that long would stall the poll: fail now, keep last-good data
        raise Retry(error, delay=0.0, reason="throttled")  # the gate does the waiting

    def _hold_back(self, endpoint: str) -> None:
        """Return once requests may go out: the gate is open and we are not shutting down."""
        while (held := self.gate.remaining()) > 0:  # another thread may extend the hold meanwhile
            self._wait(held, endpoint)  # never longer than api.retry_after_max: see throttled()
        self._wait(0.0, endpoint)

    def _wait(self, seconds: float, endpoint: str) -> None:
        if seconds > 0 and self._stop.wait(seconds):
            raise ApiUnavailable(f"GET {endpoint}: cancelled by shutdown", reason="cancelled")
        if self._stop.is_set():
            raise ApiUnavailable(f"GET {endpoint}: cancelled by shutdown", reason="cancelled")

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._api.backoff_max, self._api.backoff_initial * 2**attempt)
        return self._rng.uniform(0, ceiling)  # full jitter: spreads retries of many exporters apart
