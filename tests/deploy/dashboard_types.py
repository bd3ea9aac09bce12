"""Type-check dashboard JSON against Grafana's own TypeScript model (`@grafana/schema`) with `tsc`.

package.json pins `@grafana/schema` and `typescript`; `make tools` installs them into
node_modules with `npm ci`. When node_modules lacks them, `installed_tools` runs the same
`npm ci` into a cache directory keyed by package-lock.json, so a bare `pytest` works too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.deploy.paths import REPO, tool

PACKAGE_FILES = ("package.json", "package-lock.json")
# The schema's enums (FieldColorModeId, ThresholdsMode, MappingType, ...) are TypeScript
# string enums, which no JSON string literal is assignable to. AsJson<T> turns every enum
# into the union of its string values (`${Enum}`) and leaves every other check in place:
# required keys, unknown keys, null where none is allowed, wrong types.
AS_JSON = (
    "type AsJson<T> = T extends string ? `${T}`"
    " : T extends readonly (infer U)[] ? AsJson<U>[]"
    " : T extends object ? { [K in keyof T]: AsJson<T[K]> } : T;"
)
TSC_FLAGS = (
    "--noEmit",
    "--strict",
    "--module",
    "commonjs",
    "--moduleResolution",
    "node",
    "--target",
    "es2020",
)
_ERROR = re.compile(r"^(?P<file>[^\s(]+\.ts)\(\d+,\d+\): error ", re.MULTILINE)


def _complete(node_modules: Path) -> bool:
    return (node_modules / ".bin" / "tsc").exists() and (node_modules / "@grafana" / "schema").is_dir()


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "acronis-task-exporter" / "npm"


def installed_tools() -> Path:
    """Return a node_modules holding the pinned tools: the checkout's, or one `npm ci` made."""
    if _complete(REPO / "node_modules"):
        return REPO / "node_modules"
    digest = hashlib.sha256((REPO / "package-lock.json").read_bytes()).hexdigest()[:16]
    target = _cache_root() / digest
    if not _complete(target / "node_modules"):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent))
        for name in PACKAGE_FILES:
            shutil.copy(REPO / name, staging / name)
        result = subprocess.run(
            [tool("npm"), "ci", "--no-audit", "--no-fund"],
            cwd=staging,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        if _complete(target / "node_modules"):  # another worker finished first
            shutil.rmtree(staging, ignore_errors=True)
        else:
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
    return target / "node_modules"


def typescript_source(dashboard: dict[str, Any]) -> str:
    """Return a TypeScript module that assigns the dashboard JSON to a `Dashboard` variable."""
    return (
        "import { Dashboard } from '@grafana/schema';\n"
        f"{AS_JSON}\n"
        f"const dashboard: AsJson<Dashboard> = {json.dumps(dashboard, indent=2)};\n"
        "export default dashboard;\n"
    )


def type_errors(dashboards: dict[str, dict[str, Any]], node_modules: Path, workdir: Path) -> dict[str, str]:
    """Run `tsc --noEmit --strict` over one module per dashboard; return its errors by dashboard name."""
    (workdir / "node_modules").symlink_to(node_modules, target_is_directory=True)
    files = []
    for name, dashboard in dashboards.items():
        (workdir / f"{name}.ts").write_text(typescript_source(dashboard))
        files.append(f"{name}.ts")
    result = subprocess.run(
        [str(node_modules / ".bin" / "tsc"), *TSC_FLAGS, *files],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    errors = dict.fromkeys(dashboards, "")
    for block in re.split(r"(?m)^(?=\S+\.ts\(\d+,\d+\): error )", output):
        match = _ERROR.match(block)
        if match is not None:
            errors[match["file"].removesuffix(".ts")] += block
    assert result.returncode == 0 or any(errors.values()), output  # tsc failed without a type error
    return errors
