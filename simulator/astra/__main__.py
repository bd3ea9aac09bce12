"""``python -m simulator.astra``: serve a live simulated Astra Control account until SIGTERM.

For the compose demo, where Astra Control runs as its own service beside the Acronis
simulator (``--demo`` embeds both in one exporter process instead).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from simulator.astra.config import DEMO_ACCOUNT_ID, DEMO_TOKEN, AstraConfig
from simulator.astra.core import start_astra_simulator

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType


def parse_args(argv: Sequence[str] | None) -> AstraConfig:
    """Return the run's settings; a bad value exits 2 with usage."""
    parser = argparse.ArgumentParser(prog="python -m simulator.astra", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default: 0)")
    parser.add_argument(
        "--account-id", default=DEMO_ACCOUNT_ID, help="account id served (default: the demo's)"
    )
    parser.add_argument("--token", default=DEMO_TOKEN, help="bearer token accepted (default: the demo's)")
    parser.add_argument("--tasks", type=int, default=200, help="tasks in the history (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=11, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        return AstraConfig(host=args.host, port=args.port, account_id=args.account_id, token=args.token,
                           tasks=args.tasks, seed=args.seed, live=True)  # fmt: skip
    except ValueError as error:
        parser.error(str(error))


def main(argv: Sequence[str] | None = None) -> int:
    """Serve in the foreground until SIGINT or SIGTERM; return the exit status."""
    config = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with start_astra_simulator(config) as sim:
        print(f"astra simulator listening on {sim.url} (account {config.account_id})", flush=True)  # noqa: T201  the CLI's one line
        while not stop.wait(3600):  # wakes at once on a signal
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
