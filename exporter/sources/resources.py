"""The ``resource_outcomes`` source (opt-in, ``--metrics.resources``): last outcome per resource, policy.

Answers "which machines have not had a good backup for a day" and "which policy keeps
failing": per resource and per policy, when it last completed a task with each result
code. The first poll walks ``--poll.lookback`` of completions (the last outcomes are right
from the first scrape, also after a restart); later polls walk from the watermark, reaching
back ``--poll.completion-overlap`` for late writes. These are gauges only: the completion
counters still start at zero (zero-first).

Ids are capped (``--metrics.max-resources``, ``--metrics.max-policies``) and fold into
``__other__`` like every label; tenants go through the tenant filter and cap; resource and
policy types can be restricted to a list. Names live in ``acronis_resource_info`` and
``acronis_policy_info``, as tenant names do in ``acronis_tenant_info``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Final

from exporter import catalogue, logs
from exporter.labels import series
from exporter.rendering import simple
from exporter.sources.base import Folded, Source
from exporter.sources.outcome_walk import ROLES, Walked, api_now, walk_outcomes
from exporter.vocabulary import OTHER, UNKNOWN

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping

    from prometheus_client.metrics_core import Metric

    from exporter.cardinality import Labeler
    from exporter.config import Settings
    from exporter.labels import Key
    from exporter.snapshot import Snapshot
    from exporter.sources.base import Family, Poll, Shared
    from exporter.sources.outcome_walk import Outcome, OutcomeKey, Role

NAME: Final = "resource_outcomes"
_log = logs.get_logger(component="sources")
_SPECS: Final = {"resource": catalogue.RESOURCE_LAST_COMPLETION, "policy": catalogue.POLICY_LAST_COMPLETION}
_FOLDED_NAME: Final = {
    "resource": "(folded: resources beyond --metrics.max-resources)",
    "policy": "(folded: policies beyond --metrics.max-policies)",
}
_UNKNOWN_NAME: Final = "(unknown: items that name no id)"


@dataclass(frozen=True)
class LastOutcomes:
    """The published result: newest completedAt per series key, and names per id label."""

    resources: Mapping[Key, float]
    policies: Mapping[Key, float]
    resource_names: Mapping[str, str]
    policy_names: Mapping[str, str]


class _Role:
    """What the source keeps for resources, or for policies: caps, gauges and names."""

    def __init__(self, role: Role, types: list[str]) -> None:
        self.spec = _SPECS[role]
        self.allowed = frozenset(types)
        self.last: dict[Key, float] = {}
        self.names: dict[str, str] = {}

    def add(self, outcome: Outcome, tenant_label: str, code: str, labeler: Labeler) -> None:
        link = outcome.link
        if self.allowed and link.type not in self.allowed:
            return
        role_id, role_type = self.spec.labels[1], self.spec.labels[2]
        # The labeler's caps (--metrics.max-resources, --metrics.max-policies): folds counted.
        id_label, type_label = labeler.value(role_id, link.id), labeler.value(role_type, link.type)
        if id_label not in (OTHER, UNKNOWN):
            self.names[id_label] = link.name
        labels = {"tenant_id": tenant_label, role_id: id_label, role_type: type_label, "result_code": code}
        key = series(self.spec, **labels)
        self.last[key] = max(self.last.get(key, 0.0), outcome.completed_at)


def _last(role: Role) -> Family:
    spec = _SPECS[role]

    def build(snapshot: Snapshot) -> Metric:
        result = snapshot.result(NAME, LastOutcomes)
        values = {} if result is None else (result.resources if role == "resource" else result.policies)
        return simple(spec, values, snapshot.dropped_labels, merge=max)

    return spec, build


def _info(role: Role) -> Family:
    spec = catalogue.RESOURCE_INFO if role == "resource" else catalogue.POLICY_INFO

    def build(snapshot: Snapshot) -> Metric:
        result = snapshot.result(NAME, LastOutcomes)
        if result is None:
            return simple(spec, {})
        names = result.resource_names if role == "resource" else result.policy_names
        id_label, name_label = spec.labels
        pairs = [*names.items(), (OTHER, _FOLDED_NAME[role]), (UNKNOWN, _UNKNOWN_NAME)]
        return simple(spec, {series(spec, **{id_label: i, name_label: n}): 1.0 for i, n in pairs})

    return spec, build


class ResourceOutcomes(Source):
    """When each resource and each policy last completed a task, per result code."""

    name: ClassVar[str] = NAME
    families: ClassVar[tuple[Family, ...]] = tuple(
        family for role in ROLES for family in (_last(role), _info(role))
    )

    def __init__(self, settings: Settings, shared: Shared) -> None:
        super().__init__(settings, shared)
        rules = settings.metrics
        self._roles = {
            "resource": _Role("resource", rules.resource_types),
            "policy": _Role("policy", rules.policy_types),
        }
        self._watermark: float | None = None  # completedAt walked up to
        self._caught_up = True  # the last walk ended before the page budget did

    @classmethod
    def polled(cls, settings: Settings) -> bool:
        """Only with ``--metrics.resources``."""
        return settings.metrics.resources and super().polled(settings)

    def requests(self, poll: Poll) -> Mapping[Hashable, Callable[[], object]]:
        """Walk the completions since the watermark (at start: since --poll.lookback ago), one job."""
        watermark, caught_up = self._watermark, self._caught_up
        overlap, lookback = self.settings.poll.completion_overlap, self.settings.poll.lookback

        def walk() -> Walked:
            if watermark is None:
                now = api_now(poll.client, poll.paging, time.time())
                if lookback <= 0:
                    return Walked({}, now, complete=True)
                began = time.monotonic()
                walked = walk_outcomes(poll.client, now - lookback, poll.paging)
                _log.info(  # the look-back's cost and reach, once per start
                    "lookback_walked",
                    since=now - lookback,
                    until=walked.watermark,
                    keys=len(walked.outcomes),
                    complete=walked.complete,
                    seconds=round(time.monotonic() - began, 3),
                )
                return walked
            return walk_outcomes(poll.client, watermark - (overlap if caught_up else 0.0), poll.paging)

        return {NAME: walk}

    def fold(self, replies: Mapping[Hashable, object], poll: Poll) -> Folded:
        """Label the walk's outcomes into the gauges and move the watermark."""
        walked = replies[NAME]
        if not isinstance(walked, Walked):
            raise TypeError(type(walked).__name__)
        for key, outcome in walked.outcomes.items():
            self._add(key, outcome, poll)
        if walked.watermark is not None:
            self._watermark = max(walked.watermark, self._watermark or walked.watermark)
        self._caught_up = walked.complete
        resource, policy = self._roles["resource"], self._roles["policy"]
        result = LastOutcomes(
            dict(resource.last), dict(policy.last), dict(resource.names), dict(policy.names)
        )
        return Folded(result, walked.skipped)

    def _add(self, key: OutcomeKey, outcome: Outcome, poll: Poll) -> None:
        role, _, _, code = key
        tenant_label = poll.labeler.tenant(outcome.tenant)
        if tenant_label is not None:  # None: the tenant filter drops it
            self._roles[role].add(outcome, tenant_label, code, poll.labeler)
