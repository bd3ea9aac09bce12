"""Build the Dockerfile with buildah on a debootstrapped Debian base, and run what it makes.

No registry image can be pulled here, so the Dockerfile's PYTHON_IMAGE is replaced by a
Debian bookworm made with debootstrap (its python3 is 3.11, like the pinned slim base). That
base is built once per machine and kept as a local image whose tag names its recipe; the
locked wheels are downloaded on the host into a cache keyed by the locks and mounted into
the build, which then needs no network (PIP_NO_INDEX). Both caches live under CACHE.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.deploy.paths import DOCKERFILE, REPO

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

CACHE = Path(os.environ.get("ACRONIS_IMAGE_TEST_CACHE", "/var/cache/acronis-task-exporter"))
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# python-is-python3: the Dockerfile says `python`, as the official images name it.
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
LOCKS = (REPO / "requirements.lock", REPO / "requirements-build.lock")
WHEELHOUSE_IN_BUILD = "/wheelhouse"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUILD_TIMEOUT = 900.0


def unusable_reason() -> str | None:
    """Say why this machine cannot build the image (not root, a tool missing), or None."""
    if os.geteuid() != 0:
        return "building the image needs root (debootstrap, buildah's chroot isolation)"
    missing = [name for name in ("buildah", "debootstrap") if shutil.which(name) is None]
    if missing:
        return f"{' and '.join(missing)} not installed: `make tools` installs them"
    return None


def require_builder() -> None:
    """Skip when the image cannot be built here, but fail in CI, where it must always run."""
    reason = unusable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI must build the container image, but {reason}", pytrace=False)
    pytest.skip(reason)


def run(argv: Sequence[str], *, timeout: float = 120.0) -> str:
    """Run a command to completion; fail with its output when it does not exit 0."""
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout.strip()


def buildah(*args: str, timeout: float = 120.0) -> str:
    """Run one buildah command and return its stdout."""
    return run(["buildah", *args], timeout=timeout)


def image_exists(reference: str) -> bool:
    """Tell whether the local store holds ``reference``."""
    probe = ["buildah", "inspect", "--type", "image", reference]
    return subprocess.run(probe, capture_output=True, check=False, timeout=60).returncode == 0


def inspect_image(reference: str) -> dict[str, Any]:
    """Return buildah's JSON description of an image (OCIv1 and Docker configs)."""
    described: dict[str, Any] = json.loads(buildah("inspect", "--type", "image", reference))
    return described


@contextlib.contextmanager
def cache_lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock on CACHE/name, so two runs on one machine build a cache once."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / name).open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def base_image() -> str:
    """Return the debootstrapped base image, building it on this machine's first call."""
    recipe = " ".join((SUITE, "minbase", MIRROR, *BASE_PACKAGES))
    tag = f"localhost/acronis-task-exporter-test-base:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    if not image_exists(tag):
        with cache_lock("base.lock"):
            if not image_exists(tag):
                _debootstrap_image(tag)
    return tag


def _debootstrap_image(tag: str) -> None:
    container = buildah("from", "scratch")
    try:
        root = Path(buildah("mount", container))
        debs = CACHE / "debootstrap-debs"  # a rebuild after `buildah rmi` downloads nothing
        debs.mkdir(parents=True, exist_ok=True)
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                f"--cache-dir={debs}",
                SUITE,
                str(root),
                MIRROR,
            ],
            timeout=BUILD_TIMEOUT,
        )
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        buildah("umount", container)
        buildah("config", "--env", f"PATH={BASE_PATH}", "--cmd", "/bin/bash", container)
        buildah("commit", "--quiet", container, tag, timeout=BUILD_TIMEOUT)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False, timeout=120)


def wheelhouse() -> Path:
    """Return a folder with every locked wheel for the base's Python, downloaded once per lock."""
    machine = platform.machine()
    key = hashlib.sha256(b"".join(lock.read_bytes() for lock in LOCKS) + machine.encode()).hexdigest()[:16]
    target = CACHE / "wheelhouse" / key
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
    # The base's Python, not the host's: bookworm is CPython 3.11 on glibc 2.36.
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(17, 37)] + [f"manylinux2014_{machine}"]
    run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
            *(option for name in platforms for option in ("--platform", name)),
            "--dest", str(staging),
            *(option for lock in LOCKS for option in ("--requirement", str(lock))),
        ],
        timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    try:
        staging.rename(target)
    except OSError:  # another run finished the same download first
        shutil.rmtree(staging)
    return target


def build_image(tag: str, build_args: Mapping[str, str]) -> None:
    """Build the repository's Dockerfile, from its own context, offline, into ``tag``."""
    args = {
        "PYTHON_IMAGE": base_image(),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": WHEELHOUSE_IN_BUILD,
        **build_args,
    }
    buildah(
        "bud", "--isolation", "chroot", "--format", "docker", "--quiet", "--pull=never",
        "--volume", f"{wheelhouse()}:{WHEELHOUSE_IN_BUILD}:ro",
        *(option for name, value in args.items() for option in ("--build-arg", f"{name}={value}")),
        "--file", str(DOCKERFILE), "--tag", tag, str(REPO),
        timeout=BUILD_TIMEOUT,
    )  # fmt: skip


def run_in(container: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """Run ``argv`` in a working container as the image's configured user; return its stdout."""
    return buildah("run", *isolation_and_env(env), container, "--", *argv)


def isolation_and_env(env: Mapping[str, str] | None) -> list[str]:
    """Return the ``buildah run`` options every run here uses: chroot isolation, extra variables."""
    return ["--isolation", "chroot", *(f"--env={name}={value}" for name, value in (env or {}).items())]


def descendants(pid: int) -> list[int]:
    """Return every process below ``pid`` (chroot isolation keeps them in the host's PID space)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        below = children.get(pending.pop(), [])
        found += below
        pending += below
    return found


def process_ids(pid: int) -> tuple[int, int]:
    """Return the real uid and gid a host process runs as."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(status["Uid"].split()[0]), int(status["Gid"].split()[0])
