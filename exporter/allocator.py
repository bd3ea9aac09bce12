"""Hand the C allocator's freed memory back to the kernel once a poll is published.

A poll reads listing pages of a few hundred kilobytes on several threads. glibc keeps
what such a burst frees inside its arenas (one per thread that met contention) and, after
a large block is freed, raises its mmap threshold so that later large blocks come from
those arenas too. The resident set then climbs in steps to the largest burst seen and
stays there while the Python heap is flat: the soak measured 13 MiB in use beside 34 MiB
free but held after the catch-up that follows an outage. ``malloc_trim(0)`` returns the
free pages of every arena; it costs about a millisecond once per poll. Where the C
library has no such call (musl, macOS) this is a no-op.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        own_symbols = ctypes.CDLL(None)  # whichever C library this interpreter runs on
        trim = own_symbols.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _find_malloc_trim()


def can_release() -> bool:
    """Tell whether this C library lets freed memory be handed back on demand."""
    return _MALLOC_TRIM is not None


def release_freed_memory() -> None:
    """Return the allocator's free pages to the kernel (glibc), else do nothing."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
