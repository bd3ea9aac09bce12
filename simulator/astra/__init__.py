"""A simulator of NetApp Astra Control's task API (seed 003), beside the Acronis one."""

from simulator.astra.assembly import AstraSimulator
from simulator.astra.config import DEMO_ACCOUNT_ID, DEMO_TOKEN, AstraConfig
from simulator.astra.core import RunningAstra, start_astra_simulator

__all__ = [
    "DEMO_ACCOUNT_ID",
    "DEMO_TOKEN",
    "AstraConfig",
    "AstraSimulator",
    "RunningAstra",
    "start_astra_simulator",
]
