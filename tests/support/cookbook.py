"""The README's PromQL cookbooks, read as (question, query) recipes for the tests that run them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

README: Final = Path(__file__).resolve().parents[2] / "README.md"


def readme_recipes(marker: str) -> list[tuple[str, str]]:
    """Return (question, query) for each recipe between ``<!-- {marker}:start/end -->`` in the README.

    The block's one promql fence holds recipes separated by blank lines; a recipe's ``#``
    lines are its question, the rest its query.
    """
    text = README.read_text(encoding="utf-8")
    block = text.split(f"<!-- {marker}:start -->", 1)[1].split(f"<!-- {marker}:end -->", 1)[0]
    body = re.search(r"```promql\n(.*?)```", block, re.DOTALL)
    assert body, f"the README's {marker} has no promql block"
    recipes = []
    for chunk in body.group(1).strip().split("\n\n"):
        lines = chunk.splitlines()
        question = " ".join(line.lstrip("# ") for line in lines if line.startswith("#"))
        recipes.append((question, "\n".join(line for line in lines if not line.startswith("#"))))
    return recipes
