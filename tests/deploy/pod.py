"""The rendered pod, laid out on the local disk: its mounted files, its env, its args.

Kubernetes would mount the ConfigMap and Secrets as directories and resolve secretKeyRef
variables; this does the same under a temporary directory from the objects the chart
rendered, so that the real exporter can run with exactly what the chart hands it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.deploy.chart import NAMESPACE, objects_of, one
from tests.support import certs

if TYPE_CHECKING:
    from pathlib import Path

MOUNT = "/etc/acronis-task-exporter"


@dataclass(frozen=True)
class Pod:
    """The exporter container's args and env, with every path pointing under ``root``."""

    root: Path
    args: list[str]
    env: dict[str, str]
    ca_file: Path  # the certificate the TLS Secret holds, for a client that verifies it


def exporter_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the exporter container of the rendered Deployment."""
    containers: list[dict[str, Any]] = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return next(item for item in containers if item["name"] == "exporter")


def secret_value(objects: list[dict[str, Any]], name: str, key: str, namespace: str = NAMESPACE) -> str:
    """Return one key of a Secret the chart rendered in ``namespace``."""
    secret = next(
        item
        for item in objects_of(objects, "Secret")
        if item["metadata"]["name"] == name and item["metadata"]["namespace"] == namespace
    )
    value: str = secret["stringData"][key]
    return value


def lay_out(root: Path, objects: list[dict[str, Any]]) -> Pod:
    """Write the pod's mounts under ``root``: the ConfigMap, the Secrets' keys, a TLS pair."""
    container = exporter_container(objects)
    volumes = {
        volume["name"]: volume for volume in one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
    }
    for mount in container["volumeMounts"]:
        directory = root / mount["mountPath"].removeprefix(MOUNT + "/").lstrip("/")
        directory.mkdir(parents=True, exist_ok=True)
        source = volumes[mount["name"]]
        if "configMap" in source:
            configmap = next(
                item
                for item in objects_of(objects, "ConfigMap")
                if item["metadata"]["name"] == source["configMap"]["name"]
            )
            for key, text in configmap["data"].items():
                (directory / key).write_text(text.replace(MOUNT, str(root)))
        elif "secret" in source:
            _write_secret(objects, source["secret"]["secretName"], directory)
    cert, key = certs.self_signed(root, name="web")
    for flag, made in (("--web.tls-cert-file=", cert), ("--web.tls-key-file=", key)):
        for arg in container["args"]:
            if arg.startswith(flag):
                made.rename(root / arg.removeprefix(flag).removeprefix(MOUNT + "/"))
    env = {
        variable["name"]: secret_value(objects, **variable["valueFrom"]["secretKeyRef"])
        for variable in container.get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    args = [arg.replace(MOUNT, str(root)) for arg in container["args"]]
    return Pod(root=root, args=args, env=env, ca_file=root / "tls" / "tls.crt")


def _write_secret(objects: list[dict[str, Any]], name: str, directory: Path) -> None:
    """Write the keys of a Secret the chart made; a Secret made elsewhere (TLS) stays empty."""
    made = [item for item in objects_of(objects, "Secret") if item["metadata"]["name"] == name]
    for secret in made[:1]:
        for key, value in secret["stringData"].items():
            (directory / key).write_text(value + "\n")
