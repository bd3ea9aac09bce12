"""The floor a poll cycle's wall time is held against: the same requests, sent by a bare client.

A Python simulator serves concurrent pages one at a time (its GIL), so on a busy cycle
the server, not the exporter, may set the pace. This walker sends one cycle's count
queries and listing walks with the exporter's concurrency and the simulator's latency,
doing nothing with the pages but follow their cursors. Its wall time is the best any
client could do against the same server; it runs in a process of its own so that
neither the harness nor the in-process simulator slows it.

Input on stdin (JSON, so the secret never shows in ``ps``)::

    {"base_url": ..., "client_id": ..., "client_secret": ..., "concurrency": 4,
     "walks": [{"path": "/api/task_manager/v2/tasks", "query": [["lod", "count"]], "pages": 1}, ...]}

Output on stdout: ``{"wall_seconds": ..., "responses": ...}``.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench.replay import Credentials, fetch_token, walk
from bench.traffic import Walk

if TYPE_CHECKING:
    from collections.abc import Sequence

_REPO = Path(__file__).resolve().parents[1]


def reference_wall_seconds(
    base_url: str, credentials: Credentials, walks: Sequence[Walk], concurrency: int
) -> float:
    """Send `walks` from a separate process; return its wall time in seconds."""
    job = {
        "base_url": base_url,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "concurrency": concurrency,
        "walks": [dataclasses.asdict(one) for one in walks],
    }
    finished = subprocess.run(
        [sys.executable, "-m", "bench.reference_walk"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
        cwd=_REPO,
        timeout=600,
    )
    return float(json.loads(finished.stdout)["wall_seconds"])


def main() -> int:
    """Read the job from stdin, walk it, print the wall time."""
    job: dict[str, Any] = json.loads(sys.stdin.read())
    credentials = Credentials(job["client_id"], job["client_secret"])
    walks = [
        Walk(str(one["path"]), tuple((str(k), str(v)) for k, v in one["query"]), int(one["pages"]))
        for one in job["walks"]
    ]
    concurrency = int(job["concurrency"])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=job["base_url"], timeout=120.0, limits=limits) as client:
        client.headers["Authorization"] = f"Bearer {fetch_token(client, credentials)}"
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            pages = sum(pool.map(lambda one: sum(1 for _ in walk(client, one)), walks))
        wall = time.perf_counter() - started
    print(json.dumps({"wall_seconds": wall, "responses": pages}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
