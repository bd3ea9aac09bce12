"""The Grafana dashboards: well-formed, scoped by variables, documented, and true to the catalogue."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from scripts.assets.grafana import metric
from scripts.assets.panels import with_tenant_names
from tests.deploy.dashboard_types import installed_tools, type_errors
from tests.deploy.paths import DASHBOARDS, load_json, tool
from tests.deploy.promql import (
    OTHER_SERIES,
    TARGET_LABELS,
    Query,
    alert_queries,
    catalogue,
    dashboard_queries,
    dashboard_variables,
    family,
    known_families,
    metric_names,
    selector_labels,
    substitute,
    variable_query,
)
from tests.support.promtool import assert_rules_pass

if TYPE_CHECKING:
    from pathlib import Path

SCOPE = {"job": "j", "account": ".*", "instance": ".*"}
# Tenant 7 has an info series, the folded bucket has none (as before the exporter gives it one).
NAMED_TEST = """
rule_files: [named.rules.yaml]
tests:
  - interval: 1m
    input_series:
      - {series: 'acronis_open_tasks{job="j", instance="i", tenant_id="7", queue="q"}', values: 3x5}
      - {series: 'acronis_open_tasks{job="j", instance="i", tenant_id="__other__", queue="q"}', values: 5x5}
      - {series: 'acronis_tenant_info{job="j", instance="i", tenant_id="7", tenant_name="Acme"}', values: 1x5}
    promql_expr_test:
      - expr: named
        eval_time: 2m
        exp_samples:
          - {labels: 'named{tenant_id="7", tenant_name="Acme"}', value: 3}
          - {labels: 'named{tenant_id="__other__", tenant_name="__other__"}', value: 5}
"""
SAMPLE_VALUES = {
    "job": "acronis-task-exporter",
    "account": ".*",
    "instance": ".*",
    "tenant": "Acme",
    "tenant_id": "1496265",
}
GRID_COLUMNS = 24


def schema_violations() -> dict[str, dict[str, Any]]:
    """Variants of a shipped dashboard with one thing Grafana's schema forbids each."""
    variants: dict[str, dict[str, Any]] = {}
    for name, key, value in (
        ("with-definition", "definition", "label_values(acronis_up, job)"),
        ("with-null-all-value", "allValue", None),
        ("with-empty-current", "current", {}),
    ):
        dashboard = load_json(DASHBOARDS[0])
        dashboard["templating"]["list"][1][key] = value
        variants[f"rejected-{name}"] = dashboard
    return variants


@pytest.fixture(scope="module")
def tsc_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """`tsc --strict` over every dashboard and every known-bad variant, in one run."""
    dashboards = {path.stem: load_json(path) for path in DASHBOARDS} | schema_violations()
    return type_errors(dashboards, installed_tools(), tmp_path_factory.mktemp("dashboard-types"))


class TestGrafanaSchema:
    """Each dashboard is a `Dashboard` of @grafana/schema (package.json pins it), checked by tsc."""

    @pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
    def test_dashboard_type_checks_against_grafana_schema(
        self, tsc_errors: dict[str, str], path: Path
    ) -> None:
        """No type error: every key known, every required one present, no null where none is allowed."""
        assert tsc_errors[path.stem] == ""

    @pytest.mark.parametrize("name", sorted(schema_violations()))
    def test_the_check_rejects_what_the_schema_forbids(self, tsc_errors: dict[str, str], name: str) -> None:
        """A variable with `definition`, `allValue: null` or `current: {}` fails the same check."""
        assert "error TS" in tsc_errors[name]


def panels(path: Path) -> list[dict[str, Any]]:
    """Return the visualisation panels of a dashboard (rows left out)."""
    return [panel for panel in load_json(path)["panels"] if panel["type"] != "row"]


def every_query() -> list[Query]:
    """Dashboard targets and alert expressions together."""
    return [*dashboard_queries(), *alert_queries()]


