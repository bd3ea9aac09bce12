"""Every fault the suite knows, as a name and a switch, for the soak to cycle through.

The fast scenarios in this package spell their faults out inline, next to what they
assert; the soak (``bench/soak.py``) plays this whole list again and again, each fault on
for a while and then healed, while it watches the exporter's memory, files, threads,
scrapes and counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.timefmt import http_date

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.faults.rig import Rig


@dataclass(frozen=True)
class Fault:
    """One way the API misbehaves; clearing the simulator's faults and opening the gate heals it."""

    name: str
    switch_on: Callable[[Rig], object]


def _token_endpoint_down_after_expiry(rig: Rig) -> None:
    rig.sim.faults.token_endpoint_down()
    rig.sim.faults.expire_tokens()


def _revoked(rig: Rig) -> None:
    rig.sim.faults.revoke_credentials()
    rig.sim.faults.expire_tokens()


def _scope_dropped(rig: Rig) -> None:
    rig.sim.faults.drop_scope()
    rig.sim.faults.expire_tokens()


def catalog(timeout: float) -> tuple[Fault, ...]:
    """Return every fault; ``timeout`` is the exporter's --api.timeout (the slow fault exceeds it)."""
    return (
        Fault("connection refused", lambda rig: rig.gate.refuse()),
        Fault("responses past the timeout", lambda rig: rig.sim.faults.latency(timeout * 2)),
        Fault("5xx burst", lambda rig: rig.sim.faults.fail(502, times=None)),
        Fault("429 Retry-After: 2", lambda rig: rig.sim.faults.fail(429, times=None, retry_after=2)),
        Fault(
            "503 Retry-After: HTTP date",
            # On the API's clock, as its Date header is: that is what the date is read against.
            lambda rig: rig.sim.faults.fail(503, times=3, retry_after=http_date(rig.clock.now() + 3)),
        ),
        Fault("proxy HTML 401", lambda rig: rig.sim.faults.fail(401, times=None, html=True)),
        Fault("token endpoint down, token valid", lambda rig: rig.sim.faults.token_endpoint_down()),
        Fault("token endpoint down, token expired", _token_endpoint_down_after_expiry),
        Fault("credentials revoked", _revoked),
        Fault("scope missing (403)", _scope_dropped),
        Fault("truncated JSON", lambda rig: rig.sim.faults.truncate_json(times=None)),
        Fault("JSON of the wrong shape", lambda rig: rig.sim.faults.wrong_shape(times=None)),
        Fault("items with null fields", lambda rig: rig.sim.faults.corrupt_items("null", count=5, times=20)),
        Fault(
            "items with unknown enums",
            lambda rig: rig.sim.faults.corrupt_items("unknown_enum", count=5, times=20),
        ),
        Fault("repeated cursor", lambda rig: rig.sim.faults.repeat_cursor(times=None)),
        Fault("cursors past the end", lambda rig: rig.sim.faults.endless_pages(on=True)),
    )
