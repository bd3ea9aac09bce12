"""A live stack for the deploy tests: simulator, exporter and Prometheus, faults provoked.

The simulator (a busy live workload) serves the Task Manager API, the exporter subprocess
polls it every second, and a real Prometheus scrapes the exporter every second with the
alert rules loaded. Faults injected into the simulator (429, 503, slow answers, corrupt
items, a token endpoint outage, revoked credentials) make the exporter's error counters
exist, as they would after a bad day in production. A live Astra Control simulator runs
beside it and the exporter polls both, so the Astra dashboard and alerts are evaluated
against live data too.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

from simulator import RunningSimulator, SimulatorConfig, start_simulator
from simulator.astra import AstraConfig, RunningAstra, start_astra_simulator
from tests.deploy.paths import JOB, RULE_FILES
from tests.deploy.promql import PENDING, family, metric_names
from tests.support.processes import ExporterProcess, start_exporter, wait_until
from tests.support.prometheus import PrometheusServer, now, require_prometheus, start_prometheus

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from prometheus_client.samples import Sample

# Few tenants and a fast completion rate: every tenant soon has completions, failures,
# blocked tasks and activities, so no panel is empty for want of traffic.
WORKLOAD = SimulatorConfig(tasks=1500, open_tasks=300, tenants=6, seed=11, completion_rate=8.0, live=True)
# Astra tasks that run about half a minute and finish a few a second: finished, failed,
# running and notStarted tasks all exist within the stack's first minute.
ASTRA_WORKLOAD = AstraConfig(tasks=300, open_tasks=40, finish_rate=3.0, mean_run=30.0, seed=11, live=True)
DATA_TIMEOUT = 90.0
API_TIMEOUT = 3.0  # short, so that added latency makes requests time out (reason="timeout")


@dataclass(frozen=True)
class Stack:
    """The running simulator, exporter and Prometheus."""

    simulator: RunningSimulator
    astra: RunningAstra
    exporter: ExporterProcess
    prometheus: PrometheusServer
    started: float  # unix seconds when Prometheus began scraping

    @property
    def instance(self) -> str:
        """The exporter's instance label in Prometheus."""
        return f"127.0.0.1:{self.exporter.port}"

    def exposed(self) -> set[str]:
        """Return the exporter's family and sample names on /metrics right now."""
        return {name for sample in samples(self.exporter) for name in (sample.name, family(sample.name)[0])}

    @cached_property
    def missing_pending(self) -> frozenset[str]:
        """Return the pending families (promql.PENDING) this exporter does not expose."""
        return frozenset(PENDING) - self.exposed()

    def asks_for_missing_pending(self, expr: str) -> bool:
        """Tell whether ``expr`` reads a pending family this exporter lacks."""
        return any(family(name)[0] in self.missing_pending for name in metric_names(expr))


def samples(exporter: ExporterProcess) -> list[Sample]:
    """Parse the exporter's /metrics with the real exposition parser."""
    text = exporter.get("/metrics").text
    return [sample for metric in text_string_to_metric_families(text) for sample in metric.samples]


def exporter_counted(exporter: ExporterProcess, name: str, **labels: str) -> bool:
    """Tell whether the exporter's /metrics has a sample ``name`` with ``labels`` above 0."""
    return any(
        s.name == name and labels.items() <= s.labels.items() and s.value > 0 for s in samples(exporter)
    )


def await_series(exporter: ExporterProcess, name: str, **labels: str) -> None:
    """Wait until the exporter has counted ``name`` with ``labels``.

    Above 0, not merely present: every counter's series exist at 0 from the first poll, so
    presence would pass before the fault was met, and the next fault would clear it unseen.
    """
    wait_until(
        lambda: exporter_counted(exporter, name, **labels), timeout=DATA_TIMEOUT, what=f"{name} {labels}"
    )


def provoke_every_error_counter(simulator: RunningSimulator, exporter: ExporterProcess) -> None:
    """Inject the faults that make each failure series exist, then let the exporter recover."""
    faults = simulator.faults
    faults.fail(429, times=2, retry_after=0)
    await_series(exporter, "acronis_exporter_api_retries_total", reason="throttled")
    # Faults that must reach a walk whose result is kept stay on until the exporter reports
    # them: a few 503s can all land on requests that succeed on retry, and corrupted items
    # can all land on a quick completion walk that is then walked again in full.
    faults.fail(503, times=None)
    await_series(exporter, "acronis_exporter_refresh_failures_total", reason="http_5xx")
    await_series(exporter, "acronis_exporter_api_request_failures_total")
    faults.clear()
    faults.corrupt_items(mode="null", count=3, times=None)
    await_series(exporter, "acronis_exporter_items_skipped_total")
    faults.clear()
    faults.expire_tokens()
    faults.token_endpoint_down(times=3)
    await_series(exporter, "acronis_exporter_token_request_failures_total")
    faults.revoke_credentials()
    faults.expire_tokens()
    await_series(exporter, "acronis_exporter_refresh_failures_total", reason="auth")
    faults.restore_credentials()
    # Last: requests still sleeping in the simulator would use up faults injected after this.
    faults.latency(API_TIMEOUT + 2)
    await_series(exporter, "acronis_exporter_refresh_failures_total", reason="timeout")
    faults.latency(0)
    wait_until(lambda: is_up(exporter), timeout=DATA_TIMEOUT, what="acronis_up 1 after the faults")


def is_up(exporter: ExporterProcess) -> bool:
    """Tell whether the last poll refreshed every source again."""
    return any(sample.name == "acronis_up" and sample.value == 1.0 for sample in samples(exporter))


@contextmanager
def running_stack(workdir: Path) -> Iterator[Stack]:
    """Start both simulators, exporter and Prometheus (with the alert rules); provoke the faults first."""
    require_prometheus()
    secret = workdir / "client-secret"
    secret.write_text(WORKLOAD.client_secret + "\n")
    astra_token = workdir / "astra-token"
    astra_token.write_text(ASTRA_WORKLOAD.token)
    with start_simulator(WORKLOAD) as simulator, start_astra_simulator(ASTRA_WORKLOAD) as astra:
        args = [
            *("--api.url", simulator.url, "--api.client-id", WORKLOAD.client_id),
            *("--api.client-secret-file", str(secret), "--poll.interval", "1", "--poll.jitter", "0"),
            *("--api.max-retries", "1", "--api.backoff-initial", "0.05", "--api.backoff-max", "0.1"),
            *("--api.timeout", str(API_TIMEOUT), "--log.level", "warning"),
            *("--metrics.resources", "--metrics.completion-windows"),  # the backup rules and row read them
            *("--astra.url", astra.url, "--astra.account-id", ASTRA_WORKLOAD.account_id),
            *("--astra.token-file", str(astra_token)),
        ]
        with start_exporter(args, workdir=workdir / "exporter") as exporter:
            provoke_every_error_counter(simulator, exporter)
            targets = {JOB: [f"127.0.0.1:{exporter.port}"]}
            with start_prometheus(
                targets, scrape_interval=1.0, rule_files=RULE_FILES, workdir=workdir / "prom"
            ) as prom:
                started = now()
                prom.wait_for_targets_up()
                yield Stack(simulator, astra, exporter, prom, started)
