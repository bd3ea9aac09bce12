"""Wiring: build a running exporter from Settings, run it until told to stop, and the demo.

``build()`` assembles the parts in dependency order (self registry and counters, auth,
client, store, poller, exposition); ``Exporter.serve()`` runs the poll loop and the web
server on background threads until the stop event is set. Nothing here parses flags or
prints; ``__main__`` does that.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from exporter import logs, signals
from exporter.allocator import release_freed_memory, tune_allocator
from exporter.astra_client import AstraClient
from exporter.auth import build_auth
from exporter.bcrypt_auth import BcryptUsers
from exporter.client import TaskManagerClient
from exporter.exposition import Exposition, self_registry
from exporter.listener import MetricsServer
from exporter.poller import Poller
from exporter.redaction import SecretRegistry
from exporter.selfmetrics import SelfMetrics
from exporter.server import Authenticator, BasicAuth, ExporterApp
from exporter.snapshot import SnapshotStore

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Mapping

    import httpx
    from prometheus_client import CollectorRegistry

    from exporter.config import Settings
    from simulator import RunningSimulator
    from simulator.astra import RunningAstra

DEMO_POLL_INTERVAL: Final = 15.0  # seconds: lively in a demo, still gentle on the simulator
# Seconds close() waits for the loops in all: in-flight reads end within deadline.STOP_SLICE
# of the stop, and whatever still runs after this is a daemon thread that exit abandons.
_JOIN_BUDGET: Final = 1.0
# Seconds between the main thread's looks at signals. The kernel may hand SIGTERM to any
# thread (a busy bcrypt check's, say); Python runs the handler on the main thread only,
# and a main thread asleep in a lock wait is woken by no signal but its own: without
# these wake-ups such a SIGTERM waited until the next one.
_SIGNAL_CHECK: Final = 0.25
_log = logs.get_logger(component="app")


@dataclass
class Exporter:
    """Every long-lived part of one exporter process."""

    settings: Settings
    registry: CollectorRegistry
    metrics: SelfMetrics
    client: TaskManagerClient
    store: SnapshotStore
    poller: Poller
    exposition: Exposition
    stop: threading.Event
    _threads: list[threading.Thread] = field(default_factory=list)
    astra: AstraClient | None = None  # the Astra Control client, when astra.url is set

    def web_app(self) -> ExporterApp:
        """Build the WSGI app over this exporter's store, probes and basic auth."""
        web = self.settings.web
        config = web.web_config()
        auth: Authenticator | None = None
        if web.basic_auth_username is not None:
            auth = BasicAuth(web.basic_auth_username, web.resolved_basic_auth_password)
        elif config is not None and config.basic_auth_users:
            auth = BcryptUsers(config.basic_auth_users)
        return ExporterApp(
            self.exposition,
            self.store,
            self.poller.healthy,
            api_url=self.settings.api.base_url,
            basic_auth=auth,
            telemetry_path=web.telemetry_path,
            headers=config.response_headers() if config is not None else [],
        )

    def bind(self) -> MetricsServer:
        """Bind web.listen_address (raises OSError when the port is taken)."""
        return MetricsServer(self.settings.web, self.web_app())

    def serve(self, server: MetricsServer) -> None:
        """Serve and poll on background threads until ``stop`` is set or an exception arrives.

        Either way (the CLI's signal handler raises into this wait) the web server and
        the poll loop are shut down before this returns or re-raises.
        """
        try:
            self._threads.append(server.start())
            self._start("poller", self.poller.run, self.stop)
            signals.report_state_with(self.state)
            _log.info("exporter_started", listen_address=server.url, api_url=self.settings.api.base_url)
            while not self.stop.wait(_SIGNAL_CHECK):
                pass
        finally:
            self.client.stop_sending()  # first: nothing goes out once the stop is logged
            if self.astra is not None:
                self.astra.stop_sending()
            _log.info("exporter_stopping")
            server.shutdown()
            self.close()

    def close(self) -> None:
        """Stop the poll loop and release the HTTP connections."""
        self.stop.set()
        deadline = time.monotonic() + _JOIN_BUDGET
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.poller.close()
        self.client.close()
        if self.astra is not None:
            self.astra.close()
        _log.info("exporter_stopped")

    def state(self) -> Mapping[str, object]:
        """Return what SIGUSR1 logs: readiness, health, and each source's latest outcome."""
        snapshot = self.store.latest
        return {
            "ready": self.store.first_published.is_set(),
            "healthy": self.poller.healthy(),
            "up": snapshot.up,
            "snapshot_taken_at": snapshot.taken_at or None,
            "sources": {
                name: {"ok": status.ok, "reason": status.error_reason, "last_success": status.last_success}
                for name, status in snapshot.sources.items()
            },
        }

    def _start(self, name: str, target: Callable[..., object], *args: object) -> None:
        # Daemon threads: an HTTP read stuck past the join timeout must not block exit.
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)


