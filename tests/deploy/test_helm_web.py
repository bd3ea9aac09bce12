"""TLS and basic auth on the listener, wired end to end by the chart.

values -> Secrets and flags -> the real exporter -> the kubelet's probes and Prometheus'
scrape as the Deployment and the ServiceMonitor/PodMonitor describe them.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.deploy.chart import NAMESPACE, one, render
from tests.deploy.paths import CHART, load_yaml
from tests.deploy.pod import exporter_container, lay_out, secret_value
from tests.support.processes import free_port, start_exporter

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.support.processes import ExporterProcess

Running = tuple["ExporterProcess", ssl.SSLContext, list[dict[str, Any]]]

pytestmark = pytest.mark.slow  # renders the chart and runs the exporter

TLS_AUTH: dict[str, Any] = load_yaml(CHART / "ci" / "tls-basic-auth-values.yaml")
MONITOR_NAMESPACE = TLS_AUTH["serviceMonitor"]["namespace"]
# The embedded simulator: the listener is what is under test, not the Acronis side.
DEMO_TLS_AUTH: dict[str, Any] = {
    "demo": True,
    "web": TLS_AUTH["web"],
    "serviceMonitor": TLS_AUTH["serviceMonitor"],
    "podMonitor": {"enabled": True},
    "probes": TLS_AUTH["probes"],
}


def endpoints(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the scrape endpoints of the ServiceMonitor and the PodMonitor."""
    service_monitor = one(objects, "ServiceMonitor")["spec"]["endpoints"]
    pod_monitor = one(objects, "PodMonitor")["spec"]["podMetricsEndpoints"]
    return [*service_monitor, *pod_monitor]


class TestWiring:
    """The rendered objects agree with each other on scheme, files and Secrets."""

    def test_probes_use_https_and_no_credentials(self) -> None:
        """Kubelet probes over HTTPS; /healthz and /readyz are open, so no auth header."""
        exporter = exporter_container(render(TLS_AUTH))
        probes = [exporter[name]["httpGet"] for name in ("startupProbe", "readinessProbe", "livenessProbe")]
        assert {probe["scheme"] for probe in probes} == {"HTTPS"}
        assert all("httpHeaders" not in probe for probe in probes)

    def test_monitors_scrape_https_with_basic_auth_from_a_secret_in_their_namespace(self) -> None:
        """Scheme https, a CA to verify with, and basicAuth keys that exist where the operator reads."""
        objects = render(DEMO_TLS_AUTH)
        monitors = {"ServiceMonitor": MONITOR_NAMESPACE, "PodMonitor": NAMESPACE}
        for endpoint, kind in zip(endpoints(objects), monitors, strict=True):
            assert one(objects, kind)["metadata"]["namespace"] == monitors[kind]
            assert endpoint["scheme"] == "https"
            assert endpoint["tlsConfig"]["ca"]["secret"] == {"name": "acronis-exporter-tls", "key": "ca.crt"}
            assert endpoint["tlsConfig"]["serverName"] == f"acronis-acronis-task-exporter.{NAMESPACE}.svc"
            auth = endpoint["basicAuth"]
            assert secret_value(objects, **auth["username"], namespace=monitors[kind]) == "prometheus"
            assert (
                secret_value(objects, **auth["password"], namespace=monitors[kind])
                == "not-a-real-scrape-password"
            )

    def test_scrape_tls_config_can_be_given_whole(self) -> None:
        """web.tls.scrapeTlsConfig replaces the default CA and server name."""
        given = {"insecureSkipVerify": True}
        values = {
            **DEMO_TLS_AUTH,
            "web": {**TLS_AUTH["web"], "tls": {**TLS_AUTH["web"]["tls"], "scrapeTlsConfig": given}},
        }
        assert {endpoint["tlsConfig"] == given for endpoint in endpoints(render(values))} == {True}

    def test_without_tls_or_auth_the_monitors_scrape_plain_http(self) -> None:
        """The defaults: scheme http, neither tlsConfig nor basicAuth."""
        objects = render({"demo": True, "serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}})
        for endpoint in endpoints(objects):
            assert endpoint["scheme"] == "http"
            assert "tlsConfig" not in endpoint
            assert "basicAuth" not in endpoint


class TestTheRealExporter:
    """The exporter, started with exactly the rendered args, files and env, answers as described."""

    @pytest.fixture
    def running(self, tmp_path: Path) -> Iterator[Running]:
        """Start the exporter as the rendered pod would; yield it, a client context, the objects."""
        objects = render(DEMO_TLS_AUTH)
        pod = lay_out(tmp_path / "pod", objects)
        port = free_port()
        args = [arg for arg in pod.args if not arg.startswith("--web.listen-address")]
        args.append(f"--web.listen-address=127.0.0.1:{port}")
        context = ssl.create_default_context(cafile=str(pod.ca_file))
        exporter = start_exporter(
            args, workdir=tmp_path / "run", env=pod.env, port=port, scheme="https", verify=context
        )
        try:
            yield exporter, context, objects
        finally:
            exporter.stop()

    def test_probes_pass_without_credentials_and_the_scrape_needs_them(self, running: Running) -> None:
        """Kubelet's probes get 200 over HTTPS; Prometheus gets 401 without, 200 with basic auth."""
        exporter, context, objects = running
        container = exporter_container(objects)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            get = container[probe]["httpGet"]
            response = httpx.get(
                f"{get['scheme'].lower()}://127.0.0.1:{exporter.port}{get['path']}", verify=context
            )
            assert response.status_code == 200, probe
        for endpoint in endpoints(objects):
            url = f"{endpoint['scheme']}://127.0.0.1:{exporter.port}{endpoint['path']}"
            assert httpx.get(url, verify=context).status_code == 401
            namespace = MONITOR_NAMESPACE if endpoint["port"] == "http-metrics" else NAMESPACE
            auth = endpoint["basicAuth"]
            user = secret_value(objects, **auth["username"], namespace=namespace)
            password = secret_value(objects, **auth["password"], namespace=namespace)
            scraped = httpx.get(url, verify=context, auth=(user, password))
            assert scraped.status_code == 200
            assert "acronis_up" in scraped.text
