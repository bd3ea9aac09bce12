"""What build is running: the version, the git revision, the Python; for --version and build_info.

The revision comes from ``ACRONIS_TASK_EXPORTER_REVISION`` (image builds set it from the
Dockerfile's ``ARG REVISION``), else from the git checkout the package runs from, else
"unknown" (an installed wheel knows no commit). It is looked up once per process.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Final

from exporter import PRODUCT, __version__

REVISION_ENV: Final = "ACRONIS_TASK_EXPORTER_REVISION"
UNKNOWN: Final = "unknown"
_CHECKOUT: Final = Path(__file__).resolve().parent.parent
_GIT_TIMEOUT: Final = 5.0  # seconds; git answers in milliseconds, a hung one must not hold start-up
_HEX: Final = frozenset("0123456789abcdef")


@functools.cache
def revision() -> str:
    """Return the git commit this exporter was built from or runs from, else "unknown"."""
    return os.environ.get(REVISION_ENV) or _checkout_revision() or UNKNOWN


def _checkout_revision() -> str | None:
    """Ask git for HEAD of the checkout holding this package, only if it is one."""
    git = shutil.which("git")
    if git is None or not (_CHECKOUT / ".git").exists():  # a file in a worktree, a dir otherwise
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, git found on PATH
            [git, "-C", str(_CHECKOUT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 and set(commit) <= _HEX else None  # noqa: PLR2004 - a SHA-1


def version_text() -> str:
    """Return the answer to --version: name, version, revision and the Python that runs it."""
    return (
        f"{PRODUCT} {__version__} (revision {revision()}, "
        f"{platform.python_implementation()} {platform.python_version()})"
    )
