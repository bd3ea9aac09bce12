"""Freed memory goes back to the kernel after a poll, where the C library allows it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from exporter.allocator import can_release

# A burst like a catch-up after an outage: many medium blocks (below glibc's mmap threshold,
# so they come from the heap), nine in ten freed, the rest pinning the heap's top.
_BURST = textwrap.dedent(
    """
    from pathlib import Path
    from exporter.allocator import release_freed_memory

    def rss_mib():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

    blocks = [bytearray(64 * 1024) for _ in range(2000)]
    pinned = blocks[::10]
    del blocks
    held = rss_mib()
    release_freed_memory()
    print(held, rss_mib())
    """
)


@pytest.mark.skipif(not can_release(), reason="this C library cannot return freed memory on demand")
class TestReleaseFreedMemory:
    """release_freed_memory() (called after every publish) shrinks the resident set."""

    def test_memory_freed_by_a_burst_leaves_the_resident_set(self) -> None:
        """About 110 MiB freed but held by the allocator is handed back to the kernel."""
        result = subprocess.run(
            [sys.executable, "-c", _BURST], capture_output=True, text=True, check=True, timeout=60
        )
        held, released = (float(figure) for figure in result.stdout.split())
        assert held - released > 80, f"RSS {held:.0f} MiB before, {released:.0f} MiB after"
