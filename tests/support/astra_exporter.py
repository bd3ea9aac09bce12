"""An Astra-only exporter process against an Astra simulator: the set-up the Astra tests share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.processes import start_exporter

if TYPE_CHECKING:
    from pathlib import Path

    from simulator.astra import RunningAstra
    from tests.support.processes import ExporterProcess


def start_astra_exporter(sim: RunningAstra, workdir: Path, *extra: str) -> ExporterProcess:
    """Start an exporter with no Acronis settings, token in a file, polling every second, plus ``extra``."""
    token = workdir / "token"
    token.write_text(sim.config.token)
    args = ["--astra.url", sim.url, "--astra.account-id", sim.config.account_id,
            "--astra.token-file", str(token), "--poll.interval", "1", *extra]  # fmt: skip
    return start_exporter(args, workdir=workdir)
