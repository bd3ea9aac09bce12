"""The client id and the user name can come from files, re-read on every token request.

The Helm chart mounts its Secret as files; kubelet swaps a rotated Secret in place, so an id
read from a file (rather than an environment variable fixed at start) follows the rotation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from exporter.config import load
from exporter.errors import AuthError, ConfigError
from exporter.selfmetrics import SelfMetrics
from exporter.tokens import TokenSource
from tests.support.client_harness import simulator_api

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from simulator import RunningSimulator

URL = "https://eu2-cloud.acronis.com"


def written(path: Path, text: str) -> Path:
    """Write ``text`` as Kubernetes mounts a Secret key (with a trailing newline); return the path."""
    path.write_text(text + "\n", encoding="utf-8")
    return path


class TestAgainstTheSimulator:
    """Over real HTTP: the token request carries what the file holds now."""

    def test_a_rotated_client_id_file_is_used_by_the_next_token_request(
        self, simulator_factory: Callable[..., RunningSimulator], tmp_path: Path
    ) -> None:
        """The id from the file mints a token; after rotation the new id is the one sent."""
        sim = simulator_factory()
        id_file = written(tmp_path / "client-id", sim.config.client_id)
        api = simulator_api(sim, client_id=None, client_id_file=id_file)
        assert TokenSource(api, SelfMetrics(CollectorRegistry())).mint().value
        written(id_file, "rotated-client")
        with pytest.raises(AuthError, match="API client 'rotated-client' was refused"):
            TokenSource(api, SelfMetrics(CollectorRegistry())).mint()

    def test_the_password_grant_reads_the_user_name_from_its_file(
        self, simulator_factory: Callable[..., RunningSimulator], tmp_path: Path
    ) -> None:
        """username_file stands in for username in the password grant."""
        sim = simulator_factory()
        api = simulator_api(
            sim,
            grant_type="password",
            client_id=None,
            username_file=written(tmp_path / "username", sim.config.username),
            password=SecretStr(sim.config.password),
        )
        assert TokenSource(api, SelfMetrics(CollectorRegistry())).mint().value


class TestSettings:
    """The file settings are checked at start like the secret files."""

    def test_a_client_id_file_satisfies_the_client_credentials_grant(self, tmp_path: Path) -> None:
        """--api.client-id-file with a secret file is a complete configuration."""
        settings = load(
            [
                "--api.url",
                URL,
                "--api.client-id-file",
                str(written(tmp_path / "id", "client-7")),
                "--api.client-secret-file",
                str(written(tmp_path / "secret", "s3cret")),
            ]
        )
        assert settings.api.resolved_client_id() == "client-7"

    def test_an_id_given_twice_is_ambiguous(self, tmp_path: Path) -> None:
        """A value and a file for the same id is an error, not a silent choice."""
        with pytest.raises(ConfigError, match=r"set api\.client_id or api\.client_id_file, not both"):
            load(
                [
                    "--api.url",
                    URL,
                    "--api.client-id",
                    "a",
                    "--api.client-id-file",
                    str(written(tmp_path / "id", "b")),
                ]
            )

    def test_an_empty_user_name_file_stops_the_start(self, tmp_path: Path) -> None:
        """An empty file (a Secret key left blank) is a one-line error naming the setting."""
        empty = tmp_path / "username"
        empty.write_text("\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"api\.username_file: .* is empty"):
            load(["--api.url", URL, "--api.grant-type", "password", "--api.username-file", str(empty)])
