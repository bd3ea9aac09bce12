"""Assembles one simulator: world, history, workload, tokens, faults, API and truth."""

from __future__ import annotations

import random
import secrets
import sys
from typing import TYPE_CHECKING, Any

import structlog

from simulator import history, lifecycle
from simulator.admin import Admin
from simulator.api import TaskManagerApi
from simulator.clock import ManualClock
from simulator.cursors import CursorCodec
from simulator.faults import Faults
from simulator.population import build_world
from simulator.requestlog import RequestLog
from simulator.spawn import Spawner
from simulator.store import Store
from simulator.token_endpoint import TokenStore, parse_basic
from simulator.truth import Truth
from simulator.workload import Workload

if TYPE_CHECKING:
    from simulator.clock import Clock
    from simulator.config import SimulatorConfig


class Simulator:
    """Everything behind the HTTP server; built once, then shared by request threads."""

    def __init__(self, config: SimulatorConfig, clock: Clock) -> None:
        self.config, self.clock = config, clock
        seed = config.seed
        self.world = build_world(random.Random(f"{seed}-world"), config.tenants, config.tenant_tree)  # noqa: S311  a simulation, not crypto
        self.store = Store(config.db)
        self.store.load_world(self.world)
        # Little's law: open = rate x mean lifetime, so the lifetime follows from the two settings.
        scale = lifecycle.lifetime_scale(max(config.open_tasks, 1) / config.completion_rate)
        past_rng = random.Random(f"{seed}-history")  # noqa: S311  a simulation, not crypto
        live_rng = random.Random(f"{seed}-live")  # noqa: S311  ditto
        made = history.generate(
            self.store, Spawner(past_rng, self.world, scale, config.late_write_max), past_rng,
            tasks=config.tasks, open_tasks=config.open_tasks, rate=config.completion_rate, now=clock.now(),
            activity_rng=random.Random(f"{seed}-activities"),  # noqa: S311  a simulation, not crypto
        )  # fmt: skip
        live_spawner = Spawner(live_rng, self.world, scale, config.late_write_max)
        self.workload = Workload(
            self.store, clock, live_spawner, rng=live_rng, history=made, rate=config.completion_rate
        )
        uuids = {t.uuid: t.locator for t in self.world.tenants if t.uuid is not None}
        self.tokens = TokenStore(config, clock, uuids)
        self.faults = Faults(self.tokens, config.latency)
        self.api = TaskManagerApi(
            self.store, self.world, CursorCodec(secrets.token_bytes(32)), config=config, faults=self.faults
        )
        self.truth = Truth(self.store, self.world)
        self.requests = RequestLog()
        self.admin = Admin(
            faults=self.faults,
            truth=self.truth,
            clock=clock,
            workload=self.workload,
            injections=self.api.injected,
        )
        self._log: Any = structlog.wrap_logger(
            structlog.PrintLogger(sys.stderr),
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(),
            ],
        )  # its own logger: the exporter's global structlog configuration stays untouched

    def issue_token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """Answer the token endpoint."""
        return self.tokens.issue(form, parse_basic(authorization))

    def date(self) -> float:
        """Return the time the API's host tells in its Date header: the clock's, unless a fault skews it."""
        return self.clock.now() + self.faults.date_skew

    def before_api_request(self) -> None:
        """Bring the data up to the clock: always on a manual clock, on a wall clock only when live."""
        if isinstance(self.clock, ManualClock) or self.config.live:
            self.workload.catch_up()

    def log_request(  # noqa: PLR0913  one structured line carries all of these
        self, method: str, path: str, query: list[tuple[str, str]], *, status: int, size: int, seconds: float
    ) -> None:
        """Log one request as one JSON line, when the config asks for it (the CLI does)."""
        if self.config.log_requests:
            self._log.debug(
                "request_served", method=method, path=path, query=[f"{k}={v}" for k, v in query],
                status=status, response_bytes=size, duration_ms=round(seconds * 1000, 2),
            )  # fmt: skip

    def log_failure(self, method: str, path: str, trace: str) -> None:
        """Log a request that broke the simulator (answered 500), with its traceback, always."""
        self._log.error("request_failed", method=method, path=path[:512], traceback=trace)

    def log_client_gone(self, client: str, error: str) -> None:
        """Log a client that hung up mid-request, at debug level, alongside the request log."""
        if self.config.log_requests:
            self._log.debug("client_disconnected", client=client, error=error)

    def log(self, event: str, **fields: object) -> None:
        """Log one simulator event (start, stop) as a JSON line."""
        self._log.info(event, **fields)

    def close(self) -> None:
        """Release the database."""
        self.store.close()
