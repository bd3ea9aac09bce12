"""Run a real Prometheus server for end-to-end tests and query it over its HTTP API.

Uses the ``prometheus`` binary on PATH (Debian's package; ``make test`` installs it). Each
server gets a free loopback port and its own temporary TSDB, and is stopped with SIGTERM.

Usage::

    with start_prometheus({"acronis": [exporter_address]}, scrape_interval=1.0) as prom:
        prom.wait_for_targets_up()
        samples = prom.wait_for("acronis_up == 1")
        assert samples[0].value == 1.0

Skip tests cleanly when the binary is missing with ``pytest.mark.skipif(not
prometheus_available(), ...)`` or ``require_prometheus()``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

from tests.support.lifetime import StopsOnExit, answers_ok, pause_unless_exits, verifying
from tests.support.processes import free_port, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

PROMETHEUS = "prometheus"
PROMTOOL = "promtool"
_START_ATTEMPTS = 3  # a free port can be taken between our check and Prometheus binding it


def prometheus_available() -> bool:
    """Tell whether both the prometheus server and promtool are on PATH."""
    return shutil.which(PROMETHEUS) is not None and shutil.which(PROMTOOL) is not None


def require_prometheus() -> None:
    """Skip the calling test when Prometheus is not installed."""
    import pytest  # noqa: PLC0415 - only tests call this; the module stays importable without pytest

    if not prometheus_available():
        pytest.skip("Debian's prometheus package (prometheus, promtool) is not installed")


@dataclass(frozen=True)
class Sample:
    """One series of an instant-vector result: its labels (with ``__name__``) and value."""

    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range result: its labels and (unix seconds, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


class PrometheusQueryError(RuntimeError):
    """Prometheus rejected a query (bad PromQL, or it answered non-success)."""


@dataclass
class PrometheusServer(StopsOnExit):
    """A running Prometheus and a small client for its HTTP API."""

    process: subprocess.Popen[bytes]
    url: str  # http://127.0.0.1:port
    port: int
    config_path: Path
    log_path: Path
    _tempdir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def log(self) -> str:
        """Prometheus' own log so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")

    def query(self, promql: str, *, at: float | None = None) -> list[Sample]:
        """Evaluate an instant query; scalars come back as one sample without labels."""
        params: dict[str, str] = {"query": promql}
        if at is not None:
            params["time"] = repr(at)
        data = self._api("/api/v1/query", params)
        if data["resultType"] in {"scalar", "string"}:
            return [Sample({}, float(data["result"][1]))]
        return [Sample(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]

    def query_range(self, promql: str, *, start: float, end: float, step: float) -> list[Series]:
        """Evaluate a range query between unix times ``start`` and ``end``."""
        params = {"query": promql, "start": repr(start), "end": repr(end), "step": repr(step)}
        data = self._api("/api/v1/query_range", params)
        return [
            Series(dict(item["metric"]), [(float(t), float(v)) for t, v in item["values"]])
            for item in data["result"]
        ]

    def wait_for(
        self,
        promql: str,
        *,
        until: Callable[[list[Sample]], bool] = bool,
        timeout: float = 60.0,
    ) -> list[Sample]:
        """Re-run an instant query until ``until(result)`` holds (default: non-empty); return it."""
        last: list[list[Sample]] = [[]]

        def attempt() -> list[Sample] | None:
            last[0] = self.query(promql)
            return last[0] if until(last[0]) else None

        try:
            return wait_until(attempt, timeout=timeout, what=f"PromQL {promql!r}", pause=self._pause)
        except AssertionError as error:
            raise AssertionError(f"{error}; last result: {last[0]}\n{self.targets_summary()}") from None

    def metadata(self, metric: str) -> list[dict[str, str]]:
        """TYPE, HELP and UNIT Prometheus learnt for ``metric`` from the scraped exposition."""
        found: dict[str, list[dict[str, str]]] = self._api("/api/v1/metadata", {"metric": metric})
        return found.get(metric, [])

    def targets(self) -> list[dict[str, Any]]:
        """Active scrape targets as Prometheus reports them (health, lastError, labels)."""
        active: list[dict[str, Any]] = self._api("/api/v1/targets", {"state": "active"})["activeTargets"]
        return active

    def targets_summary(self) -> str:
        """One line per target: job, URL, health and last error; for assertion messages."""
        return "\n".join(
            f"{t['labels'].get('job')} {t['scrapeUrl']} {t['health']} {t.get('lastError', '')}"
            for t in self.targets()
        )

    def wait_for_targets_up(self, *, count: int = 1, timeout: float = 60.0) -> None:
        """Block until at least ``count`` targets were scraped successfully."""

        def enough_up() -> bool:
            healthy = [target for target in self.targets() if target["health"] == "up"]
            return len(healthy) >= count

        try:
            wait_until(enough_up, timeout=timeout, what=f"{count} healthy targets", pause=self._pause)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.targets_summary()}") from None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM Prometheus, wait for it, and remove its temporary directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def _api(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        response = httpx.get(self.url + path, params=params, timeout=30.0, verify=verifying())
        body: dict[str, Any] = response.json()
        if body.get("status") != "success":
            raise PrometheusQueryError(f"{path} {dict(params)}: {body.get('errorType')}: {body.get('error')}")
        data: dict[str, Any] = body["data"]
        return data

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {self.process.returncode}\n{self.log()[-4000:]}")
        return answers_ok(self.url + "/-/ready", timeout=5.0)

    def _pause(self, seconds: float) -> None:
        pause_unless_exits(self.process, seconds)


