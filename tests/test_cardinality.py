from __future__ import annotations

import pytest
from prometheus_client.samples import Sample

from exporter import catalogue
from exporter.cardinality import Labeler, StickyCap, TenantFilter, own_label
from exporter.config import MetricsSettings
from exporter.families import FAMILIES
from exporter.labels import series
from exporter.models import Tenant
from exporter.rendering import simple
from exporter.snapshot import Snapshot, SourceStatus
from exporter.vocabulary import OTHER, UNKNOWN

ACME = Tenant(id="42", name="Acme GmbH", locator="/1/7/42/", parent_id="7")
TEST = Tenant(id="43", name="test-lab", locator="/1/7/43/", parent_id="7")
ELSEWHERE = Tenant(id="99", name="Other Partner", locator="/1/8/99/", parent_id="8")


class TestTenantFilter:
    """Allow rules must all pass and no deny rule may match."""

    def test_without_rules_every_tenant_is_kept(self) -> None:
        """The default keeps every tenant, including items without one."""
        keep = TenantFilter.from_rules(MetricsSettings())
        assert keep.keeps(ACME)
        assert keep.keeps(None)

    def test_allowed_ids_keep_only_those_tenants(self) -> None:
        """An id allow list drops every other tenant and items without a tenant."""
        keep = TenantFilter.from_rules(MetricsSettings(tenant_allow=["42"]))
        assert keep.keeps(ACME)
        assert not keep.keeps(TEST)
        assert not keep.keeps(None)

    def test_deny_wins_over_allow(self) -> None:
        """A tenant both allowed and denied is dropped."""
        keep = TenantFilter.from_rules(MetricsSettings(tenant_allow=["42", "43"], tenant_deny=["43"]))
        assert keep.keeps(ACME)
        assert not keep.keeps(TEST)

    def test_name_patterns_are_anchored(self) -> None:
        """Name regexes must match the whole name, as Prometheus relabelling regexes do."""
        assert not TenantFilter.from_rules(MetricsSettings(tenant_name_allow="Acme")).keeps(ACME)
        assert TenantFilter.from_rules(MetricsSettings(tenant_name_allow="Acme.*")).keeps(ACME)
        assert not TenantFilter.from_rules(MetricsSettings(tenant_name_deny="test-.*")).keeps(TEST)
        assert TenantFilter.from_rules(MetricsSettings(tenant_name_deny="test")).keeps(TEST)

    def test_locator_prefixes_keep_a_partner_subtree(self) -> None:
        """Tenants under any listed locator prefix are kept; others are dropped."""
        keep = TenantFilter.from_rules(MetricsSettings(tenant_locator_prefix=["/1/7/", "/1/9/"]))
        assert keep.keeps(ACME)
        assert keep.keeps(TEST)
        assert not keep.keeps(ELSEWHERE)


class TestStickyCap:
    """At most `limit` values get a series; the choice never changes."""

    def test_values_beyond_the_limit_fold_into_other(self) -> None:
        """The first values seen keep their label; later ones fold and are counted per poll."""
        cap = StickyCap(2)
        labels = [cap.label(value) for value in ("a", "b", "c", "d", "c")]
        assert labels == ["a", "b", OTHER, OTHER, OTHER]
        assert cap.folded == 2

    def test_choice_is_stable_across_polls(self) -> None:
        """A folded value stays folded even when the admitted ones stop appearing."""
        cap = StickyCap(1)
        assert cap.label("a") == "a"
        assert cap.label("b") == OTHER
        cap.start_poll()
        assert cap.folded == 0
        assert cap.label("b") == OTHER
        assert cap.label("a") == "a"
        assert cap.folded == 1

    def test_seeding_admits_the_heaviest_values_first(self) -> None:
        """On the first poll the values with most open work win the slots, ties by name."""
        cap = StickyCap(2)
        cap.seed({"small": 1, "big": 50, "mid-b": 7, "mid-a": 7})
        assert cap.values == ("big", "mid-a")

    def test_unknown_never_takes_a_slot_nor_folds(self) -> None:
        """A missing value is "unknown", always its own series, and leaves room for real values."""
        labeler = Labeler(MetricsSettings(max_queues=1))
        assert labeler.value("queue", "") == UNKNOWN
        assert labeler.value("queue", None) == UNKNOWN
        assert labeler.value("queue", "a") == "a"
        assert labeler.value("queue", "") == UNKNOWN
        assert labeler.folded["queue"] == 0


