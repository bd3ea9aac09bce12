"""The compose stacks: valid to Docker Compose itself, wired together, and using the shipped assets."""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from exporter import config
from tests.deploy.paths import COMPOSE, GRAFANA_MANAGED, JOB, REPO, load_yaml, tool

if TYPE_CHECKING:
    from pathlib import Path

DEMO = COMPOSE / "compose.yaml"
CLOUD = COMPOSE / "compose.cloud.yaml"
SETTINGS_EXAMPLE = COMPOSE / "cloud.yaml.example"
ACCOUNTS = {"eu2-partner": "exporter-eu2", "us5-partner": "exporter-us5"}  # account label -> service
OUR_SERVICES = ("simulator-eu2", "simulator-us5", "astra-simulator", *ACCOUNTS.values())
STACKS = pytest.mark.parametrize("path", [DEMO, CLOUD], ids=lambda path: path.name)


def compose_config(path: Path, *extra: str, bind_address: str | None = None) -> dict[str, Any]:
    """Return the model `docker compose config` resolves (paths made absolute, anchors merged)."""
    environment = {key: value for key, value in os.environ.items() if key != "BIND_ADDRESS"}
    if bind_address is not None:
        environment["BIND_ADDRESS"] = bind_address
    result = subprocess.run(
        [tool("docker-compose"), *extra, "-f", str(path), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=environment,
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

    @STACKS
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


class TestNothingIsOpenByDefault:
    """Both stacks publish on loopback, and no service hands out control it need not."""

    @STACKS
    def test_every_published_port_is_on_loopback(self, path: Path) -> None:
        """Each published port binds 127.0.0.1 unless BIND_ADDRESS says otherwise."""
        published = [
            port for service in compose_config(path)["services"].values() for port in service.get("ports", [])
        ]
        assert published
        assert {port.get("host_ip") for port in published} == {"127.0.0.1"}

    @STACKS
    def test_bind_address_opens_the_ports_on_purpose(self, path: Path) -> None:
        """BIND_ADDRESS=0.0.0.0 is the one switch that publishes on every interface."""
        services = compose_config(path, bind_address="0.0.0.0")["services"].values()  # noqa: S104
        assert {port.get("host_ip") for service in services for port in service.get("ports", [])} == {
            "0.0.0.0"  # noqa: S104 - the address under test, nothing listens
        }

    @STACKS
    def test_prometheus_has_no_http_lifecycle_api(self, path: Path) -> None:
        """Without --web.enable-lifecycle nobody who reaches Prometheus can stop it over HTTP."""
        command = compose_config(path)["services"]["prometheus"]["command"]
        assert "--config.file=/etc/prometheus/prometheus.yml" in command
        assert not any(flag.startswith("--web.enable-lifecycle") for flag in command)
        assert not any(flag.startswith("--web.enable-admin-api") for flag in command)

    def test_grafana_anonymous_users_only_view_and_nobody_signs_in(self) -> None:
        """Anonymous access is Viewer; no login form, no basic auth, no default admin password."""
        environment = compose_config(DEMO)["services"]["grafana"]["environment"]
        assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
        assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
        assert environment["GF_AUTH_DISABLE_LOGIN_FORM"] == "true"
        assert environment["GF_AUTH_BASIC_ENABLED"] == "false"
        assert environment["GF_USERS_ALLOW_SIGN_UP"] == "false"
        assert "GF_SECURITY_ADMIN_PASSWORD" not in environment


class TestDemoStack:
    """One command: two accounts' simulators and exporters, Astra, Prometheus, Alertmanager, Grafana."""

    def test_demo_stack_has_every_service(self) -> None:
        """Two accounts (a simulator and an exporter each), the Astra simulator, and the rest."""
        services = compose_config(DEMO)["services"]
        assert set(services) == {
            *ACCOUNTS.values(),
            *(f"simulator-{name}" for name in ("eu2", "us5")),
            "astra-simulator",
            "prometheus",
            "alertmanager",
            "grafana",
        }

    @pytest.mark.parametrize("account", ["eu2", "us5"])
    def test_each_exporter_polls_its_own_simulator_with_a_file_secret(self, account: str) -> None:
        """Each account's API URL is its own simulator; its secret comes as a compose secret file."""
        exporter = compose_config(DEMO)["services"][f"exporter-{account}"]
        assert f"--api.url=http://simulator-{account}:8080" in exporter["command"]
        assert "--api.client-secret-file=/run/secrets/acronis_client_secret" in exporter["command"]
        assert not exporter.get("environment")
        assert exporter["depends_on"][f"simulator-{account}"]["condition"] == "service_healthy"

    def test_one_exporter_also_polls_astra_with_the_token_as_a_file(self) -> None:
        """The Astra simulator's token reaches the exporter as a secret file, never a flag value."""
        model = compose_config(DEMO)
        exporter = model["services"]["exporter-eu2"]
        astra = model["services"]["astra-simulator"]
        assert "--astra.url=http://astra-simulator:8080" in exporter["command"]
        assert "--astra.token-file=/run/secrets/astra_token" in exporter["command"]
        assert not any(arg.startswith("--astra.token=") for arg in exporter["command"])
        token = (COMPOSE / "secrets" / "demo-astra-token").read_text()
        assert f"--token={token}" in astra["command"]
        assert model["secrets"]["astra_token"]["file"] == str(COMPOSE / "secrets" / "demo-astra-token")
        assert astra["entrypoint"] == ["python", "-m", "simulator.astra"]

    def test_prometheus_mounts_the_shipped_rules_and_labels_each_target_with_its_account(self) -> None:
        """grafana/alerts is mounted where rule_files points; one job, one target per account."""
        prometheus = compose_config(DEMO)["services"]["prometheus"]
        mounts = bind_mounts(prometheus)
        assert mounts["/etc/prometheus/rules"] == str(REPO / "grafana" / "alerts")
        settings = load_yaml(COMPOSE / "prometheus" / "prometheus.yml")
        assert settings["rule_files"] == ["/etc/prometheus/rules/*.rules.yaml"]
        jobs = {job["job_name"]: job for job in settings["scrape_configs"]}
        labelled = {
            target: group["labels"]["account"]
            for group in jobs[JOB]["static_configs"]
            for target in group["targets"]
        }
        assert labelled == {f"{service}:9862": account for account, service in ACCOUNTS.items()}
        assert settings["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
            "alertmanager:9093"
        ]

    def test_the_exporters_publish_distinct_loopback_ports(self) -> None:
        """Both exporters answer on the host, each on its own port."""
        services = compose_config(DEMO)["services"]
        published = [port["published"] for name in ACCOUNTS.values() for port in services[name]["ports"]]
        assert sorted(published) == ["9862", "9863"]

    def test_one_alerting_path_prometheus_rules_to_alertmanager(self) -> None:
        """No service provisions the Grafana-managed rules: they would notify a second time."""
        model = compose_config(DEMO)
        for name, service in model["services"].items():
            mounts = bind_mounts(service)
            assert str(GRAFANA_MANAGED.parent) not in mounts.values(), name
            assert not any(target.startswith("/etc/grafana/provisioning/alerting") for target in mounts), name

    def test_grafana_provisions_the_shipped_dashboards_and_the_data_source(self) -> None:
        """Dashboards come from grafana/; the data source uid is the one the alternative rules query."""
        grafana = compose_config(DEMO)["services"]["grafana"]
        mounts = bind_mounts(grafana)
        provider = load_yaml(COMPOSE / "grafana" / "provisioning" / "dashboards" / "acronis.yaml")[
            "providers"
        ][0]
        assert mounts[provider["options"]["path"]] == str(REPO / "grafana" / "dashboards")
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

    @pytest.mark.parametrize("service", [*OUR_SERVICES])
    def test_our_containers_run_locked_down(self, service: str) -> None:
        """Numeric non-root user, read-only root filesystem, no capabilities, no privilege gain."""
        model = compose_config(DEMO)["services"][service]
        assert model["user"] == "65532:65532"
        assert model["read_only"] is True
        assert model["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in model["security_opt"]


class TestCloudStack:
    """The real-cloud stack: exporter and Prometheus, credentials as compose secret files."""

    def test_cloud_stack_is_exporter_and_prometheus_only(self) -> None:
        """No simulator, no demo credential."""
        model = compose_config(CLOUD)
        assert set(model["services"]) == {"exporter", "prometheus"}
        assert "demo-client-secret" not in json.dumps(model)

    def test_credentials_are_files_not_environment_variables(self) -> None:
        """Client id (in the settings file) and secret are compose secrets; no env var carries either."""
        model = compose_config(CLOUD)
        exporter = model["services"]["exporter"]
        assert not exporter.get("environment")
        assert "env_file" not in exporter
        targets = {secret["source"]: secret["target"] for secret in exporter["secrets"]}
        assert f"--config.file={targets['acronis_exporter_config']}" in exporter["command"]
        assert f"--api.client-secret-file={targets['acronis_client_secret']}" in exporter["command"]
        assert all(target.startswith("/run/secrets/") for target in targets.values())

    def test_the_secret_files_are_ignored_by_git(self) -> None:
        """What the user fills in on the host can never be committed."""
        for secret in compose_config(CLOUD)["secrets"].values():
            result = subprocess.run(
                [tool("git"), "-C", str(REPO), "check-ignore", "-q", secret["file"]],
                check=False,
                timeout=60,
            )
            assert result.returncode == 0, f"{secret['file']} is not ignored by git"

    def test_filled_in_files_give_the_exporter_valid_settings(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The example settings file, filled in, plus a secret file load with the stack's flags."""
        settings_file = tmp_path / "cloud.yaml"
        settings_file.write_text(SETTINGS_EXAMPLE.read_text().replace("<API client id>", "client"))
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "cloud-client-secret").write_text("s3cret")
        model = compose_config(CLOUD, "--project-directory", str(tmp_path))
        mounted = {
            item["target"]: model["secrets"][item["source"]]["file"]
            for item in model["services"]["exporter"]["secrets"]
        }
        args = list(model["services"]["exporter"]["command"])
        for target, source in mounted.items():
            args = [arg.replace(target, source) for arg in args]
        for key in [key for key in os.environ if key.startswith(config.ENV_PREFIX)]:
            monkeypatch.delenv(key)
        settings = config.load(args)
        assert str(settings.api.url).startswith("https://")
        assert settings.api.client_id == "client"
        secret = settings.api.resolved_client_secret()
        assert secret is not None
        assert secret.get_secret_value() == "s3cret"

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
