"""The opt-in outcome families' specs, as plain fields that ``catalogue`` turns into ``MetricSpec``s.

Kept here so that the catalogue stays short; ``catalogue`` places them in its order. These
families are opt-in (``--metrics.resources``, ``--metrics.completion-windows``): with no
series they are left out of /metrics altogether (``sources.OPT_IN``), so the default
exposition is the same as without them.
"""

from __future__ import annotations

from typing import Final, Literal

from exporter.vocabulary import OTHER, UNKNOWN

SpecFields = tuple[str, Literal["gauge"], str, *tuple[str, ...]]  # name, type, help, labels

_FOLD_ROWS: Final = f'Rows for "{OTHER}" (folded) and "{UNKNOWN}" keep joins whole. Always 1.'


def _last(kind: str) -> SpecFields:
    return (
        f"acronis_{kind}_last_completion_timestamp_seconds",
        "gauge",
        (
            f"When each {kind} last completed a task with each result_code, by tenant_id and {kind}_type "
            "(completedAt; seeded from --poll.lookback at start)."
        ),
        "tenant_id",
        f"{kind}_id",
        f"{kind}_type",
        "result_code",
    )


def _info(kind: str) -> SpecFields:
    return (
        f"acronis_{kind}_info",
        "gauge",
        f"Names of the {kind}s, by {kind}_id. {_FOLD_ROWS}",
        f"{kind}_id",
        f"{kind}_name",
    )


LAST_OUTCOMES: Final[tuple[SpecFields, ...]] = (
    _last("resource"),
    _info("resource"),
    _last("policy"),
    _info("policy"),
)
WINDOW: Final[SpecFields] = (
    "acronis_tasks_completed_window",
    "gauge",
    (
        'Tasks completed within the last window (window="1h", "24h"), per result_code (lod=count with '
        "completedAt=gt(...)); survives restarts."
    ),
    "result_code",
    "window",
)
