"""One set of hypothesis settings for every property test: reproducible and without deadlines.

CI must see the same examples on every run (a red that a re-run turns green teaches
nothing), and the examples here drive real parsers over large generated bodies, which
hypothesis' default deadline and size health checks would flag on a loaded machine.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def reproducible(max_examples: int) -> settings:
    """Return settings that run ``max_examples`` derandomized examples, no database, no deadline."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
