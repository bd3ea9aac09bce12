"""What a process has cost the machine so far, read from Linux's /proc.

The exporter runs in its own process so that its CPU and memory are its own: the
simulator, the load generators and this harness never blur them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# /proc/<pid>/stat fields after the ")" that closes the command name: state is the first,
# so utime (field 14 in proc(5)) and stime (15) sit at indexes 11 and 12.
_UTIME, _STIME = 11, 12


@dataclass(frozen=True)
class ProcessUsage:
    """CPU seconds and memory high-water mark of one process at one instant."""

    cpu_seconds: float  # user + system, every thread that ever ran, at clock-tick resolution
    peak_rss_bytes: int  # VmHWM: the largest resident set the process has had
    rss_bytes: int  # VmRSS: its resident set now


def usage(pid: int) -> ProcessUsage:
    """Read the CPU time and resident-set figures of a live process."""
    return ProcessUsage(cpu_seconds(pid), _status_kib(pid, "VmHWM") * 1024, _status_kib(pid, "VmRSS") * 1024)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process has used, its threads included."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[_UTIME]) + int(fields[_STIME])) / _TICKS_PER_SECOND


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])  # "  123456 kB"
    raise LookupError(f"{key} missing from /proc/{pid}/status")


def machine_description() -> dict[str, str | int]:
    """Name the machine the figures came from: kernel, CPU model, cores and memory."""
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
        if line.startswith("model name"):
            cpu_model = line.partition(":")[2].strip()
            break
    memory_kib = _meminfo_kib("MemTotal")
    uname = os.uname()
    return {
        "uname": f"{uname.sysname} {uname.nodename} {uname.release} {uname.version} {uname.machine}",
        "cpu_model": cpu_model,
        "cpus": os.cpu_count() or 0,
        "memory_gib": round(memory_kib / 1024 / 1024),
    }


def _meminfo_kib(key: str) -> int:
    for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])
    return 0
