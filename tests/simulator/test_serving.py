"""How the simulator serves: addresses, bursts of connections, clients that leave, and stopping."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx
import pytest

from .helpers import API, Api, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import RunningSimulator


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


class TestClientsThatLeave:
    """A client that times out and hangs up mid-reply is routine for a server."""

    def test_a_client_timing_out_leaves_one_debug_line_and_no_traceback(
        self, simulator_factory: Callable[..., RunningSimulator], capfd: pytest.CaptureFixture[str]
    ) -> None:
        """A client giving up on a slow reply costs one client_disconnected debug line, no traceback."""
        sim = simulator_factory(log_requests=True)
        api = Api(sim)
        token = api.token()
        api.close()
        sim.faults.latency(0.3)
        with httpx.Client(base_url=sim.url, timeout=0.05) as client, pytest.raises(httpx.ReadTimeout):
            client.get(f"{API}/tasks", params={"lod": "full"}, headers={"Authorization": f"Bearer {token}"})
        err = ""

        def disconnect_logged() -> bool:
            nonlocal err
            err += capfd.readouterr().err
            return "client_disconnected" in err

        # The simulator answers once its latency is over and only then finds the client gone.
        assert wait_until(disconnect_logged), err
        assert "Traceback" not in err
        events = [json.loads(line) for line in err.splitlines()]
        gone = [event for event in events if event["event"] == "client_disconnected"]
        assert len(gone) == 1, err
        assert gone[0]["level"] == "debug"


class TestStop:
    """stop() while requests are still being answered."""

    def test_a_request_in_flight_is_answered_before_the_database_closes(
        self, api: Api, simulator: RunningSimulator, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """A slow request under way when stop() is called still gets its full 200 reply."""
        expected = sum(simulator.truth.counts_by_state().values())
        api.token()
        simulator.faults.latency(0.5)
        with ThreadPoolExecutor(max_workers=1) as pool:
            reply = pool.submit(api.get, "/tasks", [("lod", "count")])
            assert wait_until(lambda: simulator.in_flight == 1)
            simulator.stop()
            assert reply.result().json() == {"count": expected}
        assert "Traceback" not in capfd.readouterr().err

    def test_a_request_outlasting_the_grace_period_gets_503(
        self, api: Api, simulator: RunningSimulator, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """A request still running when stop() stops waiting is answered 503, not with a database error."""
        api.token()
        simulator.faults.latency(1.0)
        with ThreadPoolExecutor(max_workers=1) as pool:
            reply = pool.submit(api.get, "/tasks", [("lod", "count")])
            assert wait_until(lambda: simulator.in_flight == 1)
            simulator.stop(timeout=0.0)
            assert reply.result().status_code == 503
            assert reply.result().json()["code"] == "ServiceUnavailable"
        assert "Traceback" not in capfd.readouterr().err
