"""The opt-in per-resource and per-policy outcome settings, a part of the ``metrics`` section.

Kept apart from ``config_sections`` so that the section stays short; ``MetricsSettings``
inherits these fields, so they are ``--metrics.resources``, ``ACRONIS_EXPORTER_METRICS__RESOURCES``
and ``metrics: {resources: true}`` like every other metrics setting.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from exporter.config_values import Count, StrList  # noqa: TC001 - pydantic resolves them at runtime


class ResourceRules(BaseModel):
    """Which resources and policies get last-outcome series, and the windowed totals."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)

    resources: bool = False
    """Export when each resource and policy last completed a task, per result code (one more walk a poll)."""
    max_resources: Count = 1000
    """Resources with their own series; the rest fold into resource_id="__other__"."""
    max_policies: Count = 200
    """Policies with their own series; the rest fold into policy_id="__other__"."""
    resource_types: StrList = []
    """Only resources of these types, e.g. resource.machine (empty: all)."""
    policy_types: StrList = []
    """Only policies of these types, e.g. policy.backup.machine (empty: all)."""
    completion_windows: bool = False
    """Export tasks completed in the last hour and day per result code (13 requests a poll)."""
