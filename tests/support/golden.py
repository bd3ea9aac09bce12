"""Golden files: compare a rendering with tests/golden/<name>, or rewrite it on --update-golden."""

from __future__ import annotations

import difflib
from pathlib import Path

GOLDEN = Path(__file__).parent.parent / "golden"


def assert_golden(name: str, actual: str, *, update: bool) -> None:
    """Compare with tests/golden/<name>, or rewrite it when --update-golden is given."""
    path = GOLDEN / name
    if update:
        path.write_text(actual)
        return
    expected = path.read_text()
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True), name, "actual"
        )
    )
    assert actual == expected, f"{name} differs (run pytest --update-golden if intended):\n{diff}"
