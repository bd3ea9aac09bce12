"""`acronis-tm-simulator`: serve a simulated Task Manager API until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from simulator.config import SimulatorConfig
from simulator.running import start_simulator

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

_DEFAULTS = SimulatorConfig()


def parse_args(argv: Sequence[str] | None = None) -> SimulatorConfig:
    """Turn command-line flags into a SimulatorConfig (live; requests logged at --log-level debug)."""
    # Every flag shows its default, the formatter says so: no help text repeats it by hand.
    parser = argparse.ArgumentParser(
        prog="acronis-tm-simulator",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default=_DEFAULTS.host, help="address to listen on")
    add("--port", type=int, default=_DEFAULTS.port, help="TCP port; 0 picks a free one")
    add("--client-id", default=_DEFAULTS.client_id, help="API client id accepted")
    add(
        "--client-secret",
        default=_DEFAULTS.client_secret,
        help="API client secret accepted",
    )
    add("--username", default=_DEFAULTS.username, help="password-grant user")
    add("--password", default=_DEFAULTS.password, help="password-grant password")
    add(
        "--tasks",
        type=int,
        default=_DEFAULTS.tasks,
        help="tasks in the generated history, open ones included",
    )
    add("--open-tasks", type=int, default=_DEFAULTS.open_tasks, help="tasks not yet completed")
    add("--tenants", type=int, default=_DEFAULTS.tenants, help="tenants in the hierarchy")
    add("--tenant-tree", choices=("flat", "deep"), default=_DEFAULTS.tenant_tree,
        help="flat: root, partners, customers, units; deep: also sub-partners and folders, and the root "
        "and partners own tasks (default %(default)s)")  # fmt: skip
    add("--task-shape", choices=("camel", "snake"), default=_DEFAULTS.task_shape,
        help="camel: tasks as the API sends them; snake: seed 002's flat tenant_id, result_code, "
        "policy_id, resource_id, executor_id (default %(default)s)")  # fmt: skip
    add("--seed", type=int, default=_DEFAULTS.seed, help="random seed: same seed, same data")
    add("--db", default=_DEFAULTS.db, help="SQLite file path, or :memory:")
    add("--completion-rate", type=float, default=_DEFAULTS.completion_rate, help="completions per second")
    add("--latency", type=float, default=_DEFAULTS.latency, help="seconds added to every request")
    add(
        "--count-shape",
        choices=("count", "total", "size"),
        default=_DEFAULTS.count_shape,
        help="lod=count key",
    )
    add("--cursor-placement", choices=("paging", "top"), default=_DEFAULTS.cursor_placement,
        help="paging.cursors.after or top-level cursors.after")  # fmt: skip
    add("--token-lifetime", type=float, default=_DEFAULTS.token_lifetime, help="token lifetime in seconds")
    add("--late-write-max", type=float, default=_DEFAULTS.late_write_max,
        help="completions become visible up to this many seconds after their completedAt")  # fmt: skip
    add("--max-page-size", type=int, default=None, help="silently cap page sizes (none: no cap)")
    add("--log-level", choices=("debug", "info"), default="info",
        help="debug also logs every request served")  # fmt: skip
    args = parser.parse_args(argv)
    debug = args.log_level == "debug"
    options = {key: value for key, value in vars(args).items() if value is not None and key != "log_level"}
    try:
        return SimulatorConfig(**options, live=True, log_requests=debug)
    except ValueError as error:
        parser.error(str(error))  # exits 2 with usage, like any bad flag


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator in the foreground; return the exit status."""
    config = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        stop.set()
        print(f"simulator stopping on signal {signum}", file=sys.stderr, flush=True)  # noqa: T201  CLI output

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    began = time.monotonic()
    sim = start_simulator(config)
    print(  # noqa: T201  the CLI's one line for people and scripts to read
        f"simulator listening on {sim.url} (client id {config.client_id}, secret {config.client_secret})",
        flush=True,
    )
    sim.log("simulator_started", url=sim.url, tasks=config.tasks, tenants=config.tenants,
            startup_seconds=round(time.monotonic() - began, 2))  # fmt: skip
    try:
        while not stop.wait(3600):  # wakes at once on a signal
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
