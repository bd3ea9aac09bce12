"""The source registry and named series keys: each family rendered once, keys checked by name."""

from __future__ import annotations

import pytest

from exporter import catalogue
from exporter.families import FAMILIES
from exporter.labels import Labels, series
from exporter.sources import REGISTRY


class TestFamilies:
    """The families /metrics renders come from the registry and the poll, in catalogue order."""

    def test_every_family_is_rendered_once_in_catalogue_order(self) -> None:
        """No family is declared by two sources, and the exposition order is the catalogue's."""
        names = [spec.name for spec, _ in FAMILIES]
        assert len(names) == len(set(names))
        in_catalogue = [spec.name for spec in catalogue.ALL if spec.name in set(names)]
        assert names == in_catalogue

    def test_every_source_family_is_its_own(self) -> None:
        """Each registered source names its families, and no two sources share a name."""
        assert len({source.name for source in REGISTRY}) == len(REGISTRY)
        declared = [spec.name for source in REGISTRY for spec, _ in source.families]
        assert len(declared) == len(set(declared))
        assert set(declared) <= {spec.name for spec, _ in FAMILIES}

    def test_a_dependent_source_waits_for_an_independent_one(self) -> None:
        """The poller runs follow-ups once every independent source folded: ``after`` names one of those."""
        independent = {source.name for source in REGISTRY if source.after is None}
        assert all(source.after in independent for source in REGISTRY if source.after is not None)


class TestSeries:
    """A series key is built and read by label name, against the labels its spec declares."""

    def test_a_key_follows_the_spec_whatever_order_the_names_come_in(self) -> None:
        """Values given by name land under their label, and read back by name."""
        key = series(catalogue.TASKS_BLOCKED, tenant_id="t1", queue="backup")
        assert dict(key) == {"queue": "backup", "tenant_id": "t1"}
        assert (key["queue"], key["tenant_id"]) == ("backup", "t1")
        assert list(key) == list(catalogue.TASKS_BLOCKED.labels)

    @pytest.mark.parametrize(
        "values",
        [
            {"queue": "backup"},
            {"queue": "backup", "tenant_id": "t1", "state": "started"},
            {"queue": "q", "tenant": "t"},
        ],
        ids=["missing", "extra", "misnamed"],
    )
    def test_a_label_the_spec_does_not_declare_is_refused(self, values: dict[str, str]) -> None:
        """A missing, extra or misnamed label raises instead of making a mislabelled series."""
        with pytest.raises(ValueError, match="acronis_tasks_blocked"):
            series(catalogue.TASKS_BLOCKED, **values)

    def test_keys_are_equal_by_label_names_and_values(self) -> None:
        """Equal labels make one dict key whatever order they were given in; a label it lacks raises."""
        first = series(catalogue.TASKS_BLOCKED, queue="backup", tenant_id="t1")
        again = series(catalogue.TASKS_BLOCKED, tenant_id="t1", queue="backup")
        assert {first: 1, again: 2} == {first: 2}
        assert first != series(catalogue.TASKS_BLOCKED, queue="backup", tenant_id="t2")
        with pytest.raises(KeyError):
            first["state"]

    def test_a_key_changes_only_labels_it_has(self) -> None:
        """``replace`` keeps the other labels and refuses one the key does not carry."""
        key = series(catalogue.TASK_OLDEST, state="enqueued", queue="backup")
        assert dict(key.replace(state="started")) == {"state": "started", "queue": "backup"}
        with pytest.raises(ValueError, match="tenant_id"):
            key.replace(tenant_id="t1")

    def test_a_record_must_fit_its_names(self) -> None:
        """A record with more values than names cannot be made, so no label shifts."""
        with pytest.raises(ValueError, match="do not fit"):
            Labels(("queue",), ("backup", "t1"))
