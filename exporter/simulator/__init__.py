"""A faithful, stateful fake of the Acronis Task Manager API v2 (see docs/simulator.md)."""

from exporter.simulator.clock import ManualClock, WallClock
from exporter.simulator.config import SimulatorConfig
from exporter.simulator.running import RunningSimulator, start_simulator

__all__ = ["ManualClock", "RunningSimulator", "SimulatorConfig", "WallClock", "start_simulator"]
