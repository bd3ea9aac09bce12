"""Serve a synthetic snapshot over HTTP in a process of its own, for the scrape benchmark.

``python -m bench.serve_snapshot --tenants N --renderer exporter`` publishes the snapshot
into a real ``SnapshotStore`` and serves it with the exporter's own web server, which
renders once per poll and hands every scrape the cached bytes. ``--renderer default``
serves the same collector through ``prometheus_client.start_http_server``, which renders
afresh on every scrape. Either way the first stdout line is ``URL <base url>``; the
process serves until its stdin closes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import threading
import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server

from bench.synthetic import build_snapshot
from exporter import logs
from exporter.collector import TaskManagerCollector
from exporter.config import WebSettings
from exporter.config_sections import LogSettings
from exporter.exposition import Exposition, self_registry
from exporter.listener import MetricsServer
from exporter.redaction import SecretRegistry
from exporter.selfmetrics import SelfMetrics
from exporter.server import ExporterApp
from exporter.snapshot import SnapshotStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

RENDERERS = ("exporter", "default")


def main(argv: Sequence[str] | None = None) -> int:
    """Start serving, print the URL, serve until stdin closes."""
    parser = argparse.ArgumentParser(prog="python -m bench.serve_snapshot", description=__doc__)
    parser.add_argument("--tenants", type=int, required=True, help="tenants in the synthetic snapshot")
    parser.add_argument("--renderer", choices=RENDERERS, required=True)
    parser.add_argument(
        "--profile", metavar="PATH", help="write a cProfile of every thread's CPU here at exit"
    )
    args = parser.parse_args(argv)
    profiles = _profile_threads() if args.profile else []
    # As the exporter runs by default, and never to stdout: the harness reads only its first
    # line, and unread debug lines (one per request) would fill the pipe and stall every
    # serving thread in print().
    logs.configure(LogSettings(level="warning"), sys.stderr, secrets=SecretRegistry())
    store = SnapshotStore(initial=build_snapshot(args.tenants))
    url, stop = _SERVERS[args.renderer](store)
    print(f"URL {url}", flush=True)
    sys.stdin.read()  # the harness closes our stdin when it is done with us
    stop()
    if profiles:
        threading.setprofile(None)
        for profile in profiles:
            profile.disable()
        pstats.Stats(*profiles).dump_stats(args.profile)
    return 0


def _profile_threads() -> list[cProfile.Profile]:
    """Profile every thread started from now on, by its own CPU time (``time.thread_time``)."""
    profiles: list[cProfile.Profile] = []

    def start(*_: object) -> None:
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()  # replaces this hook in the new thread

    threading.setprofile(start)
    return profiles


def _serve_default(store: SnapshotStore) -> tuple[str, Callable[[], None]]:
    """Serve with client_python's own server: a fresh generate_latest (and gzip) per scrape."""
    registry = CollectorRegistry()
    registry.register(TaskManagerCollector(store))
    live = self_registry()
    SelfMetrics(live)  # as the exporter has them: every closed label set at 0
    registry.register(live)  # a registry is a collector too: own counters, process_*, python_*, build info
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)

    def stop() -> None:
        server.shutdown()
        thread.join()

    return f"http://127.0.0.1:{server.server_port}", stop


def _serve_exporter(store: SnapshotStore) -> tuple[str, Callable[[], None]]:
    """Serve with the exporter's web server: one render per poll, cached bytes per scrape."""
    live = self_registry()
    SelfMetrics(live)  # as the exporter has them: every closed label set at 0
    app = ExporterApp(Exposition(store, live), store, healthy=lambda: True)
    server = MetricsServer(WebSettings(listen_address="127.0.0.1:0"), app)
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join()

    return server.url, stop


_SERVERS: dict[str, Callable[[SnapshotStore], tuple[str, Callable[[], None]]]] = {
    "exporter": _serve_exporter,
    "default": _serve_default,
}

if __name__ == "__main__":
    sys.exit(main())
