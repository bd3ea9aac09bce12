"""How the simulator serves: addresses, bursts of connections, clients that leave, and stopping."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx
import pytest

from .helpers import API, Api

if TYPE_CHECKING:
    from collections.abc import Callable

    from exporter.simulator import RunningSimulator


class TestAddresses:
    """Where the simulator listens."""

    def test_ipv6_loopback(self, simulator_factory: Callable[..., RunningSimulator]) -> None:
        """host="::1" listens on IPv6 and the URL brackets the address."""
        sim = simulator_factory(host="::1")
        assert sim.url.startswith("http://[::1]:")
        client = Api(sim)
        assert client.json("/tasks", [("lod", "count")])["count"] > 0
        client.close()

    def test_taken_port_raises(
        self, simulator: RunningSimulator, simulator_factory: Callable[..., RunningSimulator]
    ) -> None:
        """Starting on a port in use fails with OSError."""
        with pytest.raises(OSError, match="in use"):
            simulator_factory(port=int(simulator.url.rsplit(":", 1)[1]))


class TestConcurrentClients:
    """Many connections at once, as a client's connection pool opens them."""

    def test_twenty_simultaneous_connections_all_get_answers(
        self, api: Api, simulator: RunningSimulator
    ) -> None:
        """Twenty clients connecting at the same moment, each on its own connection, all get a 200."""
        headers = {"Authorization": f"Bearer {api.token()}"}
        # A short timeout: a connection left in a full accept backlog waits a 1 s SYN retransmit.
        timeout = httpx.Timeout(10.0, connect=0.9)
        all_ready = threading.Barrier(20)

        def one_client(_: int) -> int:
            with httpx.Client(base_url=simulator.url, timeout=timeout) as client:
                all_ready.wait()  # connect together: a burst, not a trickle
                return client.get(f"{API}/tasks", params={"lod": "count"}, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(one_client, range(20)))
        assert statuses == [200] * 20
