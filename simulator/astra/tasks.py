"""One Astra Control task as the simulator keeps it, and its JSON resource (seed 003)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

STATES: Final = (
    "notStarted",
    "running",
    "completed",
    "pausing",
    "paused",
    "cancelling",
    "cancelled",
    "failed",
)
FINISHED: Final = ("completed", "failed", "cancelled")
OPEN: Final = tuple(state for state in STATES if state not in FINISHED)
# Dotted hierarchical names, the task's kind (seed 003: "a dot notation hierarchical name").
NAMES: Final = (
    "astra.core.app.backup",
    "astra.core.app.snapshot",
    "astra.core.app.restore",
    "astra.core.app.clone",
    "astra.core.appMirror.update",
    "astra.core.cluster.manage",
    "astra.core.bucket.check",
)
_TRANSITIONS: Final = (
    {"from": "notStarted", "to": ["running", "cancelling"]},
    {"from": "running", "to": ["completed", "failed", "pausing", "cancelling"]},
    {"from": "pausing", "to": ["paused"]},
    {"from": "paused", "to": ["running", "cancelling"]},
    {"from": "cancelling", "to": ["cancelled"]},
)


def rfc3339(unix: float) -> str:
    """Format Unix seconds as Astra does: RFC 3339, UTC, whole seconds."""
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class AstraTask:
    """A task; ``seq`` orders the listing (creation order) and anchors continuation."""

    seq: int
    id: str
    name: str
    resource_id: str
    created: float
    state: str = "notStarted"
    start: float | None = None
    end: float | None = None
    cancel: float | None = None
    percent: int = 0
    modified: float = 0.0
    parent: str | None = None
    details: list[dict[str, str]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """True once the task reached completed, failed or cancelled."""
        return self.state in FINISHED

    def resource(self, account_id: str) -> dict[str, Any]:
        """Return the documented Task resource."""
        body: dict[str, Any] = {
            "type": "application/astra-task",
            "version": "1.1",
            "id": self.id,
            "name": self.name,
            "summary": self.name.rsplit(".", 1)[-1],
            "description": f"{self.name} of resource {self.resource_id}",
            "service": "composite-compute",
            "resourceID": self.resource_id,
            "resourceURI": f"/accounts/{account_id}/topology/v1/apps/{self.resource_id}",
            "resourceCollectionURI": [f"/accounts/{account_id}/topology/v1/apps"],
            "state": self.state,
            "stateTransitions": list(_TRANSITIONS),
            "stateDetails": list(self.details),
            "percentDone": self.percent,
            "metadata": {
                "labels": [],
                "creationTimestamp": rfc3339(self.created),
                "modificationTimestamp": rfc3339(self.modified or self.created),
                "createdBy": "00000000-0000-0000-0000-000000000000",
            },
        }
        optional = {"parentTaskID": self.parent, "startTime": self.start, "endTime": self.end}
        optional["cancelTime"] = self.cancel
        for key, value in optional.items():
            if value is not None:
                body[key] = value if isinstance(value, str) else rfc3339(value)
        return body