def build(  # noqa: PLR0913 - settings, then optional collaborators and test seams
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    secrets: SecretRegistry | None = None,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    transport: httpx.BaseTransport | None = None,
    rng: random.Random | None = None,
) -> Exporter:
    """Assemble the exporter; raises ConfigError when a secret file cannot be read.

    ``secrets``: the registry logging redacts with (``register_secrets`` filled it); else a new one.
    ``clock``, ``monotonic``, ``transport`` and ``rng`` are the seams tests drive: the wall
    clock of the tokens and snapshots, the clock that times zero-first's hold and the overdue
    watch, the HTTP transport of every request, and the source of jitter.
    """
    stop = stop or threading.Event()
    tune_allocator()
    secrets = secrets if secrets is not None else register_secrets(settings)
    registry = self_registry()
    metrics = SelfMetrics(registry)
    auth = build_auth(settings.api, metrics, transport=transport, clock=clock, secrets=secrets)
    client = TaskManagerClient(
        settings.api, auth, metrics, transport=transport, stop=stop, rng=rng, secrets=secrets
    )
    astra = None
    if settings.astra.enabled:
        astra = AstraClient(
            settings.astra, settings.api, metrics, transport=transport, stop=stop, rng=rng, secrets=secrets
        )
    store = SnapshotStore()
    clients = {} if astra is None else {"astra": astra}
    poller = Poller(
        settings, client, store, metrics, clock=clock, monotonic=monotonic, rng=rng, clients=clients
    )
    exposition = Exposition(store, registry)
    # After the exposition's own listener: the rendering is part of the burst to give back.
    store.on_publish(release_freed_memory)
    return Exporter(settings, registry, metrics, client, store, poller, exposition, stop, astra=astra)


def register_secrets(settings: Settings, secrets: SecretRegistry | None = None) -> SecretRegistry:
    """Register every secret the settings hold with `secrets` (else a new registry); return it.

    The one place the settings' secrets are registered, before anything can log them; the
    token source adds the access tokens later. File-based secrets are read here too
    (raising ConfigError if a file became unreadable).
    """
    secrets = secrets if secrets is not None else SecretRegistry()
    api, web = settings.api, settings.web
    # With the user they go with: each pair also travels as base64 in an HTTP Basic header.
    secrets.register_credentials(api.resolved_client_id(), api.resolved_client_secret())
    secrets.register_credentials(api.resolved_username(), api.resolved_password())
    secrets.register(api.resolved_bearer_token())
    secrets.register_credentials(web.basic_auth_username, web.resolved_basic_auth_password())
    secrets.register(settings.astra.resolved_token())
    return secrets


def check_credentials(settings: Settings, secrets: SecretRegistry | None = None) -> int:
    """Mint a token and count tasks once; return how many tasks the credentials can see.

    Raises ApiError (or ConfigError for an unreadable secret file) when that fails.
    """
    secrets = secrets if secrets is not None else register_secrets(settings)
    metrics = SelfMetrics(self_registry())
    auth = build_auth(settings.api, metrics, secrets=secrets)
    with TaskManagerClient(settings.api, auth, metrics, secrets=secrets) as client:
        return client.count("tasks")


def start_demo_simulator() -> RunningSimulator:
    """Start the embedded simulator on a free loopback port with a lively, seeded workload."""
    from simulator import SimulatorConfig, start_simulator  # noqa: PLC0415 - demo only

    config = SimulatorConfig(
        host="127.0.0.1",
        port=0,
        live=True,
        tasks=5000,
        open_tasks=300,
        tenants=25,
        completion_rate=2.0,
        seed=7,
    )
    return start_simulator(config)


def demo_settings(settings: Settings, simulator: RunningSimulator) -> Settings:
    """Point the settings at the simulator; poll every 15 s unless the user chose otherwise."""
    config = simulator.config
    pointed = settings.for_simulator(simulator.url, config.client_id, config.client_secret)
    if "interval" in settings.poll.model_fields_set:
        return pointed
    poll = pointed.poll.model_copy(update={"interval": DEMO_POLL_INTERVAL})
    return pointed.model_copy(update={"poll": poll})


def start_demo_astra() -> RunningAstra:
    """Start the embedded Astra Control simulator on a free loopback port with a live workload."""
    from simulator.astra import AstraConfig, start_astra_simulator  # noqa: PLC0415 - demo only

    return start_astra_simulator(AstraConfig(live=True, tasks=300, open_tasks=25, finish_rate=0.5))


def demo_astra_settings(settings: Settings, astra: RunningAstra) -> Settings:
    """Point the astra section at the embedded Astra Control simulator."""
    from pydantic import HttpUrl, SecretStr  # noqa: PLC0415 - demo only

    config = astra.config
    section = settings.astra.model_copy(
        update={
            "url": HttpUrl(astra.url),
            "account_id": config.account_id,
            "token": SecretStr(config.token),
            "token_file": None,
            "ca_file": None,
            "insecure_skip_verify": False,
        }
    )
    return settings.model_copy(update={"astra": section})
