"""The Prometheus alert rules: valid, unit-tested both ways, documented, and mirrored in Grafana."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from scripts.assets.grafana_alerts import rule_uid
from scripts.assets.rules import RUNBOOK_URL, runbook_anchor, runbook_url
from tests.deploy.paths import (
    GRAFANA_MANAGED,
    JOB,
    README,
    RULE_FILES,
    RULE_TESTS,
    RUNBOOK,
    alert_rules,
    load_yaml,
    tool,
)

SEVERITIES = {"critical", "warning", "info"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool and capture its output."""
    return subprocess.run([tool("promtool"), *args], capture_output=True, text=True, check=False, timeout=120)


def runbook_sections() -> dict[str, str]:
    """Map each `## Heading` of docs/runbook.md to the text under it."""
    parts = re.split(r"^## (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def rule_unit_tests() -> list[dict[str, Any]]:
    """Every alert_rule_test case of every promtool test file."""
    return [
        case
        for path in RULE_TESTS
        for test in load_yaml(path)["tests"]
        for case in test.get("alert_rule_test", [])
    ]


@pytest.mark.prometheus  # runs promtool test rules
class TestPromtool:
    """promtool, the tool Prometheus itself uses, accepts the rules and their unit tests."""

    def test_rule_files_pass_promtool_check_rules(self) -> None:
        """Every rule file parses, with valid PromQL and templates."""
        result = promtool("check", "rules", *map(str, RULE_FILES))
        assert result.returncode == 0, result.stdout + result.stderr

    def test_rule_unit_tests_pass_promtool_test_rules(self) -> None:
        """Every alert fires and stays silent exactly where its unit tests say."""
        result = promtool("test", "rules", *map(str, RULE_TESTS))
        assert result.returncode == 0, result.stdout + result.stderr

    def test_every_rule_file_has_a_unit_test_file(self) -> None:
        """Each rule file is loaded by some promtool test file."""
        tested = {
            (path.parent / rule_file).resolve()
            for path in RULE_TESTS
            for rule_file in load_yaml(path)["rule_files"]
        }
        assert set(RULE_FILES) <= tested


class TestCoverage:
    """Each alert is tested firing and tested silent."""

    @pytest.mark.parametrize("alertname", [rule["alert"] for rule in alert_rules()])
    def test_alert_has_a_firing_case_and_a_silent_case(self, alertname: str) -> None:
        """Some case expects the alert, and some case expects none at all."""
        cases = [case for case in rule_unit_tests() if case["alertname"] == alertname]
        assert any(case["exp_alerts"] for case in cases), f"{alertname} is never tested firing"
        assert any(not case["exp_alerts"] for case in cases), f"{alertname} is never tested silent"


class TestDocumentation:
    """Every alert tells the person paged what happened and what to do."""

    @pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
    def test_alert_has_severity_summary_description_and_runbook_url(self, rule: dict[str, Any]) -> None:
        """A severity label from the fixed set, a summary and a description, and a runbook_url."""
        assert rule["labels"]["severity"] in SEVERITIES
        for annotation in ("summary", "description"):
            assert rule["annotations"].get(annotation, "").strip(), annotation
        assert rule["annotations"]["runbook_url"] == runbook_url(rule["alert"])
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}

    @pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
    def test_runbook_url_anchor_is_a_section_of_the_runbook(self, rule: dict[str, Any]) -> None:
        """The link lands on `## <AlertName>` in docs/runbook.md, and it says what to check and do."""
        sections = runbook_sections()
        assert rule["annotations"]["runbook_url"].startswith(RUNBOOK_URL + "#")
        assert rule["alert"] in sections, f"docs/runbook.md has no section ## {rule['alert']}"
        for part in ("**Meaning.**", "**First checks.**", "**Fixes.**"):
            assert part in sections[rule["alert"]], f"{rule['alert']}: no {part}"

    def test_runbook_has_no_section_without_an_alert(self) -> None:
        """A renamed or removed alert does not leave a stale section behind."""
        assert set(runbook_sections()) == {rule["alert"] for rule in alert_rules()}

    def test_runbook_anchors_are_the_ones_github_generates(self) -> None:
        """GitHub's anchor of `## AcronisExporterDown` is the lower-cased name, which the links use."""
        for name in runbook_sections():
            assert runbook_anchor(name) == re.sub(r"[^a-z0-9 _-]", "", name.lower()).replace(" ", "-")

    def test_alert_names_are_unique(self) -> None:
        """No two rules share a name (Grafana uids derive from them)."""
        names = [rule["alert"] for rule in alert_rules()]
        assert len(names) == len(set(names))


class TestGrafanaManagedCopies:
    """The Grafana-managed provisioning holds the same alerts as the Prometheus rules."""

    def test_each_prometheus_alert_has_one_grafana_rule_with_the_same_query(self) -> None:
        """Same names, same PromQL (whitespace aside), same for, labels and severity."""
        grafana = {
            rule["title"]: rule for group in load_yaml(GRAFANA_MANAGED)["groups"] for rule in group["rules"]
        }
        prometheus = {rule["alert"]: rule for rule in alert_rules()}
        assert grafana.keys() == prometheus.keys()
        for name, rule in prometheus.items():
            query = grafana[name]["data"][0]["model"]["expr"]
            assert query.split() == rule["expr"].split(), name
            assert grafana[name]["for"] == rule.get("for", "0s"), name
            assert grafana[name]["labels"] == rule["labels"], name
            assert grafana[name]["uid"] == rule_uid(name), name

    def test_grafana_rules_fire_on_any_returned_series_and_not_on_no_data(self) -> None:
        """As in Prometheus: a returned series is an alert whatever its value; no data is normal."""
        for group in load_yaml(GRAFANA_MANAGED)["groups"]:
            for rule in group["rules"]:
                math = rule["data"][1]["model"]
                assert math["expression"] == "is_number($A) || is_nan($A) || is_inf($A)"
                assert rule["condition"] == "C"
                assert rule["noDataState"] == "OK"

    def test_grafana_annotations_use_grafana_value_syntax(self) -> None:
        """Prometheus's $value is rewritten, since Grafana only knows $values."""
        for group in load_yaml(GRAFANA_MANAGED)["groups"]:
            for rule in group["rules"]:
                for text in rule["annotations"].values():
                    assert "$value " not in text
                    assert "$value}" not in text


class TestScrapeConfiguration:
    """The README shows a scrape configuration whose job is the one the rules select."""

    def test_readme_scrape_configuration_names_the_rules_job(self) -> None:
        """The prometheus.yml snippet under "Scrape configuration" scrapes as job acronis-task-exporter."""
        section = README.read_text().split("## Scrape configuration", 1)[1].split("\n## ", 1)[0]
        snippet = yaml.safe_load(section.split("```yaml", 1)[1].split("```", 1)[0])
        assert [job["job_name"] for job in snippet["scrape_configs"]] == [JOB]
        selecting = [rule["alert"] for rule in alert_rules() if f'job="{JOB}"' in rule["expr"]]
        assert selecting == ["AcronisExporterDown", "AcronisExporterTargetMissing"]
        assert all(name in section for name in selecting)