def scrape_config(  # noqa: PLR0913 - mirrors the scrape_config keys a test may need
    job: str,
    targets: Sequence[str],
    *,
    scheme: str = "http",
    metrics_path: str = "/metrics",
    basic_auth: tuple[str, str] | None = None,
    ca_file: Path | None = None,
    insecure_skip_verify: bool = False,
) -> dict[str, Any]:
    """One ``scrape_configs`` entry with static targets (``host:port``)."""
    config: dict[str, Any] = {
        "job_name": job,
        "scheme": scheme,
        "metrics_path": metrics_path,
        "static_configs": [{"targets": list(targets)}],
    }
    if basic_auth is not None:
        config["basic_auth"] = {"username": basic_auth[0], "password": basic_auth[1]}
    if ca_file is not None or insecure_skip_verify:
        tls: dict[str, Any] = {"insecure_skip_verify": insecure_skip_verify}
        if ca_file is not None:
            tls["ca_file"] = str(ca_file)
        config["tls_config"] = tls
    return config


def start_prometheus(  # noqa: PLR0913 - every keyword is an independent, optional knob
    targets: Mapping[str, Sequence[str]] | None = None,
    *,
    scrape_configs: Sequence[Mapping[str, Any]] = (),
    scrape_interval: float = 1.0,
    rule_files: Sequence[Path] = (),
    workdir: Path | None = None,
    extra_args: Sequence[str] = (),
    ready_timeout: float = 60.0,
) -> PrometheusServer:
    """Start Prometheus scraping ``targets`` (job name -> ``host:port`` list) and wait until ready.

    ``scrape_configs`` adds full entries (see ``scrape_config()``) for TLS or basic auth.
    ``rule_files`` are loaded and evaluated every ``scrape_interval``. Without ``workdir`` the
    config and TSDB live in a temporary directory removed by ``stop()``.
    """
    tempdir = None if workdir is not None else tempfile.TemporaryDirectory(prefix="prometheus-")
    base = workdir if workdir is not None else Path(tempdir.name)  # type: ignore[union-attr]
    base.mkdir(parents=True, exist_ok=True)
    jobs = [scrape_config(job, list(addresses)) for job, addresses in (targets or {}).items()]
    config_path = base / "prometheus.yml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "global": {
                    "scrape_interval": _duration(scrape_interval),
                    "scrape_timeout": _duration(scrape_interval),
                    "evaluation_interval": _duration(scrape_interval),
                },
                "rule_files": [str(path) for path in rule_files],
                "scrape_configs": [*jobs, *(dict(entry) for entry in scrape_configs)],
            },
            sort_keys=False,
        )
    )
    for attempt in range(1, _START_ATTEMPTS + 1):
        server = _launch(base, config_path, extra_args, attempt)
        server._tempdir = tempdir
        try:
            wait_until(server._ready, timeout=ready_timeout, what="prometheus /-/ready", pause=server._pause)
        except RuntimeError:
            if attempt == _START_ATTEMPTS or "address already in use" not in server.log():
                server.stop()
                raise
            server._tempdir = None
            continue
        except BaseException:
            server.stop()
            raise
        return server
    raise AssertionError("unreachable")  # pragma: no cover


def _launch(base: Path, config_path: Path, extra_args: Sequence[str], attempt: int) -> PrometheusServer:
    port = free_port()
    log_path = base / f"prometheus-{attempt}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={base / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
                *extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return PrometheusServer(
        process=process,
        url=f"http://127.0.0.1:{port}",
        port=port,
        config_path=config_path,
        log_path=log_path,
    )


def _duration(seconds: float) -> str:
    """Prometheus duration syntax; whole milliseconds are the finest it accepts."""
    return f"{round(seconds * 1000)}ms"


def now() -> float:
    """Unix seconds, for query_range bounds."""
    return time.time()
