"""The Helm chart, rendered by the Helm SDK and checked against Kubernetes' schemas and our tools."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import helm_python as helm
import pytest
import yaml

from exporter import config
from tests.deploy.chart import (
    KUBERNETES_VERSIONS,
    MINIMAL,
    lint,
    objects_of,
    one,
    render,
    validate,
    values_cases,
)
from tests.deploy.paths import CHART, DASHBOARDS, JOB, alert_rules, load_json, tool
from tests.support import certs
from tests.support.promtool import assert_rules_pass

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow  # renders the chart and validates every object against the Kubernetes schemas

CASES = values_cases()
ALL_ON = dict(CASES)["all-on-values"]
INFO = 1  # helm lint severities: 1 info, 2 warning, 3 error


def case_ids(case: tuple[str, dict[str, Any]]) -> str:
    """Name a values case in test ids."""
    return case[0]


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the exporter container of the rendered Deployment."""
    containers: list[dict[str, Any]] = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return next(item for item in containers if item["name"] == "exporter")


class TestRendering:
    """The chart lints clean and every rendered object is valid Kubernetes."""

    @pytest.mark.parametrize("case", CASES, ids=case_ids)
    def test_chart_lints_clean_in_strict_mode(self, case: tuple[str, dict[str, Any]]) -> None:
        """`helm lint --strict`: no error, no warning."""
        report = lint(case[1])
        assert report["errors"] == []
        assert [message for message in report["messages"] if message["severity"] > INFO] == []

    @pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
    @pytest.mark.parametrize("case", CASES, ids=case_ids)
    def test_every_rendered_object_validates_against_the_kubernetes_schemas(
        self, case: tuple[str, dict[str, Any]], version: str
    ) -> None:
        """kubernetes-validate --strict accepts each object, for the oldest and newest Kubernetes."""
        objects = render(case[1])
        assert objects
        for item in objects:
            validate(item, version)

    def test_all_on_values_render_every_template(self) -> None:
        """The every-option values file exercises every kind the chart can create."""
        kinds = {item["kind"] for item in render(ALL_ON)}
        assert kinds == {
            "ConfigMap",
            "Deployment",
            "NetworkPolicy",
            "Pod",
            "PodMonitor",
            "PrometheusRule",
            "Secret",
            "Service",
            "ServiceAccount",
            "ServiceMonitor",
        }

    def test_minimal_install_renders_a_secret_the_test_pod_and_no_optional_objects(self) -> None:
        """URL and credentials only: Deployment, Service, ConfigMap, Secret, ServiceAccount, test Pod."""
        kinds = sorted(item["kind"] for item in render(MINIMAL))
        assert kinds == ["ConfigMap", "Deployment", "Pod", "Secret", "Service", "ServiceAccount"]


class TestValuesSchema:
    """values.schema.json rejects what would otherwise be silently ignored or leaked."""

    @pytest.mark.parametrize(
        "values",
        [
            {"replicas": 2},
            {"config": {"poll": {"intervall": 5}}},
            {"config": {"api": {"client_secret": "s3cret"}}},
            {"credentials": {"method": "oauth"}},
            {"service": {"port": 70000}},
        ],
        ids=["unknown-key", "misspelt-setting", "secret-in-configmap", "bad-enum", "bad-port"],
    )
    def test_schema_rejects_bad_values(self, values: dict[str, Any]) -> None:
        """Helm refuses the install with a message naming the key."""
        with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError):
            chart.validate_schema(values)


