"""Starting and stopping a simulator: the entry point tests, benchmarks and the CLI share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.clock import Clock, WallClock
from simulator.core import Simulator
from simulator.http_server import SimulatorServer
from simulator.serving import Serving
from simulator.workload import Ticker

if TYPE_CHECKING:
    from simulator.config import SimulatorConfig
    from simulator.faults import Faults
    from simulator.requestlog import RequestLog
    from simulator.truth import Truth
    from simulator.workload import Workload


class RunningSimulator(Serving):
    """A simulator serving HTTP on `url`; stop it with `stop()` or use it as a context manager."""

    def __init__(self, simulator: Simulator, server: SimulatorServer, ticker: Ticker | None) -> None:
        super().__init__(server, name="simulator-http")
        self._simulator = simulator
        self._server = server
        self._ticker = ticker
        self._serving.start()
        self._stopped = False

    @property
    def config(self) -> SimulatorConfig:
        """The configuration it runs with."""
        return self._simulator.config

    @property
    def clock(self) -> Clock:
        """The clock driving it."""
        return self._simulator.clock

    @property
    def workload(self) -> Workload:
        """The live workload (`advance(seconds)` on a manual clock)."""
        return self._simulator.workload

    @property
    def faults(self) -> Faults:
        """The fault switchboard."""
        return self._simulator.faults

    @property
    def truth(self) -> Truth:
        """The ground truth."""
        return self._simulator.truth

    @property
    def requests(self) -> RequestLog:
        """The request log."""
        return self._simulator.requests

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self._server.server_address[1])

    def log(self, event: str, **fields: object) -> None:
        """Write one structured JSON line to stderr (the CLI's start-up line)."""
        self._simulator.log(event, **fields)

    @property
    def in_flight(self) -> int:
        """How many requests are being answered right now."""
        return self._server.in_flight

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, give requests in flight up to `timeout` seconds, then release everything.

        A request still running after that is answered 503, never with a database error.
        Safe to call twice.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._ticker is not None:
            self._ticker.stop()
        self._server.shutdown()  # no new connections from here on
        self._serving.join()
        self._server.server_close()
        self._server.finish_connections(timeout)
        self._simulator.close()


def start_simulator(config: SimulatorConfig, clock: Clock | None = None) -> RunningSimulator:
    """Generate the workload, start serving, and return once requests can be answered.

    `clock=None` means the wall clock. `config.live` starts a background ticker that
    applies transitions as the clock moves.
    """
    simulator = Simulator(config, clock or WallClock())
    try:
        server = SimulatorServer((config.host, config.port), simulator)
    except OSError:  # e.g. the port is taken: release the database before reporting it
        simulator.close()
        raise
    ticker = None
    if config.live:
        ticker = Ticker(simulator.workload, config.tick_interval)
        ticker.start()
    return RunningSimulator(simulator, server, ticker)
