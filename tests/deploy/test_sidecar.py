"""The sidecar recipe, applied by the real tools to an app that has its own containers and annotations.

`kubectl kustomize` (the directory as a component) and `kubectl patch --local` (the patch
file alone) both run over HOST; the result must keep everything HOST had and add the
exporter, and pass the Kubernetes schemas with unknown fields rejected.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from exporter import config
from tests.deploy.chart import KUBERNETES_VERSIONS, validate
from tests.deploy.paths import JOB, SIDECAR, load_yaml, tool

if TYPE_CHECKING:
    from pathlib import Path

PATCH = SIDECAR / "sidecar-patch.yaml"
SIDECAR_NAME = "acronis-task-exporter"
HOST_ANNOTATIONS = {
    "prometheus.io/scrape": "true",
    "prometheus.io/port": "8080",
    "prometheus.io/path": "/internal/metrics",
    "team": "backup",
}
HOST_CONTAINERS: list[dict[str, Any]] = [
    {
        "name": "app",
        "image": "registry.example.com/my-app:2.3.1",
        "ports": [{"name": "http", "containerPort": 8080}],
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/my-app"}],
    },
    {"name": "log-shipper", "image": "registry.example.com/log-shipper:1.0.0"},
]
HOST: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "my-app", "labels": {"app.kubernetes.io/name": "my-app"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "my-app"}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "my-app"}, "annotations": HOST_ANNOTATIONS},
            "spec": {"containers": HOST_CONTAINERS, "volumes": [{"name": "data", "emptyDir": {}}]},
        },
    },
}


def run_kubectl(*args: str) -> str:
    """Run kubectl offline and return its stdout; fail the test with its stderr."""
    result = subprocess.run(
        [tool("kubectl"), *args], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def kustomized(workdir: Path) -> dict[str, Any]:
    """Build an overlay of HOST with deploy/sidecar as its component, by kustomize."""
    (workdir / "deployment.yaml").write_text(yaml.safe_dump(HOST))
    overlay = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["deployment.yaml"],
        "components": [os.path.relpath(SIDECAR, workdir)],  # kustomize refuses absolute roots
    }
    (workdir / "kustomization.yaml").write_text(yaml.safe_dump(overlay))
    documents = [item for item in yaml.safe_load_all(run_kubectl("kustomize", str(workdir))) if item]
    assert len(documents) == 1, "the component adds no object of its own"
    deployment: dict[str, Any] = documents[0]
    return deployment


def kubectl_patched(workdir: Path) -> dict[str, Any]:
    """HOST after `kubectl patch --type strategic --patch-file sidecar-patch.yaml`, done locally."""
    (workdir / "deployment.yaml").write_text(yaml.safe_dump(HOST))
    args = ("patch", "--local", "-f", str(workdir / "deployment.yaml"), "--patch-file", str(PATCH))
    deployment: dict[str, Any] = json.loads(run_kubectl(*args, "--type", "strategic", "-o", "json"))
    return deployment


@pytest.fixture(
    params=[kustomized, kubectl_patched], ids=["kubectl-kustomize", "kubectl-patch"], scope="module"
)
def patched(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """HOST with the sidecar added by one of the two documented routes."""
    deployment: dict[str, Any] = request.param(tmp_path_factory.mktemp("overlay"))
    return deployment


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    """Return the pod template's spec."""
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def sidecar(deployment: dict[str, Any]) -> dict[str, Any]:
    """Return the exporter container of a patched Deployment."""
    return next(item for item in pod_spec(deployment)["containers"] if item["name"] == SIDECAR_NAME)


