"""Astra Control in the chart: beside Acronis or alone, its token always a mounted Secret file."""

from __future__ import annotations

import json
from typing import Any

import helm_python as helm
import pytest

from tests.deploy.chart import MINIMAL, objects_of, render

ASTRA = {"url": "https://astra.netapp.io", "accountId": "6f1e2d3c-astra", "token": "astra-token-not-real"}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    """Return the exporter container of a Deployment."""
    found: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return found


def render_error(values: dict[str, Any]) -> str:
    """Return the message the chart refuses ``values`` with."""
    with pytest.raises(helm.HelmError) as failure:
        render(values)
    return str(failure.value)


class TestAstra:
    """Astra Control beside Acronis or alone, its token always a mounted file."""

    def test_astra_alone_runs_without_acronis_flags_and_reads_the_token_from_a_file(self) -> None:
        """Astra alone runs without acronis flags and reads the token from a file."""
        objects = render({"astra": ASTRA})
        deployment = objects_of(objects, "Deployment")[0]
        args = container(deployment)["args"]
        assert "--astra.url=https://astra.netapp.io" in args
        assert "--astra.account-id=6f1e2d3c-astra" in args
        assert "--astra.token-file=/etc/acronis-task-exporter/astra/astra-token" in args
        assert not any(arg.startswith("--api.") for arg in args)
        assert "astra-token-not-real" not in json.dumps(deployment)
        assert objects_of(objects, "Secret")[0]["stringData"] == {"astra-token": "astra-token-not-real"}

    def test_astra_token_from_an_existing_secret(self) -> None:
        """Astra token from an existing secret."""
        objects = render(
            {**MINIMAL, "astra": {**ASTRA, "token": "", "existingSecret": "astra", "keys": {"token": "t"}}}
        )
        volumes = objects_of(objects, "Deployment")[0]["spec"]["template"]["spec"]["volumes"]
        assert {
            "name": "astra-credentials",
            "secret": {"secretName": "astra", "defaultMode": 0o440},
        } in volumes
        assert (
            "--astra.token-file=/etc/acronis-task-exporter/astra/t"
            in container(objects_of(objects, "Deployment")[0])["args"]
        )
        assert "astra-token" not in objects_of(objects, "Secret")[0]["stringData"]

    def test_neither_source_is_refused_unless_demo(self) -> None:
        """Neither source is refused unless demo."""
        assert "config.api.url is required" in render_error({})
        assert objects_of(render({"demo": True, "astra": {"url": ASTRA["url"]}}), "Deployment")
