"""A credentials file the exporter re-reads that vanishes while it runs: the operator's problem, named.

The Acronis client secret is read again for every token it mints. Deleted while the
exporter runs (a Secret unmounted, a rotation gone wrong), the next mint must fail the
sources as ``auth`` with a message naming the file: never as the exporter's own crash
(``internal``, a traceback), never quoting a secret, and polling recovers once it is back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.processes import start_exporter, wait_until
from tests.support.scrape import scraped

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from simulator import RunningSimulator

pytestmark = pytest.mark.slow


def _failures(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], reason: str) -> float:
    return sum(
        value
        for (name, labels), value in samples.items()
        if name == "acronis_exporter_refresh_failures_total" and dict(labels).get("reason") == reason
    )


def _token_failures(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], reason: str) -> float:
    return sum(
        value
        for (name, labels), value in samples.items()
        if name == "acronis_exporter_token_request_failures_total" and dict(labels).get("reason") == reason
    )


def test_a_client_secret_file_deleted_at_run_time_fails_as_auth_naming_the_file(
    simulator_factory: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """Delete the file, let the token lapse: an auth failure naming the file; restore it: polls recover."""
    sim = simulator_factory(wall_clock=True)
    secret_file = tmp_path / "client-secret"
    secret = sim.config.client_secret
    secret_file.write_text(secret)
    args = ["--api.url", sim.url, "--api.client-id", sim.config.client_id,
            "--api.client-secret-file", str(secret_file), "--poll.interval", "1",
            "--api.max-retries", "0"]  # fmt: skip
    with start_exporter(args, workdir=tmp_path) as exporter:
        secret_file.unlink()
        sim.faults.expire_tokens()  # the next request is refused: the exporter must mint again
        wait_until(lambda: _failures(scraped(exporter), "auth") > 0, timeout=60, what="an auth failure")
        failed = [
            event for event in exporter.events("source_refresh_failed") if event.fields["reason"] == "auth"
        ]
        messages = [str(event.fields.get("error")) for event in failed]
        assert messages
        assert all("api.client_secret_file" in m and str(secret_file) in m for m in messages), messages
        assert _failures(scraped(exporter), "internal") == 0
        # Every mint counted as a token request is counted as a failed one too, reason auth.
        wait_until(lambda: _token_failures(scraped(exporter), "auth") > 0, timeout=60, what="a failed mint")
        secret_file.write_text(secret)
        polls = len(exporter.events("poll_finished"))
        wait_until(lambda: len(exporter.events("poll_finished")) > polls + 1, timeout=60, what="more polls")
        wait_until(
            lambda: all(
                ok for (name, _), ok in scraped(exporter).items() if name == "acronis_exporter_source_up"
            ),
            timeout=60,
            what="every source up again",
        )
        stderr = exporter.stderr()
        assert "source_crashed" not in stderr
        assert "Traceback" not in stderr
        assert secret not in stderr
