"""promtool on rules a test assembles: write them as one rule file and have promtool check it."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path


def assert_rules_pass(groups: Sequence[Mapping[str, Any]], path: Path, *, promtool: str) -> None:
    """Write ``groups`` to ``path`` as a rule file; fail with promtool's output unless it accepts them."""
    path.write_text(yaml.safe_dump({"groups": [dict(group) for group in groups]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
