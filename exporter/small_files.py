"""Reading a small file an operator names (a secret, a settings file) without trusting it.

The guards every such read needs, stated once: only a regular file is read (a FIFO would
block the start forever, ``/dev/zero`` never ends), at most ``limit`` bytes of it, and as
UTF-8. Each problem is a ``ValueError`` naming the file, never quoting its content, which
may hold a secret; the caller adds which setting named it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def read_small_text(path: Path, limit: int, *, too_large: str) -> str:
    """Return the file's text; ``too_large`` is the problem said of a file over ``limit`` bytes.

    ``too_large`` may name ``{path}`` and ``{kib}`` (the limit in KiB).
    """
    try:
        if path.exists() and not path.is_file():  # a missing file is open()'s to report
            raise ValueError(f"{path} is not a regular file")
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as error:
        raise ValueError(f"cannot read {path} ({error.strerror or type(error).__name__})") from None
    if len(raw) > limit:
        raise ValueError(too_large.format(path=path, kib=limit // 1024))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