class TestThePatchKeepsTheHostApp:
    """Whatever the host had, it still has: only a container and its volumes are added."""

    def test_host_containers_are_unchanged_and_the_sidecar_is_added(self, patched: dict[str, Any]) -> None:
        """The app's containers come out exactly as they went in, beside the exporter."""
        containers = pod_spec(patched)["containers"]
        assert [item for item in containers if item["name"] != SIDECAR_NAME] == HOST_CONTAINERS
        assert sorted(item["name"] for item in containers) == sorted(["app", "log-shipper", SIDECAR_NAME])

    def test_host_annotations_are_left_alone(self, patched: dict[str, Any]) -> None:
        """The app's own prometheus.io/* annotations still point at the app, none is added."""
        assert patched["spec"]["template"]["metadata"]["annotations"] == HOST_ANNOTATIONS
        assert "annotations" not in load_yaml(PATCH)["spec"]["template"].get("metadata", {})

    def test_host_identity_and_volumes_survive(self, patched: dict[str, Any]) -> None:
        """Same name, replicas and selector; the app's volume kept, the sidecar's two added."""
        assert patched["metadata"] == HOST["metadata"]
        assert patched["spec"]["replicas"] == HOST["spec"]["replicas"]
        assert patched["spec"]["selector"] == HOST["spec"]["selector"]
        volumes = {item["name"]: item for item in pod_spec(patched)["volumes"]}
        assert volumes.pop("data") == {"name": "data", "emptyDir": {}}
        assert set(volumes) == {"acronis-credentials", "acronis-tmp"}

    @pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
    def test_patched_deployment_validates_strictly(self, patched: dict[str, Any], version: str) -> None:
        """kubernetes-validate --strict accepts what the tool produced."""
        validate(patched, version)


class TestSidecarRecipe:
    """The container itself, its Secret and its PodMonitor."""

    @pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
    def test_secret_and_pod_monitor_validate(self, version: str) -> None:
        """The Secret strictly; the PodMonitor's metadata (its spec has no schema here)."""
        validate(load_yaml(SIDECAR / "secret.yaml"), version)
        validate(load_yaml(SIDECAR / "podmonitor.yaml"), version)

    def test_sidecar_is_locked_down_on_its_own(self, patched: dict[str, Any]) -> None:
        """Container-level hardening, since the host pod's securityContext is not ours to set."""
        hardening = sidecar(patched)["securityContext"]
        assert hardening["runAsNonRoot"] is True
        assert hardening["runAsUser"] == 65532
        assert hardening["readOnlyRootFilesystem"] is True
        assert hardening["allowPrivilegeEscalation"] is False
        assert hardening["capabilities"] == {"drop": ["ALL"]}
        assert hardening["seccompProfile"] == {"type": "RuntimeDefault"}

    def test_sidecar_probes_use_its_own_named_port(self, patched: dict[str, Any]) -> None:
        """Probes point at the sidecar's port, never at the app's."""
        exporter = sidecar(patched)
        port = exporter["ports"][0]
        assert port["name"].startswith("acronis-")
        assert exporter["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
        assert exporter["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}

    def test_pod_monitor_scrapes_the_sidecar_port_as_the_rules_job(self, patched: dict[str, Any]) -> None:
        """The PodMonitor's port exists on the sidecar and the job is the one the rules select."""
        podmonitor = load_yaml(SIDECAR / "podmonitor.yaml")
        endpoint = podmonitor["spec"]["podMetricsEndpoints"][0]
        assert endpoint["port"] == sidecar(patched)["ports"][0]["name"]
        assert {"targetLabel": "job", "replacement": JOB} in endpoint["relabelings"]
        selector = podmonitor["spec"]["selector"]["matchLabels"].items()
        assert selector <= patched["spec"]["template"]["metadata"]["labels"].items()

    def test_secret_keys_match_what_the_sidecar_reads(self, patched: dict[str, Any]) -> None:
        """The Secret has the keys the env reference and the secret file need."""
        secret = load_yaml(SIDECAR / "secret.yaml")
        exporter = sidecar(patched)
        reference = next(item for item in exporter["env"] if "valueFrom" in item)["valueFrom"]["secretKeyRef"]
        secret_file = next(arg for arg in exporter["args"] if arg.startswith("--api.client-secret-file="))
        assert reference["name"] == secret["metadata"]["name"]
        assert {reference["key"], secret_file.rsplit("/", 1)[1]} == set(secret["stringData"])

    def test_exporter_accepts_the_sidecars_flags_and_environment(
        self, patched: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The sidecar's args and env, with the secret file under tmp_path, pass config.load."""
        exporter = sidecar(patched)
        (tmp_path / "client-secret").write_text("s3cret\n")
        for variable in exporter["env"]:
            monkeypatch.setenv(variable["name"], variable.get("value", "from-secret"))
        args = [
            arg.replace("/etc/acronis-task-exporter/credentials", str(tmp_path)) for arg in exporter["args"]
        ]
        settings = config.load(args)
        assert settings.web.host_port()[1] == exporter["ports"][0]["containerPort"]
        assert str(settings.api.url).startswith("https://")
