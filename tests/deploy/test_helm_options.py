"""The options prometheus-community chart users reach for, each landing where it should."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.deploy.chart import MINIMAL, objects_of, one, render, values_cases
from tests.deploy.paths import CHART, load_yaml
from tests.deploy.pod import exporter_container

pytestmark = pytest.mark.slow  # renders the chart

ALL_ON: dict[str, Any] = dict(values_cases())["all-on-values"]
CHART_META: dict[str, Any] = load_yaml(CHART / "Chart.yaml")


@pytest.fixture(scope="module")
def all_on() -> list[dict[str, Any]]:
    """Render the every-option values once for the module."""
    return render(ALL_ON)


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the pod template's spec."""
    spec: dict[str, Any] = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


class TestImages:
    """Registries: global.imageRegistry beats image.registry; digests beat tags."""

    @pytest.mark.parametrize(
        ("image", "registry", "expected"),
        [
            ({}, "", f"acronis-task-exporter:{CHART_META['appVersion']}"),
            (
                {"registry": "registry.example.com"},
                "",
                f"registry.example.com/acronis-task-exporter:{CHART_META['appVersion']}",
            ),
            (
                {"registry": "registry.example.com", "tag": "1.2.3"},
                "mirror.example.com/",
                "mirror.example.com/acronis-task-exporter:1.2.3",
            ),
        ],
        ids=["plain", "image-registry", "global-registry-wins"],
    )
    def test_exporter_image_reference(self, image: dict[str, str], registry: str, expected: str) -> None:
        """The reference Kubernetes pulls."""
        values = {
            **MINIMAL,
            "image": {"repository": "acronis-task-exporter", **image},
            "global": {"imageRegistry": registry},
        }
        assert exporter_container(render(values))["image"] == expected

    def test_global_registry_reaches_the_test_image_too(self, all_on: list[dict[str, Any]]) -> None:
        """Every image of the chart follows global.imageRegistry, pinned by digest when given."""
        test_pod = one(all_on, "Pod")
        assert (
            test_pod["spec"]["containers"][0]["image"]
            == f"mirror.example.com/curlimages/curl@{ALL_ON['helmTest']['image']['digest']}"
        )
        assert exporter_container(all_on)["image"].startswith(
            "mirror.example.com/monitoring/acronis-task-exporter@sha256:"
        )


class TestDeployment:
    """Rollout, lifecycle and pod composition settings reach the Deployment."""

    def test_rollout_and_termination_settings(self, all_on: list[dict[str, Any]]) -> None:
        """revisionHistoryLimit, strategy and terminationGracePeriodSeconds."""
        spec = one(all_on, "Deployment")["spec"]
        assert spec["revisionHistoryLimit"] == ALL_ON["revisionHistoryLimit"]
        assert spec["strategy"] == ALL_ON["strategy"]
        assert pod_spec(all_on)["terminationGracePeriodSeconds"] == ALL_ON["terminationGracePeriodSeconds"]

    def test_startup_probe_only_when_enabled(self, all_on: list[dict[str, Any]]) -> None:
        """The startup probe watches /healthz with the configured budget; off by default."""
        probe = exporter_container(all_on)["startupProbe"]
        assert probe["httpGet"]["path"] == "/healthz"
        assert probe["failureThreshold"] == ALL_ON["probes"]["startup"]["failureThreshold"]
        assert "startupProbe" not in exporter_container(render(MINIMAL))

    def test_env_from_and_extra_containers(self, all_on: list[dict[str, Any]]) -> None:
        """The exporter gets envFrom; init and extra containers beside it, the exporter first."""
        assert exporter_container(all_on)["envFrom"] == ALL_ON["envFrom"]
        spec = pod_spec(all_on)
        assert spec["initContainers"] == ALL_ON["initContainers"]
        assert [item["name"] for item in spec["containers"]] == ["exporter", "log-shipper"]


class TestMonitoringObjects:
    """ServiceMonitor, PodMonitor and PrometheusRule options."""

    def test_service_monitor_label_handling(self, all_on: list[dict[str, Any]]) -> None:
        """honorLabels, targetLabels, the user's relabelings after the job's, metricRelabelings."""
        monitor = one(all_on, "ServiceMonitor")
        endpoint = monitor["spec"]["endpoints"][0]
        assert monitor["metadata"]["annotations"] == ALL_ON["serviceMonitor"]["annotations"]
        assert monitor["spec"]["targetLabels"] == ALL_ON["serviceMonitor"]["targetLabels"]
        assert endpoint["honorLabels"] is True
        assert endpoint["relabelings"][1:] == ALL_ON["serviceMonitor"]["relabelings"]
        assert endpoint["metricRelabelings"] == ALL_ON["serviceMonitor"]["metricRelabelings"]

    def test_pod_monitor_scrapes_the_container_port(self, all_on: list[dict[str, Any]]) -> None:
        """The PodMonitor selects the pod's labels and names the container's port."""
        monitor = one(all_on, "PodMonitor")["spec"]
        labels = one(all_on, "Deployment")["spec"]["template"]["metadata"]["labels"]
        assert monitor["selector"]["matchLabels"].items() <= labels.items()
        endpoint = monitor["podMetricsEndpoints"][0]
        assert endpoint["port"] == exporter_container(all_on)["ports"][0]["name"]
        assert endpoint["interval"] == ALL_ON["podMonitor"]["interval"]
        assert monitor["podTargetLabels"] == ALL_ON["podMonitor"]["podTargetLabels"]

    def test_custom_rules_follow_in_their_own_group_with_the_extra_labels(
        self, all_on: list[dict[str, Any]]
    ) -> None:
        """prometheusRule.rules land in one more group; additionalRuleLabels apply, own labels win."""
        rule = one(all_on, "PrometheusRule")
        custom = rule["spec"]["groups"][-1]
        assert custom["name"].endswith(".custom")
        assert [item.get("alert", item.get("record")) for item in custom["rules"]] == [
            item.get("alert", item.get("record")) for item in ALL_ON["prometheusRule"]["rules"]
        ]
        assert {item["labels"]["team"] for item in custom["rules"]} == {"backup"}
        assert custom["rules"][0]["labels"]["severity"] == "warning"
        assert rule["metadata"]["annotations"] == ALL_ON["prometheusRule"]["annotations"]


