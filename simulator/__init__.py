"""A faithful, stateful fake of the Acronis Task Manager API v2 (see docs/simulator.md)."""

from simulator.clock import ManualClock, WallClock
from simulator.config import SimulatorConfig
from simulator.running import RunningSimulator, start_simulator

__all__ = ["ManualClock", "RunningSimulator", "SimulatorConfig", "WallClock", "start_simulator"]
