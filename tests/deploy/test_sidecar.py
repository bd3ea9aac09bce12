"""The sidecar recipe: patched into an ordinary Deployment it stays valid, locked down and scrapeable."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest

from exporter import config
from tests.deploy.chart import KUBERNETES_VERSIONS, validate
from tests.deploy.paths import JOB, SIDECAR, load_yaml

if TYPE_CHECKING:
    from pathlib import Path

APP: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "my-app", "labels": {"app.kubernetes.io/name": "my-app"}},
    "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "my-app"}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "my-app"}, "annotations": {"team": "backup"}},
            "spec": {
                "containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}],
                "volumes": [{"name": "data", "emptyDir": {}}],
            },
        },
    },
}


def patched() -> dict[str, Any]:
    """Apply sidecar-patch.yaml to APP as `kubectl patch` does (lists merge by name)."""
    deployment = copy.deepcopy(APP)
    patch = load_yaml(SIDECAR / "sidecar-patch.yaml")["spec"]["template"]
    template = deployment["spec"]["template"]
    template["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    for key in ("containers", "volumes"):
        names = {item["name"] for item in template["spec"][key]}
        assert not names & {item["name"] for item in patch["spec"][key]}, f"{key} names clash"
        template["spec"][key] += patch["spec"][key]
    return deployment


def sidecar(deployment: dict[str, Any]) -> dict[str, Any]:
    """Return the exporter container of a patched Deployment."""
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return next(item for item in containers if item["name"] == "acronis-task-exporter")


class TestSidecarRecipe:
    """The patch, its Secret and its PodMonitor."""

    @pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
    def test_patched_deployment_and_secret_validate_against_the_kubernetes_schemas(
        self, version: str
    ) -> None:
        """kubernetes-validate --strict accepts the patched Deployment and the Secret."""
        validate(patched(), version)
        validate(load_yaml(SIDECAR / "secret.yaml"), version)
        validate(load_yaml(SIDECAR / "podmonitor.yaml"), version)

    def test_sidecar_is_locked_down_on_its_own(self) -> None:
        """Container-level hardening, since the host pod's securityContext is not ours to set."""
        hardening = sidecar(patched())["securityContext"]
        assert hardening["runAsNonRoot"] is True
        assert hardening["runAsUser"] == 65532
        assert hardening["readOnlyRootFilesystem"] is True
        assert hardening["allowPrivilegeEscalation"] is False
        assert hardening["capabilities"] == {"drop": ["ALL"]}
        assert hardening["seccompProfile"] == {"type": "RuntimeDefault"}

    def test_sidecar_probes_and_scrape_annotations_use_its_own_port(self) -> None:
        """Probes and prometheus.io/port point at the sidecar's named port."""
        deployment = patched()
        exporter = sidecar(deployment)
        port = exporter["ports"][0]
        assert exporter["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
        assert exporter["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(port["containerPort"])
        assert annotations["team"] == "backup"  # the app's own annotations survive

    def test_pod_monitor_scrapes_the_sidecar_port_as_the_rules_job(self) -> None:
        """The PodMonitor's port exists on the sidecar and the job is the one the rules select."""
        endpoint = load_yaml(SIDECAR / "podmonitor.yaml")["spec"]["podMetricsEndpoints"][0]
        assert endpoint["port"] == sidecar(patched())["ports"][0]["name"]
        assert {"targetLabel": "job", "replacement": JOB} in endpoint["relabelings"]

    def test_secret_keys_match_what_the_sidecar_reads(self) -> None:
        """The Secret has the keys the env reference and the secret file need."""
        secret = load_yaml(SIDECAR / "secret.yaml")
        exporter = sidecar(patched())
        key = next(item for item in exporter["env"] if "valueFrom" in item)["valueFrom"]["secretKeyRef"][
            "key"
        ]
        secret_file = next(arg for arg in exporter["args"] if arg.startswith("--api.client-secret-file="))
        assert {key, secret_file.rsplit("/", 1)[1]} == set(secret["stringData"])

    def test_exporter_accepts_the_sidecars_flags_and_environment(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The sidecar's args and env, with the secret file under tmp_path, pass config.load."""
        exporter = sidecar(patched())
        (tmp_path / "client-secret").write_text("s3cret\n")
        for variable in exporter["env"]:
            monkeypatch.setenv(variable["name"], variable.get("value", "from-secret"))
        args = [
            arg.replace("/etc/acronis-task-exporter/credentials", str(tmp_path)) for arg in exporter["args"]
        ]
        settings = config.load(args)
        assert settings.web.host_port()[1] == exporter["ports"][0]["containerPort"]
        assert str(settings.api.url).startswith("https://")
