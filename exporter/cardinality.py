"""Cardinality control: which tenants are kept, and which label values get a series of their own.

Two mechanisms keep a partner with thousands of customer tenants safe by default:

* ``TenantFilter``: allow and deny rules on tenant id, name and locator. A dropped tenant is
  left out of every tenant-labelled family.
* ``StickyCap``: at most ``limit`` distinct values of a label keep their own series; the rest
  fold into ``__other__``. The choice is sticky for the life of the process: a value never
  moves between its own series and ``__other__``, or counters would go backwards. The first
  poll seeds it with the values that have the most open work, later values come first-served.

``Labeler`` puts them together and is the only place raw API values turn into label values.
Values the API left empty become ``unknown``, which never takes a slot nor folds. Dropping
a label (``--metrics.drop-labels``) is not its business: rendering.py does that, in one
place, when it turns series into samples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from exporter.snapshot import TenantInfo
from exporter.vocabulary import OTHER, UNKNOWN

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from exporter.models import Tenant


_RESERVED_LOOKALIKE: Final = re.compile(f"~*(?:{re.escape(OTHER)}|{re.escape(UNKNOWN)})")


class MetricsRules(Protocol):
    """The cardinality part of the settings (``Settings.metrics``)."""

    @property
    def max_tenants(self) -> int: ...  # noqa: D102  fields documented in config.py
    @property
    def tenant_allow(self) -> Sequence[str]: ...  # noqa: D102
    @property
    def tenant_deny(self) -> Sequence[str]: ...  # noqa: D102
    @property
    def tenant_name_allow(self) -> str | None: ...  # noqa: D102
    @property
    def tenant_name_deny(self) -> str | None: ...  # noqa: D102
    @property
    def tenant_locator_prefix(self) -> Sequence[str]: ...  # noqa: D102
    @property
    def max_queues(self) -> int: ...  # noqa: D102
    @property
    def max_task_types(self) -> int: ...  # noqa: D102
    @property
    def resources(self) -> bool: ...  # noqa: D102
    @property
    def max_resources(self) -> int: ...  # noqa: D102
    @property
    def max_policies(self) -> int: ...  # noqa: D102


@dataclass(frozen=True)
class TenantFilter:
    """Keeps a tenant that passes every configured allow rule and matches no deny rule.

    Name patterns are anchored at both ends, as Prometheus relabelling regexes are.
    """

    allow_ids: frozenset[str] = frozenset()
    deny_ids: frozenset[str] = frozenset()
    name_allow: re.Pattern[str] | None = None
    name_deny: re.Pattern[str] | None = None
    locator_prefixes: tuple[str, ...] = ()

    @classmethod
    def from_rules(cls, rules: MetricsRules) -> TenantFilter:
        """Build the filter from the ``metrics`` settings."""
        return cls(
            allow_ids=frozenset(rules.tenant_allow),
            deny_ids=frozenset(rules.tenant_deny),
            name_allow=re.compile(rules.tenant_name_allow) if rules.tenant_name_allow else None,
            name_deny=re.compile(rules.tenant_name_deny) if rules.tenant_name_deny else None,
            locator_prefixes=tuple(rules.tenant_locator_prefix),
        )

    @property
    def has_allow_rules(self) -> bool:
        """True when some allow rule restricts which tenants are kept."""
        return bool(self.allow_ids or self.name_allow or self.locator_prefixes)

    def keeps(self, tenant: Tenant | None) -> bool:
        """Return True if series for ``tenant`` (None: the item named none) may be exported."""
        if tenant is None or not tenant.id:
            return not self.has_allow_rules  # an allow list cannot vouch for an unnamed tenant
        allowed = (
            (not self.allow_ids or tenant.id in self.allow_ids)
            and (self.name_allow is None or self.name_allow.fullmatch(tenant.name) is not None)
            and (not self.locator_prefixes or tenant.locator.startswith(self.locator_prefixes))
        )
        denied = tenant.id in self.deny_ids or (
            self.name_deny is not None and self.name_deny.fullmatch(tenant.name) is not None
        )
        return allowed and not denied


class StickyCap:
    """Gives at most ``limit`` distinct values a series of their own, for the life of the process."""

    def __init__(self, limit: int) -> None:
        self._limit = max(limit, 0)
        self._admitted: set[str] = set()
        self._folded: set[str] = set()  # distinct values folded during the current poll

    def seed(self, weights: Mapping[str, int]) -> None:
        """Admit unseen values heaviest first while there is room (ties by name, for determinism)."""
        for value, _ in sorted(weights.items(), key=lambda pair: (-pair[1], pair[0])):
            self._admit(value)

    def label(self, value: str) -> str:
        """Return the label of ``value`` if it has (or now gets) its own series, else ``__other__``."""
        if self._admit(value):
            return own_label(value)
        self._folded.add(value)
        return OTHER

    @property
    def values(self) -> tuple[str, ...]:
        """The raw values (as the API names them) that have a series of their own, sorted."""
        return tuple(sorted(self._admitted))

    def start_poll(self) -> None:
        """Forget which values were folded, so the count is per poll."""
        self._folded.clear()

    @property
    def folded(self) -> int:
        """Distinct values folded into ``__other__`` since ``start_poll``."""
        return len(self._folded)

    def _admit(self, value: str) -> bool:
        if value in self._admitted:
            return True
        if len(self._admitted) >= self._limit:
            return False
        self._admitted.add(value)
        return True


def own_label(raw: str) -> str:
    """Return the label value of a raw API value, never one of the exporter's own words.

    A tenant or queue the API really calls ``__other__`` or ``unknown`` must not share a
    series (or an ``acronis_tenant_info`` row, which would break every join) with the fold
    bucket or the missing-value bucket. Such a value, and any value made of tildes followed
    by one of those words, gets one more leading tilde: ``unknown`` becomes ``~unknown``,
    ``~unknown`` becomes ``~~unknown``. The mapping stays one-to-one, and every other value
    is left alone.
    """
    return "~" + raw if _RESERVED_LOOKALIKE.fullmatch(raw) else raw


class Labeler:
    """Turns raw API values into label values: filtered, capped and folded.

    Only the poller's own thread calls it, between fetching and building the snapshot.
    """

    def __init__(self, rules: MetricsRules) -> None:
        self.tenant_filter = TenantFilter.from_rules(rules)
        self._caps = {
            "tenant_id": StickyCap(rules.max_tenants),
            "queue": StickyCap(rules.max_queues),
            "task_type": StickyCap(rules.max_task_types),
            "activity_type": StickyCap(rules.max_task_types),
            "name": StickyCap(rules.max_task_types),  # Astra Control task names (sources/astra.py)
        }
        if rules.resources:  # the opt-in resource_outcomes source: its folds are counted like any other
            self._caps |= {
                "resource_id": StickyCap(rules.max_resources),
                "resource_type": StickyCap(rules.max_task_types),
                "policy_id": StickyCap(rules.max_policies),
                "policy_type": StickyCap(rules.max_task_types),
            }
        self._tenants: dict[str, TenantInfo] = {}
        # This poll's answers. Within a poll the same input always gets the same label (a
        # cap only ever admits more values, the filter is fixed), and a folded value is
        # already in its cap's folded set; at 5k tenants a poll labels ~50k groups.
        self._tenant_labels: dict[Tenant | None, tuple[str | None, TenantInfo | None]] = {}
        self._values: dict[tuple[str, str | None], str] = {}

    def start_poll(self, open_work: Mapping[str, Mapping[str, int]]) -> None:
        """Begin a poll; ``open_work`` (label → raw value → open items) seeds unseen values."""
        self._tenant_labels.clear()
        self._values.clear()
        for name, cap in self._caps.items():
            cap.start_poll()
            cap.seed({value: n for value, n in open_work.get(name, {}).items() if value})

    def tenant(self, tenant: Tenant | None) -> str | None:
        """Return the tenant_id label value, or None when the filter drops the tenant."""
        known = self._tenant_labels.get(tenant)
        if known is None:
            known = self._tenant_labels[tenant] = self._label_tenant(tenant)
        label, info = known
        if info is not None:  # the latest listing's name and locator, as each call wrote them
            self._tenants[info.id] = info
        return label

    def _label_tenant(self, tenant: Tenant | None) -> tuple[str | None, TenantInfo | None]:
        if not self.tenant_filter.keeps(tenant):
            return None, None
        if tenant is None or not tenant.id:
            return UNKNOWN, None
        label = self._caps["tenant_id"].label(tenant.id)
        if label == OTHER:
            return label, None
        info = TenantInfo(
            id=label,
            name=tenant.name,
            locator=tenant.locator,
            uuid=tenant.uuid,
            parent_id=tenant.parent_id,
        )
        return label, info

    def value(self, label: str, raw: str | None) -> str:
        """Return the label value for ``raw`` under ``label`` (queue, task_type, activity_type, priority)."""
        key = (label, raw)
        known = self._values.get(key)
        if known is None:
            known = self._values[key] = self._label_value(label, raw)
        return known

    def _label_value(self, label: str, raw: str | None) -> str:
        if not raw:
            return UNKNOWN
        cap = self._caps.get(label)
        return own_label(raw) if cap is None else cap.label(raw)

    def admitted(self, label: str) -> tuple[str, ...]:
        """Values of ``label`` that have a series of their own so far, sorted."""
        return self._caps[label].values

    @property
    def tenants(self) -> Mapping[str, TenantInfo]:
        """Every individually labelled tenant seen so far, with its latest name and locator."""
        return dict(self._tenants)

    @property
    def folded(self) -> Mapping[str, int]:
        """Distinct values folded into ``__other__`` this poll, per capped label."""
        return {name: cap.folded for name, cap in self._caps.items()}
