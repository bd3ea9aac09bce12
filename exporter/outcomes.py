"""How each source's refresh ended: success, failure with a reason, items skipped.

node_exporter's ``execute()`` for our sources: a refresh that raises fails that source and
nothing else. An ``ApiError`` fails it with the error's own reason; any other exception (a
value no check foresaw) fails it with reason ``internal``, logged with its traceback, so
``acronis_up`` and ``source_up`` tell the truth whatever the API sent. Work done on a
source's result after it arrived (labelling, committing) is guarded the same way.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import TYPE_CHECKING, TypeVar

from exporter import logs
from exporter.errors import ApiError
from exporter.jobs import PollCancelled
from exporter.snapshot import SourceStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterator, Mapping

    from exporter.jobs import SourceJobs
    from exporter.selfmetrics import SelfMetrics

T = TypeVar("T")
INTERNAL = "internal"  # the refresh-failure reason of an exception that is not an ApiError

_log = logs.get_logger(component="poller")


class Outcomes:
    """The status of every source and the items skipped so far, kept across polls."""

    def __init__(
        self, metrics: SelfMetrics, clock: Callable[[], float], stopping: Callable[[], bool]
    ) -> None:
        self._metrics = metrics
        self._clock = clock
        self._stopping = stopping
        self.status: dict[str, SourceStatus] = {}
        self.skipped: Counter[tuple[str, str]] = Counter()
        self._before: dict[str, SourceStatus] = {}  # as the previous poll left them

    def start_poll(self) -> None:
        """Remember the statuses as they stand, so a failure later in this poll keeps the old success."""
        self._before = dict(self.status)

    def settle(self, run: SourceJobs[T]) -> dict[Hashable, T] | None:
        """Wait for one source and record how it went; None when it failed (its last good data stays)."""
        self._metrics.refreshes.labels(source=run.name).inc()
        try:
            results = run.results()
        except ApiError as error:
            if error.reason == "cancelled" or self._stopping():
                raise PollCancelled(run.name) from error
            self.fail(run.name, error.reason, str(error), duration=run.duration)
            return None
        except PollCancelled:
            raise
        except Exception as error:
            if self._stopping():
                raise PollCancelled(run.name) from error
            self._crashed(run.name, error, duration=run.duration)
            return None
        self.status[run.name] = SourceStatus(
            run.name, ok=True, duration_seconds=run.duration, last_success=self._clock()
        )
        return results

    @contextlib.contextmanager
    def guarded(self, source: str) -> Iterator[None]:
        """Run the work on a source's result; an exception fails that source instead of the poll."""
        try:
            yield
        except PollCancelled:
            raise
        except Exception as error:  # noqa: BLE001  as in settle()
            current = self.status.get(source)
            self._crashed(source, error, duration=current.duration_seconds if current else 0.0)

    def fail(self, source: str, reason: str, message: str, *, duration: float) -> None:
        """Mark ``source`` failed for ``reason``, keeping the last success it had before this poll."""
        previous = self._before.get(source)
        self.status[source] = SourceStatus(
            source,
            ok=False,
            duration_seconds=duration,
            last_success=previous.last_success if previous else None,
            error_reason=reason,
        )
        self._metrics.refresh_failures.labels(source=source, reason=reason).inc()
        _log.warning("source_refresh_failed", source=source, reason=reason, error=message)

    def skip(self, source: str, reasons: Mapping[str, int]) -> None:
        """Count items (or values) of ``source`` that could not be used, by reason."""
        for reason, n in reasons.items():
            self.skipped[source, reason] += n

    def _crashed(self, source: str, error: Exception, *, duration: float) -> None:
        # Only the type: the message may quote whatever the API sent, at any length.
        _log.error("source_crashed", source=source, error_type=type(error).__name__, exc_info=error)
        self.fail(source, INTERNAL, f"{type(error).__name__} while refreshing {source}", duration=duration)
