"""Many accounts in one release, and Astra Control: one exporter per account, every series labelled."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python as helm
import pytest

from tests.deploy.chart import KUBERNETES_VERSIONS, MINIMAL, lint, notes, objects_of, render, validate

URL = "https://eu2-cloud.acronis.com"
ASTRA = {"url": "https://astra.netapp.io", "accountId": "6f1e2d3c-astra", "token": "astra-token-not-real"}
TWO_ACCOUNTS: dict[str, Any] = {
    "config": {"api": {"url": URL}},
    "serviceMonitor": {"enabled": True, "targetLabels": ["team"]},
    "podMonitor": {"enabled": True},
    "networkPolicy": {"enabled": True},
    "accounts": [
        {
            "name": "eu2-partner",
            "credentials": {"clientId": "eu2-client", "clientSecret": "eu2-secret-not-real"},
        },
        {
            "name": "us5-partner",
            "api": {"url": "https://us5-cloud.acronis.com"},
            "tenantId": "3f5a9c3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f",
            "credentials": {
                "method": "password",
                "username": "us5-user",
                "password": "us5-password-not-real",
            },
            "astra": ASTRA,
            "extraArgs": ["--poll.queues=backup"],
        },
    ],
}
INFO = 1  # helm lint severities: 1 info, 2 warning, 3 error
SECRET_VALUES = (
    "eu2-secret-not-real",
    "us5-password-not-real",
    "astra-token-not-real",
    "eu2-client",
    "us5-user",
)


def by_account(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Return the rendered objects of ``kind``, keyed by their account label."""
    return {item["metadata"]["labels"]["account"]: item for item in objects_of(objects, kind)}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    """Return the exporter container of a Deployment."""
    found: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return found


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a matchLabels selector selects an object with ``labels``."""
    return all(labels.get(key) == value for key, value in selector.items())


def render_error(values: dict[str, Any]) -> str:
    """Return the message the chart refuses ``values`` with."""
    with pytest.raises(helm.HelmError) as failure:
        render(values)
    return str(failure.value)


@pytest.fixture(scope="module")
def two() -> list[dict[str, Any]]:
    """Render two accounts once for the whole module."""
    return render(TWO_ACCOUNTS)


class TestTwoAccounts:
    """Two accounts: one exporter each, told apart by the account label."""

    def test_every_object_validates_strictly_and_against_the_operator_crds(
        self, two: list[dict[str, Any]]
    ) -> None:
        """Every object validates strictly and against the operator crds."""
        report = lint(TWO_ACCOUNTS)
        assert report["errors"] == []
        assert [message for message in report["messages"] if message["severity"] > INFO] == []
        for version in KUBERNETES_VERSIONS:
            for item in two:
                validate(item, version)

    def test_one_deployment_secret_service_and_monitor_per_account(self, two: list[dict[str, Any]]) -> None:
        """One deployment secret service and monitor per account."""
        for kind in ("Deployment", "Secret", "Service", "ServiceMonitor", "PodMonitor", "Pod"):
            assert sorted(by_account(two, kind)) == ["eu2-partner", "us5-partner"], kind
        names = {item["metadata"]["name"] for item in objects_of(two, "Deployment")}
        assert names == {
            "acronis-acronis-task-exporter-eu2-partner",
            "acronis-acronis-task-exporter-us5-partner",
        }

    def test_each_service_routes_only_to_its_own_accounts_pod(self, two: list[dict[str, Any]]) -> None:
        """Each service routes only to its own accounts pod."""
        deployments = by_account(two, "Deployment")
        for account, service in by_account(two, "Service").items():
            selected = [
                other
                for other, deployment in deployments.items()
                if matches(service["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"])
            ]
            assert selected == [account]
            assert service["metadata"]["labels"]["account"] == account

    def test_monitors_put_the_account_label_on_every_target(self, two: list[dict[str, Any]]) -> None:
        """Monitors put the account label on every target."""
        services = by_account(two, "Service")
        for account, monitor in by_account(two, "ServiceMonitor").items():
            spec = monitor["spec"]
            assert spec["targetLabels"] == ["account", "team"]
            selected = [
                other
                for other, svc in services.items()
                if matches(spec["selector"]["matchLabels"], svc["metadata"]["labels"])
            ]
            assert selected == [account]
        pods = {
            account: d["spec"]["template"]["metadata"]["labels"]
            for account, d in by_account(two, "Deployment").items()
        }
        for account, monitor in by_account(two, "PodMonitor").items():
            assert monitor["spec"]["podTargetLabels"] == ["account"]
            assert [
                other
                for other, labels in pods.items()
                if matches(monitor["spec"]["selector"]["matchLabels"], labels)
            ] == [account]

    def test_each_account_polls_its_own_api_with_its_own_secret_files(
        self, two: list[dict[str, Any]]
    ) -> None:
        """Each account polls its own api with its own secret files."""
        deployments = by_account(two, "Deployment")
        eu2, us5 = container(deployments["eu2-partner"]), container(deployments["us5-partner"])
        assert f"--api.url={URL}" in eu2["args"]
        assert "--api.client-id-file=/etc/acronis-task-exporter/credentials/client-id" in eu2["args"]
        assert not any(arg.startswith("--astra.") for arg in eu2["args"])
        assert "--api.url=https://us5-cloud.acronis.com" in us5["args"]
        assert "--api.tenant-id=3f5a9c3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f" in us5["args"]
        assert "--api.username-file=/etc/acronis-task-exporter/credentials/username" in us5["args"]
        assert us5["args"][-1] == "--poll.queues=backup"
        secrets = by_account(two, "Secret")
        assert secrets["eu2-partner"]["stringData"] == {
            "client-id": "eu2-client",
            "client-secret": "eu2-secret-not-real",
        }
        assert secrets["us5-partner"]["stringData"] == {
            "username": "us5-user",
            "password": "us5-password-not-real",
            "astra-token": "astra-token-not-real",
        }
        for account, deployment in deployments.items():
            volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
            assert volumes["credentials"]["secret"]["secretName"] == secrets[account]["metadata"]["name"]

    def test_secrets_reach_only_the_secrets(self, two: list[dict[str, Any]]) -> None:
        """Secrets reach only the secrets."""
        elsewhere = json.dumps([item for item in two if item["kind"] != "Secret"])
        for value in SECRET_VALUES:
            assert value not in elsewhere

    def test_notes_list_the_accounts(self) -> None:
        """Notes list the accounts."""
        text = notes(TWO_ACCOUNTS)
        assert "eu2-partner: deploy/acronis-acronis-task-exporter-eu2-partner" in text
        assert "us5-partner: deploy/acronis-acronis-task-exporter-us5-partner" in text

    def test_an_existing_secret_per_account_is_mounted_and_none_created(self) -> None:
        """An existing secret per account is mounted and none created."""
        values = {
            **TWO_ACCOUNTS,
            "accounts": [{"name": "eu2-partner", "credentials": {"existingSecret": "acronis-eu2"}}],
        }
        objects = render(values)
        assert objects_of(objects, "Secret") == []
        volumes = by_account(objects, "Deployment")["eu2-partner"]["spec"]["template"]["spec"]["volumes"]
        assert {
            "name": "credentials",
            "secret": {"secretName": "acronis-eu2", "defaultMode": 0o440},
        } in volumes


class TestSingleAccountIsUnchanged:
    """Without accounts the release renders as it did before accounts existed."""

    def test_no_account_label_and_the_release_names(self) -> None:
        """No account label and the release names."""
        objects = render({**MINIMAL, "serviceMonitor": {"enabled": True}})
        for item in objects:
            assert "account" not in item["metadata"].get("labels", {}), item["kind"]
        assert "targetLabels" not in objects_of(objects, "ServiceMonitor")[0]["spec"]
        assert [d["metadata"]["name"] for d in objects_of(objects, "Deployment")] == [
            "acronis-acronis-task-exporter"
        ]


class TestRequired:
    """What an account lacks stops the install at render time, named by account."""

    @pytest.mark.parametrize(
        ("account", "named"),
        [
            (
                {"name": "b"},
                "accounts[b].credentials.clientId, accounts[b].credentials.clientSecret required",
            ),
            (
                {"name": "b", "credentials": {"clientId": "x"}},
                "accounts[b].credentials.clientSecret required",
            ),
            (
                {"name": "b", "credentials": {"method": "bearer_token"}},
                "accounts[b].credentials.bearerToken required",
            ),
            (
                {"name": "b", "api": {"url": ""}, "astra": {"url": ASTRA["url"], "token": "t"}},
                "accounts[b].astra.accountId",
            ),
            (
                {
                    "name": "b",
                    "astra": {"url": ASTRA["url"], "accountId": "a"},
                    "credentials": {"existingSecret": "s"},
                },
                "accounts[b].astra.token",
            ),
        ],
    )
    def test_each_accounts_missing_setting_is_named(self, account: dict[str, Any], named: str) -> None:
        """Each accounts missing setting is named."""
        values: dict[str, Any] = {
            "accounts": [{"name": "a", "api": {"url": URL}, "credentials": {"existingSecret": "s"}}, account]
        }
        if "api" not in account:
            values["config"] = {"api": {"url": URL}}
        assert named in render_error(values)

    def test_an_account_with_neither_acronis_nor_astra_is_refused(self) -> None:
        """An account with neither acronis nor astra is refused."""
        assert "accounts[a].api.url (or config.api.url) or accounts[a].astra.url is required" in render_error(
            {"accounts": [{"name": "a", "credentials": {"existingSecret": "s"}}]}
        )

    def test_a_name_used_twice_is_refused(self) -> None:
        """A name used twice is refused."""
        account = {"name": "a", "credentials": {"existingSecret": "s"}}
        assert 'the name "a" appears twice' in render_error(
            {"config": {"api": {"url": URL}}, "accounts": [account, account]}
        )

    @pytest.mark.parametrize("name", ["EU2", "eu2_partner", "-eu2", ""])
    def test_schema_refuses_names_that_are_no_label_value(self, name: str) -> None:
        """Schema refuses names that are no label value."""
        with pytest.raises(helm.HelmError):
            render({"demo": True, "accounts": [{"name": name}]})


class TestRulesStayPerAccount:
    """Alerts from different accounts never merge into one: every grouping keeps the label."""

    def test_every_by_and_on_list_that_keeps_instance_keeps_account(self) -> None:
        """The PrometheusRule's aggregations group by account wherever they group by instance."""
        rule = objects_of(render({**MINIMAL, "prometheusRule": {"enabled": True}}), "PrometheusRule")[0]
        expressions = [item["expr"] for group in rule["spec"]["groups"] for item in group["rules"]]
        groupings = [
            grouping
            for expr in expressions
            for grouping in re.findall(r"\b(?:by|on) \(([^)]*)\)", expr)
            if "instance" in grouping
        ]
        assert groupings
        assert [grouping for grouping in groupings if "account" not in grouping.split(", ")] == []
