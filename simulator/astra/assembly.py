"""Assembles one Astra Control simulator: world, API and faults, shared by the request threads."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from simulator.astra.api import TasksApi
from simulator.astra.faults import AstraFaults
from simulator.astra.world import World

if TYPE_CHECKING:
    from simulator.astra.config import AstraConfig
    from simulator.clock import Clock


class AstraSimulator:
    """Everything behind the HTTP server, shared by its request threads."""

    def __init__(self, config: AstraConfig, clock: Clock) -> None:
        self.config, self.clock = config, clock
        self.world = World(config, clock, random.Random(f"astra-{config.seed}"))  # noqa: S311  a simulation
        self.api = TasksApi(config, self.world)
        self.faults = AstraFaults(self.api)
        self.requests: list[tuple[str, str, list[tuple[str, str]]]] = []  # method, path, query
        self.failures: list[str] = []  # tracebacks of requests that broke the simulator
