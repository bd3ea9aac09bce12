"""The source registry and named series keys: each family rendered once, keys checked by name."""

from __future__ import annotations

import pytest

from exporter import catalogue
from exporter.families import FAMILIES
from exporter.labels import named, series
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
        assert named(catalogue.TASKS_BLOCKED, key) == {"queue": "backup", "tenant_id": "t1"}

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

    def test_a_key_of_the_wrong_length_cannot_be_read(self) -> None:
        """Rendering a key that does not fit its family fails instead of shifting labels."""
        with pytest.raises(ValueError, match="zip"):
            named(catalogue.TASKS_BLOCKED, ("backup",))
