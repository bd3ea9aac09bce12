"""The vocabulary of the simulated data centre: states, codes, queues and task types.

No public list of queue names exists (API-NOTES.md), so the queues are invented;
task and policy types are the ones real payloads show.
"""

from __future__ import annotations

from dataclasses import dataclass

STATES = ("enqueued", "assigned", "started", "paused", "completed")
OPEN_STATES = STATES[:4]
RESULT_CODES = ("ok", "error", "warning", "cancelled", "abandoned", "timedout")
PRIORITIES = ("low", "belowNormal", "normal", "aboveNormal", "high")
LODS = ("tiny", "short", "long", "full", "debug", "count")
POLICY_TYPES = ("backup", "policy.protection.total", "policy.backup.machine")
RESOURCE_TYPES = ("resource.machine", "resource.virtual_machine.vmwesx", "resource.mailbox")

# Completion mix: mostly ok, some warnings and errors, few cancelled/timedout/abandoned.
RESULT_WEIGHTS = {
    "ok": 0.895,
    "warning": 0.05,
    "error": 0.035,
    "cancelled": 0.008,
    "timedout": 0.007,
    "abandoned": 0.005,
}

QUEUES = (
    "backup",
    "backup-priority",
    "antimalware",
    "vulnerability-assessment",
    "patch-management",
    "agent-management",
    "vault-maintenance",
    "replication",
    "reporting",
)

ACTIVITY_CHILD_TYPES = (
    "ValidateArchive",
    "ReplicateArchive",
    "CleanupArchive",
    "7C2A61E6-7C48-4F8E-8C53-0F8C9F5E1D2A",
)


@dataclass(frozen=True)
class TaskType:
    """One kind of task: where it queues, how long it runs, what it links to."""

    name: str
    queues: tuple[str, ...]
    weight: float
    median_seconds: float  # relative; scaled so the mean lifetime is open_tasks / completion_rate
    sigma: float  # log-normal shape: ~1.2 spans seconds to hours
    policy_type: str | None
    priorities: tuple[float, float, float, float, float]  # weights in PRIORITIES order


TASK_TYPES = (
    TaskType(
        "MachineBackup",
        ("backup", "backup-priority"),
        30,
        900,
        1.1,
        "policy.backup.machine",
        (0.05, 0.15, 0.6, 0.15, 0.05),
    ),
    TaskType("BackupPlan", ("backup",), 12, 1500, 1.0, "backup", (0.05, 0.1, 0.7, 0.1, 0.05)),
    TaskType("WinScan", ("antimalware",), 14, 600, 1.2, "policy.protection.total", (0.2, 0.3, 0.5, 0, 0)),
    TaskType(
        "TpScan", ("vulnerability-assessment",), 8, 240, 1.0, "policy.protection.total", (0.3, 0.3, 0.4, 0, 0)
    ),
    TaskType(
        "NGMP_FullScan", ("antimalware",), 5, 3600, 0.9, "policy.protection.total", (0.4, 0.3, 0.3, 0, 0)
    ),
    TaskType(
        "ApplyPatches", ("patch-management",), 6, 1200, 1.0, "policy.protection.total", (0, 0.2, 0.6, 0.2, 0)
    ),
    TaskType(
        "A59E8BF2-39C3-42C4-B667-CB672381A214", ("agent-management",), 9, 8, 0.8, None, (0, 0, 0.5, 0.3, 0.2)
    ),
    TaskType("CollectSystemInfo", ("agent-management",), 6, 20, 0.9, None, (0.5, 0.3, 0.2, 0, 0)),
    TaskType("ReplicateArchive", ("replication",), 4, 2400, 1.1, "backup", (0.1, 0.3, 0.6, 0, 0)),
    TaskType("VaultCompact", ("vault-maintenance",), 3, 1800, 0.9, None, (0.6, 0.4, 0, 0, 0)),
    TaskType("3F2504E0-4F89-11D3-9A0C-0305E82C3301", ("reporting",), 3, 45, 0.7, None, (0.2, 0.2, 0.6, 0, 0)),
)

FIRST_NAMES = ("John", "Maria", "Chen", "Aisha", "Lars", "Priya", "Diego", "Yuki", "Olga", "Kwame")
LAST_NAMES = ("Doe", "Garcia", "Wei", "Khan", "Berg", "Patel", "Silva", "Tanaka", "Ivanova", "Mensah")
COMPANY_WORDS = ("Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum", "Proseware", "Wingtip")
COMPANY_SUFFIXES = ("Ltd", "GmbH", "Inc", "AG", "SARL", "BV")
HOST_PREFIXES = ("DESKTOP", "LAPTOP", "SRV-DB", "SRV-FILE", "SRV-APP", "VM-WEB", "EXCH")
TAGS = ("scheduled", "manual", "critical", "retry")
