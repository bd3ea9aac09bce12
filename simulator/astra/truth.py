"""Ground truth for tests: what every Astra family should show, straight from the world."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.astra.world import World


def truth(world: World, finished_after: float) -> dict[str, Any]:
    """Return counts by state, open groups, oldest open starts, and finishes after ``finished_after``."""
    finished: Counter[tuple[str, str]] = Counter()
    runs: dict[tuple[str, str], list[float]] = {}
    for _, name, state, run in world.finished_since(finished_after):
        finished[name, state] += 1
        if run is not None:
            runs.setdefault((name, state), []).append(run)
    return {
        "now": world.now(),
        "counts_by_state": dict(world.counts_by_state()),
        "open": [{"name": n, "state": s, "count": c} for (n, s), c in sorted(world.open_groups().items())],
        "oldest_open": [
            {"name": n, "state": s, "start": t} for (n, s), t in sorted(world.oldest_open().items())
        ],
        "finished": [{"name": n, "state": s, "count": c} for (n, s), c in sorted(finished.items())],
        "durations": [
            {"name": n, "state": s, "count": len(values), "sum": sum(values)}
            for (n, s), values in sorted(runs.items())
        ],
    }
