"""The compose stacks: valid to Docker Compose itself, wired together, and using the shipped assets."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from exporter import config
from tests.deploy.paths import COMPOSE, GRAFANA_MANAGED, JOB, REPO, load_yaml, tool

if TYPE_CHECKING:
    from pathlib import Path

DEMO = COMPOSE / "compose.yaml"
CLOUD = COMPOSE / "compose.cloud.yaml"
ENV_EXAMPLE = COMPOSE / "cloud.env.example"


def compose_config(path: Path, *extra: str) -> dict[str, Any]:
    """Return the model `docker compose config` resolves (paths made absolute, anchors merged)."""
    result = subprocess.run(
        [tool("docker-compose"), *extra, "-f", str(path), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of a service's bind mounts."""
    return {
        volume["target"]: volume["source"]
        for volume in service.get("volumes", [])
        if volume["type"] == "bind"
    }


class TestComposeParses:
    """Docker Compose accepts both files without a Docker engine."""

    @pytest.mark.parametrize("path", [DEMO, CLOUD], ids=lambda path: path.name)
    def test_compose_file_passes_docker_compose_config(self, path: Path) -> None:
        """`docker compose config -q` finds nothing to complain about."""
        result = subprocess.run(
            [tool("docker-compose"), "-f", str(path), "config", "-q"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr


class TestDemoStack:
    """One command brings up simulator, exporter, Prometheus, Alertmanager and Grafana."""

    def test_demo_stack_has_every_service(self) -> None:
        """The five services the README promises."""
        services = compose_config(DEMO)["services"]
        assert set(services) == {"simulator", "exporter", "prometheus", "alertmanager", "grafana"}

    def test_exporter_polls_the_simulator_with_a_file_secret(self) -> None:
        """The exporter's API URL is the simulator service; its secret comes as a compose secret file."""
        exporter = compose_config(DEMO)["services"]["exporter"]
        assert "--api.url=http://simulator:8080" in exporter["command"]
        assert "--api.client-secret-file=/run/secrets/acronis_client_secret" in exporter["command"]
        assert not any("SECRET" in key for key in exporter.get("environment", {}))

    def test_prometheus_mounts_the_shipped_rules_and_scrapes_the_exporter_as_the_rules_job(self) -> None:
        """grafana/alerts is mounted where rule_files points, and the job name is the one rules select."""
        prometheus = compose_config(DEMO)["services"]["prometheus"]
        mounts = bind_mounts(prometheus)
        assert mounts["/etc/prometheus/rules"] == str(REPO / "grafana" / "alerts")
        settings = load_yaml(COMPOSE / "prometheus" / "prometheus.yml")
        assert settings["rule_files"] == ["/etc/prometheus/rules/*.rules.yaml"]
        jobs = {job["job_name"]: job for job in settings["scrape_configs"]}
        assert jobs[JOB]["static_configs"][0]["targets"] == ["exporter:9862"]
        assert settings["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
            "alertmanager:9093"
        ]

    def test_grafana_provisions_the_shipped_dashboards_datasource_and_alerts(self) -> None:
        """Dashboards and Grafana-managed rules come from grafana/, the data source uid is the rules' one."""
        grafana = compose_config(DEMO)["services"]["grafana"]
        mounts = bind_mounts(grafana)
        provider = load_yaml(COMPOSE / "grafana" / "provisioning" / "dashboards" / "acronis.yaml")[
            "providers"
        ][0]
        assert mounts[provider["options"]["path"]] == str(REPO / "grafana" / "dashboards")
        assert mounts["/etc/grafana/provisioning/alerting"] == str(GRAFANA_MANAGED.parent)
        datasources = load_yaml(COMPOSE / "grafana" / "provisioning" / "datasources" / "prometheus.yaml")
        prometheus = next(source for source in datasources["datasources"] if source["type"] == "prometheus")
        queried = {
            query["datasourceUid"]
            for group in load_yaml(GRAFANA_MANAGED)["groups"]
            for rule in group["rules"]
            for query in rule["data"]
            if query["datasourceUid"] != "__expr__"
        }
        assert queried == {prometheus["uid"]}
        assert prometheus["url"] == "http://prometheus:9090"
        assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "true"  # live dashboards, no login

    @pytest.mark.parametrize("service", ["simulator", "exporter"])
    def test_our_containers_run_locked_down(self, service: str) -> None:
        """Numeric non-root user, read-only root filesystem, no capabilities, no privilege gain."""
        model = compose_config(DEMO)["services"][service]
        assert model["user"] == "65532:65532"
        assert model["read_only"] is True
        assert model["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in model["security_opt"]


class TestCloudStack:
    """The real-cloud stack: exporter and Prometheus, credentials from an env file."""

    def test_cloud_stack_is_exporter_and_prometheus_only(self) -> None:
        """No simulator, no demo credential."""
        services = compose_config(CLOUD)["services"]
        assert set(services) == {"exporter", "prometheus"}
        assert "secrets" not in services["exporter"]

    def test_env_file_example_feeds_the_exporter_valid_settings(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Filled in, the example env file reaches the exporter and its settings load."""
        shutil.copy(ENV_EXAMPLE, tmp_path / "cloud.env")
        environment = compose_config(CLOUD, "--project-directory", str(tmp_path))["services"]["exporter"][
            "environment"
        ]
        environment |= {
            "ACRONIS_EXPORTER_API__CLIENT_ID": "client",
            "ACRONIS_EXPORTER_API__CLIENT_SECRET": "s3cret",
        }
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        settings = config.load([])
        assert str(settings.api.url).startswith("https://")
        assert settings.api.client_id == "client"

    def test_real_env_file_is_never_committed(self) -> None:
        """cloud.env is ignored by git in the compose directory."""
        assert "cloud.env" in (COMPOSE / ".gitignore").read_text().split()

    def test_cloud_prometheus_scrapes_the_exporter_as_the_rules_job(self) -> None:
        """Same job name and rule files as the demo."""
        settings = load_yaml(COMPOSE / "prometheus" / "prometheus.cloud.yml")
        assert [job["job_name"] for job in settings["scrape_configs"]] == [JOB]
        assert settings["rule_files"] == ["/etc/prometheus/rules/*.rules.yaml"]


class TestStackConfigFiles:
    """The Prometheus and Alertmanager configs pass their own tools' checks."""

    @pytest.mark.parametrize("name", ["prometheus.yml", "prometheus.cloud.yml"])
    def test_prometheus_config_passes_promtool_check_config(self, name: str) -> None:
        """The scrape, rule and alerting configuration pass `promtool check config`."""
        result = subprocess.run(
            [tool("promtool"), "check", "config", str(COMPOSE / "prometheus" / name)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_alertmanager_config_passes_amtool_check_config(self) -> None:
        """Routes, inhibitions and receivers pass `amtool check-config`."""
        result = subprocess.run(
            [tool("amtool"), "check-config", str(COMPOSE / "alertmanager" / "alertmanager.yml")],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