class TestSecurity:
    """The pod is locked down the way the issue asks, whatever the values case."""

    @pytest.mark.parametrize("case", CASES, ids=case_ids)
    def test_pod_runs_non_root_read_only_without_capabilities_under_runtime_default_seccomp(
        self, case: tuple[str, dict[str, Any]]
    ) -> None:
        """Pod and container security contexts, and no service-account token."""
        objects = render(case[1])
        pod = one(objects, "Deployment")["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 65532  # the Dockerfile's USER
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        hardening = container(objects)["securityContext"]
        assert hardening["readOnlyRootFilesystem"] is True
        assert hardening["allowPrivilegeEscalation"] is False
        assert hardening["capabilities"] == {"drop": ["ALL"]}

    @pytest.mark.parametrize("case", CASES, ids=case_ids)
    def test_container_has_requests_limits_and_both_probes(self, case: tuple[str, dict[str, Any]]) -> None:
        """Readiness on /readyz and liveness on /healthz, on the port the exporter listens on."""
        exporter = container(render(case[1]))
        assert {"cpu", "memory"} <= exporter["resources"]["requests"].keys()
        assert {"memory"} <= exporter["resources"]["limits"].keys()
        scheme = "HTTPS" if case[1].get("web", {}).get("tls", {}).get("enabled") else "HTTP"
        assert exporter["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http", "scheme": scheme}
        assert exporter["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http", "scheme": scheme}
        port = exporter["ports"][0]
        assert port["name"] == "http"
        assert f"--web.listen-address=:{port['containerPort']}" in exporter["args"]

    def test_credentials_never_reach_the_configmap_or_the_pod_spec(self) -> None:
        """The secret lives in the Secret only; the pod gets it as a file."""
        values: dict[str, Any] = {
            "config": {"api": {"url": "https://eu2-cloud.acronis.com"}},
            "credentials": {
                "method": "client_credentials",
                "clientId": "id-1",
                "clientSecret": "s3cret-value",
            },
        }
        objects = render(values)
        leaked = [
            item["kind"]
            for item in objects
            if item["kind"] != "Secret" and "s3cret-value" in json.dumps(item)
        ]
        assert leaked == []
        assert one(objects, "Secret")["stringData"]["client-secret"] == "s3cret-value"
        assert any(arg.startswith("--api.client-secret-file=") for arg in container(objects)["args"])

    def test_existing_secret_is_referenced_and_none_is_created(self) -> None:
        """With credentials.existingSecret the chart mounts that Secret and creates no API one."""
        objects = render(ALL_ON)
        secrets = [item["metadata"]["name"] for item in objects_of(objects, "Secret")]
        assert secrets == ["acronis-tasks-prod-web-auth"]  # the scrape credentials only
        volumes = one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
        secret_volume = next(volume for volume in volumes if "secret" in volume)
        assert secret_volume["secret"]["secretName"] == "acronis-api-client"
        # Read from the mounted file on each token request, so a rotated id needs no restart.
        assert "--api.client-id-file=/etc/acronis-task-exporter/credentials/id" in container(objects)["args"]

    def test_network_policy_admits_only_the_metrics_port_and_egress_to_dns_and_the_api(self) -> None:
        """Ingress to the named metrics port; egress to port 53 and the configured API peers."""
        policy = one(render(ALL_ON), "NetworkPolicy")["spec"]
        assert policy["policyTypes"] == ["Ingress", "Egress"]
        assert [rule["ports"] for rule in policy["ingress"]] == [[{"port": "http", "protocol": "TCP"}]]
        assert policy["egress"][1]["to"] == ALL_ON["networkPolicy"]["egressTo"]


class TestPrometheusOperator:
    """ServiceMonitor and PrometheusRule are wired to the Service and to the rule files."""

    def test_service_monitor_selects_the_service_and_its_metrics_port(self) -> None:
        """Selector labels, port name and job label all exist on the Service."""
        objects = render(ALL_ON)
        monitor = one(objects, "ServiceMonitor")["spec"]
        service = one(objects, "Service")
        assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert monitor["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
        assert monitor["jobLabel"] in service["metadata"]["labels"]
        assert monitor["endpoints"][0]["path"] == "/metrics"

    def test_prometheus_rule_passes_promtool_and_carries_every_enabled_alert(self, tmp_path: Path) -> None:
        """The embedded groups are valid rules: all alerts but the disabled ones, with extra labels."""
        rule = one(render(ALL_ON), "PrometheusRule")
        assert_rules_pass(rule["spec"]["groups"], tmp_path / "embedded.rules.yaml", promtool=tool("promtool"))
        shipped = [group for group in rule["spec"]["groups"] if not group["name"].endswith(".custom")]
        embedded = {alert["alert"]: alert for group in shipped for alert in group["rules"]}
        disabled = set(ALL_ON["prometheusRule"]["disabledAlerts"])
        assert set(embedded) == {alert["alert"] for alert in alert_rules()} - disabled
        assert all(alert["labels"]["team"] == "backup" for alert in embedded.values())
        assert all(alert["labels"]["severity"] for alert in embedded.values())

    def test_rules_select_the_job_name_the_service_monitor_gives(self) -> None:
        """A nameOverride renames the job; the rules follow it, so ExporterDown still works."""
        objects = render(ALL_ON)
        service = one(objects, "Service")
        job = service["metadata"]["labels"][one(objects, "ServiceMonitor")["spec"]["jobLabel"]]
        assert job == ALL_ON["nameOverride"]
        rules = json.dumps(one(objects, "PrometheusRule")["spec"])
        assert f'job=\\"{job}\\"' in rules
        assert f'job=\\"{JOB}\\"' not in rules

    def test_default_job_name_is_the_one_the_rule_files_use(self) -> None:
        """Without overrides, nothing is rewritten: the job is acronis-task-exporter."""
        objects = render({**MINIMAL, "serviceMonitor": {"enabled": True}})
        service = one(objects, "Service")
        assert service["metadata"]["labels"][one(objects, "ServiceMonitor")["spec"]["jobLabel"]] == JOB


class TestGrafana:
    """Dashboard and alert ConfigMaps carry the shipped files, labelled for Grafana's sidecars."""

    def test_dashboard_configmaps_hold_exactly_the_shipped_dashboards(self) -> None:
        """One labelled ConfigMap per grafana/dashboards file, byte-for-byte the same JSON."""
        maps = [
            item
            for item in render(ALL_ON)
            if item["kind"] == "ConfigMap" and "grafana_dashboard" in item["metadata"].get("labels", {})
        ]
        shipped = {path.name: load_json(path) for path in DASHBOARDS}
        rendered = {name: json.loads(text) for item in maps for name, text in item["data"].items()}
        assert rendered == shipped
        assert all(item["metadata"]["annotations"]["grafana_folder"] == "Acronis" for item in maps)

    def test_grafana_alert_configmap_queries_the_configured_datasource(self) -> None:
        """Every query goes to grafanaAlerts.datasourceUid, and the job follows nameOverride."""
        item = next(item for item in render(ALL_ON) if "grafana_alert" in item["metadata"].get("labels", {}))
        provisioning = yaml.safe_load(next(iter(item["data"].values())))
        queries = [
            query for group in provisioning["groups"] for rule in group["rules"] for query in rule["data"]
        ]
        uids = {query["datasourceUid"] for query in queries} - {"__expr__"}
        assert uids == {ALL_ON["grafanaAlerts"]["datasourceUid"]}
        expressions = " ".join(query["model"].get("expr", "") for query in queries)
        assert f'job="{ALL_ON["nameOverride"]}"' in expressions


class TestExporterAcceptsTheRenderedSettings:
    """What the chart hands the exporter is a configuration the exporter itself accepts."""

    @pytest.mark.parametrize("case", CASES, ids=case_ids)
    def test_exporter_loads_the_rendered_config_file_flags_and_secret_files(
        self, case: tuple[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The ConfigMap, args and mounted Secret files, moved under tmp_path, pass config.load."""
        values = case[1]
        objects = render(values)
        args = pod_files_in(tmp_path, objects, monkeypatch)
        settings = config.load(args)
        if values.get("demo"):
            assert settings.demo is True
            return
        assert str(settings.api.url).rstrip("/") == values["config"]["api"]["url"]
        assert settings.log.format == "json"
        tls = values.get("web", {}).get("tls", {}).get("enabled", False)
        assert (settings.web.tls_cert_file is not None) is tls


def pod_files_in(root: Path, objects: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Lay the pod's config and secret files out under ``root``; return the args pointing there."""
    mount = "/etc/acronis-task-exporter"
    configmap = next(
        item for item in objects if item["kind"] == "ConfigMap" and "config.yaml" in item.get("data", {})
    )
    (root / "config").mkdir()
    (root / "config" / "config.yaml").write_text(configmap["data"]["config.yaml"].replace(mount, str(root)))
    (root / "ca").mkdir()
    cert, _key = certs.self_signed(root / "ca")  # the exporter loads the CA bundle at start
    cert.rename(root / "ca" / "ca.pem")
    for directory in ("credentials", "tls", "web-auth"):
        (root / directory).mkdir()
    cert, key = certs.self_signed(root / "tls")
    exporter = container(objects)
    for arg in exporter["args"]:
        path = root / arg.partition(mount + "/")[2]
        if arg.startswith("--web.tls-cert-file="):
            cert.rename(path)
        elif arg.startswith("--web.tls-key-file="):
            key.rename(path)
        elif arg.startswith(("--api.", "--web.")) and "-file=" in arg:
            path.write_text("s3cret\n")
    for variable in exporter.get("env", []):
        if "valueFrom" in variable:
            monkeypatch.setenv(variable["name"], "from-secret")
    return [arg.replace(mount, str(root)) for arg in exporter["args"]]