class TestExtrasAndHooks:
    """extraObjects (tpl-rendered), the helm test hook and Chart.yaml metadata."""

    def test_extra_objects_are_rendered_with_tpl_from_maps_and_strings(
        self, all_on: list[dict[str, Any]]
    ) -> None:
        """Both forms are deployed, with template expressions evaluated."""
        names = {
            (item["metadata"]["name"], item["metadata"].get("namespace"))
            for item in objects_of(all_on, "ConfigMap")
        }
        assert ("corporate-ca", "monitoring") in names
        assert (f"{ALL_ON['fullnameOverride']}-owner", None) in names

    def test_helm_test_pod_fetches_healthz_through_the_service(self, all_on: list[dict[str, Any]]) -> None:
        """A test hook that curls /healthz on the Service, HTTPS when the listener is."""
        pod = one(all_on, "Pod")
        assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
        service = one(all_on, "Service")
        url = f"https://{service['metadata']['name']}.{service['metadata']['namespace']}.svc:{service['spec']['ports'][0]['port']}/healthz"
        assert pod["spec"]["containers"][0]["command"][-1] == url
        # The Service must not route scrapes to the test pod.
        assert not service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()

    def test_network_policy_lets_the_test_pod_in(self, all_on: list[dict[str, Any]]) -> None:
        """With ingressFrom restricted, the test pod is still admitted to the metrics port."""
        peers = one(all_on, "NetworkPolicy")["spec"]["ingress"][0]["from"]
        test_labels = one(all_on, "Pod")["metadata"]["labels"]
        assert any(
            peer.get("podSelector", {}).get("matchLabels", {}).items() <= test_labels.items()
            for peer in peers[-1:]
        )

    def test_helm_test_can_be_turned_off(self) -> None:
        """helmTest.enabled=false ships no Pod."""
        assert objects_of(render({**MINIMAL, "helmTest": {"enabled": False}}), "Pod") == []

    def test_chart_metadata_is_complete(self) -> None:
        """home, sources, maintainers and icon, as Artifact Hub and helm lint look for them."""
        with helm.Chart.load(CHART) as chart:
            metadata = chart.metadata
        for key in ("home", "sources", "maintainers", "icon"):
            assert metadata[key] == CHART_META[key], key
        assert all(source.startswith("https://") for source in [metadata["home"], *metadata["sources"]])


class TestSchemaOfTheNewValues:
    """values.schema.json stays strict for the new sections: a typo fails the install."""

    @pytest.mark.parametrize(
        "values",
        [
            {"web": {"tls": {"enable": True}}},
            {"web": {"basicAuth": {"enabled": True, "user": "x"}}},
            {"config": {"web": {"basic_auth_password": "s3cret"}}},
            {"config": {"web": {"listen_address": ":9000"}}},
            {"podMonitor": {"enabled": True, "targetLabels": ["team"]}},
            {"serviceMonitor": {"honorlabels": True}},
            {"strategy": {"type": "BlueGreen"}},
            {"probes": {"startup": {"enabled": True, "periodSecond": 5}}},
            {"prometheusRule": {"rules": [{"alert": "X"}]}},
            {"prometheusRule": {"rules": [{"expr": "up"}]}},
            {"helmTest": {"image": {"repository": "curl", "digest": "latest"}}},
            {"global": {"imageRegistry": 5}},
        ],
        ids=[
            "tls-typo",
            "basic-auth-typo",
            "secret-in-configmap",
            "listen-address-is-the-charts",
            "pod-monitor-has-pod-target-labels",
            "service-monitor-typo",
            "strategy-enum",
            "startup-probe-typo",
            "rule-without-expr",
            "rule-neither-alert-nor-record",
            "test-image-digest",
            "registry-type",
        ],
    )
    def test_schema_rejects(self, values: dict[str, Any]) -> None:
        """Helm refuses the values before rendering anything."""
        with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError):
            chart.validate_schema(values)

    def test_schema_accepts_every_ci_values_file(self) -> None:
        """The documented shapes pass, config.web included."""
        with helm.Chart.load(CHART) as chart:
            for _name, values in values_cases():
                chart.validate_schema(values)
