"""The Task Manager API's own words, and the values a label takes when the API gives none.

Parsing (models.py) depends on this module only, never on the metric catalogue.
"""

from __future__ import annotations

from typing import Final

TASK_STATES: Final = ("enqueued", "assigned", "started", "paused", "completed")
OPEN_STATES: Final = ("enqueued", "assigned", "started", "paused")
RESULT_CODES: Final = ("ok", "error", "warning", "cancelled", "abandoned", "timedout")
PRIORITIES: Final = ("low", "belowNormal", "normal", "aboveNormal", "high")

# The bucket that cardinality control folds surplus label values into. Documented in the
# README; a double underscore cannot clash with an Acronis tenant id, queue or type.
OTHER: Final = "__other__"
# Value of a label whose field the API left empty or omitted.
UNKNOWN: Final = "unknown"