class TestLabeler:
    """Raw API values become final label values in one place."""

    def test_default_settings_bound_five_thousand_tenants(self) -> None:
        """With defaults, 5,000 customer tenants give 100 series plus __other__."""
        labeler = Labeler(MetricsSettings())
        tenants = [Tenant(id=str(n), name=f"c{n}", locator=f"/1/7/{n}/") for n in range(5000)]
        labeler.start_poll({"tenant_id": {"4999": 3}})
        labels = {labeler.tenant(tenant) for tenant in tenants}
        assert len(labels) == 101
        assert OTHER in labels
        assert "4999" in labels
        assert labeler.folded["tenant_id"] == 4900
        assert len(labeler.tenants) == 100

    def test_filtered_tenant_has_no_label(self) -> None:
        """A denied tenant yields None so the caller leaves it out of tenant-labelled families."""
        labeler = Labeler(MetricsSettings(tenant_deny=["43"]))
        labeler.start_poll({})
        assert labeler.tenant(TEST) is None
        assert labeler.tenant(ACME) == "42"

    def test_tenant_info_is_kept_for_individually_labelled_tenants_only(self) -> None:
        """Folded tenants have no info row; kept ones carry name, locator and parent."""
        labeler = Labeler(MetricsSettings(max_tenants=1))
        labeler.start_poll({})
        assert labeler.tenant(ACME) == "42"
        assert labeler.tenant(TEST) == OTHER
        assert labeler.tenants["42"].parent_id == "7"
        assert set(labeler.tenants) == {"42"}

    def test_empty_values_become_unknown(self) -> None:
        """Values the API left empty are labelled "unknown", tenants included."""
        labeler = Labeler(MetricsSettings(drop_labels=[]))
        labeler.start_poll({})
        assert labeler.value("queue", "") == UNKNOWN
        assert labeler.value("task_type", None) == UNKNOWN
        assert labeler.tenant(None) == UNKNOWN
        assert labeler.tenant(Tenant(id="")) == UNKNOWN

    def test_task_type_and_priority_are_opt_in(self) -> None:
        """By default the two dimensions that multiply every tenant's series are dropped from every family."""
        dropped = frozenset(MetricsSettings().drop_labels)
        assert dropped == {"task_type", "priority"}
        spec = catalogue.OPEN_TASKS
        values = {
            series(spec, state="enqueued", queue="q", tenant_id="42", task_type=kind, priority=priority): 1.0
            for kind in ("WinScan", "TpScan")
            for priority in ("high", "low")
        }
        family = simple(spec, values, dropped)
        assert family.samples == [
            Sample(spec.name, {"state": "enqueued", "queue": "q", "tenant_id": "42"}, 4.0)
        ]

    def test_dropped_labels_fold_nothing_on_show(self) -> None:
        """A dropped label is still capped (memory stays bounded) but shows no folding: it has no series."""
        labeler = Labeler(MetricsSettings(drop_labels=["tenant_id", "priority"], max_queues=1, max_tenants=1))
        labeler.start_poll({})
        assert labeler.value("priority", "high") == "high"
        assert labeler.value("queue", "backup") == "backup"
        assert labeler.value("queue", "replication") == OTHER
        assert (labeler.tenant(ACME), labeler.tenant(TEST)) == ("42", OTHER)
        snapshot = Snapshot(
            taken_at=1.0,
            sources={
                "open_tasks": SourceStatus("open_tasks", ok=True, duration_seconds=0.1, last_success=1.0)
            },
            tenants_folded=labeler.folded["tenant_id"],
            label_values_folded=dict(labeler.folded),
            dropped_labels=frozenset({"tenant_id", "priority"}),
        )
        shown = {
            (sample.name, tuple(sample.labels.values())): sample.value
            for spec, build in FAMILIES
            if spec in {catalogue.TENANTS_FOLDED, catalogue.LABEL_VALUES_FOLDED}
            for sample in build(snapshot).samples
        }
        assert shown == {
            ("acronis_exporter_tenants_folded", ()): 0.0,
            ("acronis_exporter_label_values_folded", ("queue",)): 1.0,
            ("acronis_exporter_label_values_folded", ("task_type",)): 0.0,
            ("acronis_exporter_label_values_folded", ("activity_type",)): 0.0,
            ("acronis_exporter_label_values_folded", ("name",)): 0.0,  # Astra task names
        }

    def test_task_and_activity_types_are_capped_separately(self) -> None:
        """Task types and activity types each have max_task_types slots."""
        labeler = Labeler(MetricsSettings(max_task_types=1, drop_labels=[]))
        labeler.start_poll({"task_type": {"WinScan": 5}, "activity_type": {"Validate": 2}})
        assert labeler.value("task_type", "WinScan") == "WinScan"
        assert labeler.value("task_type", "TpScan") == OTHER
        assert labeler.value("activity_type", "Validate") == "Validate"
        assert labeler.admitted("task_type") == ("WinScan",)


class TestReservedWords:
    """A value the API really calls __other__ or unknown keeps a series of its own."""

    @pytest.mark.parametrize(
        ("raw", "label"),
        [
            ("__other__", "~__other__"),
            ("unknown", "~unknown"),
            ("~unknown", "~~unknown"),
            ("~~__other__", "~~~__other__"),
            ("~backup", "~backup"),
            ("backup", "backup"),
            ("unknown-queue", "unknown-queue"),
        ],
    )
    def test_own_label_escapes_only_the_lookalikes(self, raw: str, label: str) -> None:
        """Only the reserved words (after any tildes) get one more tilde: the mapping stays one-to-one."""
        assert own_label(raw) == label

    def test_a_queue_named_unknown_is_not_the_missing_queue(self) -> None:
        """A real queue called unknown and a task without a queue land in two different series."""
        cap = StickyCap(10)
        assert cap.label("unknown") == "~unknown"
        assert cap.values == ("unknown",)  # the raw name, as the API is asked for it
