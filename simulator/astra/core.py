"""Runs one Astra Control simulator: its HTTP server and, live, its ticker."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from simulator.astra.assembly import AstraSimulator
from simulator.astra.server import AstraServer
from simulator.clock import Clock, WallClock
from simulator.serving import Serving

if TYPE_CHECKING:
    from simulator.astra.config import AstraConfig


class RunningAstra(Serving):
    """An Astra simulator serving on ``url``; ``stop()`` or use it as a context manager."""

    def __init__(self, simulator: AstraSimulator) -> None:
        self.simulator = simulator
        config = simulator.config
        self._server = AstraServer((config.host, config.port), simulator)
        super().__init__(self._server, name="astra-http")
        self._stop = threading.Event()
        self.config, self.clock = config, simulator.clock  # set before the ticker reads them
        self.world, self.faults = simulator.world, simulator.faults
        self._threads = [self._serving]
        if config.live:
            self._threads.append(threading.Thread(target=self._tick, daemon=True))
        for thread in self._threads:
            thread.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.config.tick_interval):
            self.world.catch_up()

    def stop(self) -> None:
        """Stop serving; safe to call twice."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)


def start_astra_simulator(config: AstraConfig, clock: Clock | None = None) -> RunningAstra:
    """Generate the account's tasks and start serving; ``clock=None`` is the wall clock."""
    return RunningAstra(AstraSimulator(config, clock or WallClock()))
