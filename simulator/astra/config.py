"""The Astra Control simulator's settings: one frozen value object, every field defaulted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DEMO_ACCOUNT_ID = "4c9e4b2a-7d0e-4f43-9d5c-1f2a3b4c5d6e"
DEMO_TOKEN = "demo-astra-token"  # noqa: S105  a documented demo credential, not a secret
ItemShape = Literal["full"]


@dataclass(frozen=True)
class AstraConfig:
    """What shapes an Astra Control simulator run."""

    host: str = "127.0.0.1"
    port: int = 0
    account_id: str = DEMO_ACCOUNT_ID
    token: str = DEMO_TOKEN
    tasks: int = 200  # tasks in the generated history, open ones included
    open_tasks: int = 20
    finish_rate: float = 0.5  # new tasks per second (and, in the steady state, finishes)
    mean_run: float = 120.0  # mean seconds a task runs
    retain: int = 5000  # finished tasks kept before the oldest are forgotten, as a real API purges
    default_limit: int = 100  # a page without `limit`
    max_limit: int | None = None  # silently cap pages (None: no cap)
    seed: int = 11
    live: bool = False
    tick_interval: float = 0.25

    def __post_init__(self) -> None:
        checks = [
            (self.tasks >= 0, "tasks must be >= 0"),
            (0 <= self.open_tasks <= self.tasks, "open_tasks must be between 0 and tasks"),
            (self.finish_rate > 0, "finish_rate must be > 0"),
            (self.mean_run > 0, "mean_run must be > 0"),
            (self.retain >= 1, "retain must be >= 1"),
            (self.default_limit >= 1, "default_limit must be >= 1"),
            (self.max_limit is None or self.max_limit >= 1, "max_limit must be >= 1"),
            (bool(self.account_id) and bool(self.token), "account_id and token must be set"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise ValueError("invalid AstraConfig: " + "; ".join(problems))
