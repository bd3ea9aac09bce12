"""What a completion walk learnt that an operator must hear of: logged, never silent.

Completions dated after the API's own time that fill a cut-off walk's page budget are not
counted (they come last in completedAt order), and a step back of the API's clock moves W
and H back; both are warnings with where the walk stood.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exporter import logs
from exporter.api_clock import DATE_RESOLUTION
from exporter.models import format_time

if TYPE_CHECKING:
    from exporter.completion_walk import Listing
    from exporter.completions import WalkResult
    from exporter.sources.listing import Kind

_log = logs.get_logger(component="sources")


def note_ahead(kind: Kind[Any], listing: Listing, last: float | None) -> None:
    """Warn when completions dated after the API's time (listed last) fill a cut-off walk's budget."""
    if last is None or listing.ended is None or last <= listing.ended + DATE_RESOLUTION:
        return
    _log.warning(
        "completions_ahead_fill_page_budget",
        resource=kind.resource,
        last_listed=format_time(last),
        api_time=format_time(listing.ended),
        note="completions dated after the API's time past last_listed are not counted",
    )


def note_step(kind: Kind[Any], result: WalkResult) -> WalkResult:
    """Log a step back of the API's clock, and where it put W and H back."""
    if result.stepped_back is not None:
        _log.warning(
            "api_clock_stepped_back",
            resource=kind.resource,
            seconds=round(result.stepped_back, 1),
            watermark=None if result.watermark is None else format_time(result.watermark),
            horizon=None if result.anchor is None else format_time(result.anchor),
        )
    return result