class TestStructure:
    """Each dashboard is a complete Grafana model with the variables operators expect."""

    @pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
    def test_dashboard_has_datasource_job_and_instance_variables(self, path: Path) -> None:
        """A Prometheus data-source picker, then job, account and instance from acronis_up.

        "All" accounts is ``.*``, so targets scraped without an account label still match.
        """
        variables = {variable["name"]: variable for variable in load_json(path)["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        assert variable_query(variables["job"]) == "label_values(acronis_up, job)"
        assert variable_query(variables["account"]) == 'label_values(acronis_up{job=~"$job"}, account)'
        assert (variables["account"]["multi"], variables["account"]["allValue"]) == (True, ".*")
        assert (
            variable_query(variables["instance"])
            == 'label_values(acronis_up{job=~"$job", account=~"$account"}, instance)'
        )

    @pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
    def test_every_panel_has_a_description_a_unit_and_the_datasource_variable(self, path: Path) -> None:
        """No panel leaves the reader guessing what it shows or in which unit."""
        for panel in panels(path):
            assert panel["description"].strip(), panel["title"]
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}", panel["title"]

    @pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
    def test_panels_fit_the_grid_without_overlapping(self, path: Path) -> None:
        """Every panel lies within 24 columns and no two panels share a cell."""
        taken: set[tuple[int, int]] = set()
        for panel in load_json(path)["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
            cells = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & taken, panel["title"]
            taken |= cells

    def test_dashboards_have_unique_short_uids_and_titles(self) -> None:
        """Grafana keys dashboards by uid (at most 40 characters)."""
        models = [load_json(path) for path in DASHBOARDS]
        uids = [model["uid"] for model in models]
        assert len(set(uids)) == len(uids) == 4
        assert all(len(uid) <= 40 for uid in uids)
        assert len({model["title"] for model in models}) == len(models)

    def test_tenant_dashboard_picks_tenants_by_name_and_joins_names_on_tenant_id(self) -> None:
        """The tenant variable lists names from acronis_tenant_info; tables join names back on."""
        variables = {variable["name"]: variable for _, variable in dashboard_variables()}
        assert variable_query(variables["tenant"]).startswith("label_values(acronis_tenant_info{")
        assert variable_query(variables["tenant"]).endswith(", tenant_name)")
        assert 'tenant_name="$tenant"' in variable_query(variables["tenant_id"])
        assert variables["tenant_id"]["includeAll"] is True
        assert "allValue" not in variables["tenant_id"]  # "All" means this tenant's ids, not every tenant
        joins = [query for query in dashboard_queries() if "group_left (tenant_name)" in query.expr]
        assert all("on (tenant_id)" in query.expr for query in joins)
        assert joins


class TestQueries:
    """Every query names real metrics and labels, and is valid PromQL."""

    def test_every_catalogue_family_is_on_some_dashboard(self) -> None:
        """Nothing the exporter exposes is left without a panel."""
        shown = {family(name)[0] for query in dashboard_queries() for name in metric_names(query.expr)}
        assert set(catalogue()) - shown == set()

    @pytest.mark.parametrize("query", every_query(), ids=lambda query: query.where)
    def test_query_uses_catalogue_names_with_the_right_suffix(self, query: Query) -> None:
        """_total only on counters, _bucket/_sum/_count only on histograms, bare names on gauges."""
        for name in metric_names(query.expr):
            base, suffix = family(name)
            spec = known_families().get(base)
            assert spec is not None, f"{name}: not in exporter/catalogue.py"
            expected = {"counter": {"_total"}, "histogram": {"_bucket", "_sum", "_count"}}.get(
                spec.type, {""}
            )
            assert suffix in expected, f"{name}: a {spec.type} is not exposed with suffix {suffix!r}"

    @pytest.mark.parametrize("query", every_query(), ids=lambda query: query.where)
    def test_query_matches_only_labels_the_family_has(self, query: Query) -> None:
        """A label matcher on a misspelt or absent label would silently match nothing."""
        for name, label in selector_labels(query.expr):
            if name in OTHER_SERIES or label in TARGET_LABELS:
                continue
            base, suffix = family(name)
            labels = set(known_families()[base].labels) | ({"le"} if suffix == "_bucket" else set())
            assert label in labels, f"{name} has no label {label!r}"

    def test_every_query_parses_with_promtool(self, tmp_path: Path) -> None:
        """Each expression, variables filled in, parses as a promtool recording rule."""
        rules = [
            {"record": f"check:query_{index}", "expr": substitute(query.expr, SAMPLE_VALUES)}
            for index, query in enumerate(every_query())
        ]
        group = {"name": "queries", "rules": rules}
        assert_rules_pass([group], tmp_path / "queries.rules.yaml", promtool=tool("promtool"))


class TestTenantNames:
    """Joining names on never drops a tenant, e.g. the folded "__other__" bucket."""

    def test_every_tenant_name_join_keeps_tenants_without_an_info_series(self) -> None:
        """Each group_left (tenant_name) join is the one with_tenant_names builds, with its fallback."""
        joins = [query for query in dashboard_queries() if "group_left (tenant_name)" in query.expr]
        assert joins
        for query in joins:
            assert "or on (tenant_id) label_replace(" in query.expr, query.where

    def test_with_tenant_names_keeps_other_and_names_the_rest(self, tmp_path: Path) -> None:
        """promtool: a named tenant gets its name, __other__ without info keeps its id as name."""
        expr = substitute(with_tenant_names(f"sum by (tenant_id) ({metric('acronis_open_tasks')})"), SCOPE)
        rules = {"groups": [{"name": "n", "rules": [{"record": "named", "expr": expr}]}]}
        (tmp_path / "named.rules.yaml").write_text(yaml.safe_dump(rules))
        (tmp_path / "named.test.yaml").write_text(NAMED_TEST)
        result = subprocess.run(
            [tool("promtool"), "test", "rules", str(tmp_path / "named.test.yaml")],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
