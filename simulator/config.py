"""The simulator's settings: one frozen value object, every field defaulted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CountShape = Literal["count", "total", "size"]
CursorPlacement = Literal["paging", "top"]
TenantTree = Literal["flat", "deep"]
TaskShape = Literal["camel", "snake"]  # snake: seed 002's flat tenant_id, result_code, *_id

DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret"  # noqa: S105  a documented demo credential, not a secret
DEMO_USERNAME = "demo-user"
DEMO_PASSWORD = "demo-password"  # noqa: S105  ditto


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that shapes a simulator run; see docs/simulator.md for each field."""

    host: str = "127.0.0.1"
    port: int = 0
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    username: str = DEMO_USERNAME
    password: str = DEMO_PASSWORD
    tasks: int = 2_000
    open_tasks: int = 200
    tenants: int = 20
    tenant_tree: TenantTree = "flat"
    task_shape: TaskShape = "camel"
    seed: int = 7
    db: str = ":memory:"
    token_lifetime: float = 7200.0
    count_shape: CountShape = "count"
    cursor_placement: CursorPlacement = "paging"
    completion_rate: float = 1.0
    late_write_max: float = 0.0
    max_page_size: int | None = None
    latency: float = 0.0
    live: bool = False
    # Not in the list: the CLI turns these on; library users rarely want them.
    log_requests: bool = False
    default_page_size: int = 1000  # used when a first page carries no `limit`
    tick_interval: float = 0.25  # live mode: how often the ticker applies due transitions

    def __post_init__(self) -> None:
        problems = list(_problems(self))
        if problems:
            raise ValueError("invalid SimulatorConfig: " + "; ".join(problems))


def _problems(cfg: SimulatorConfig) -> list[str]:
    """Return one line per invalid field, so a bad config names everything at once."""
    checks = [
        (cfg.tasks >= 0, "tasks must be >= 0"),
        (0 <= cfg.open_tasks <= cfg.tasks, "open_tasks must be between 0 and tasks"),
        (cfg.tenants >= 1, "tenants must be >= 1"),
        (cfg.completion_rate > 0, "completion_rate must be > 0"),
        (cfg.token_lifetime > 0, "token_lifetime must be > 0"),
        (cfg.late_write_max >= 0, "late_write_max must be >= 0"),
        (cfg.latency >= 0, "latency must be >= 0"),
        (cfg.max_page_size is None or cfg.max_page_size >= 1, "max_page_size must be >= 1"),
        (cfg.default_page_size >= 1, "default_page_size must be >= 1"),
        (cfg.tick_interval > 0, "tick_interval must be > 0"),
        (cfg.count_shape in ("count", "total", "size"), "count_shape must be count, total or size"),
        (cfg.cursor_placement in ("paging", "top"), "cursor_placement must be paging or top"),
        (cfg.tenant_tree in ("flat", "deep"), "tenant_tree must be flat or deep"),
        (cfg.task_shape in ("camel", "snake"), "task_shape must be camel or snake"),
        (0 <= cfg.port <= 65535, "port must be 0..65535"),  # noqa: PLR2004  the TCP port range
    ]
    return [message for ok, message in checks if not ok]
