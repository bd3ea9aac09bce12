"""The reference's example bodies and a real response parse with the simulator's models."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from simulator.models import Activity, ActivityPage, ErrorBody, Task, TaskPage

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"  # shared/ sits beside the clone
pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"{SEEDS} is absent (it is present in CI)")


def reference_examples() -> list[Any]:
    """Return every ```json block of the API reference (seeds/000_*)."""
    text = next(SEEDS.glob("000_*.txt")).read_text()
    return [json.loads(block) for block in re.findall(r"```json(.*?)```", text, flags=re.DOTALL)]


def real_activities() -> Any:  # noqa: ANN401  a parsed response body
    """Return the pprint'd real activities response of seeds/004_* as a dict."""
    text = next(SEEDS.glob("004_*.txt")).read_text()
    return ast.literal_eval(text.split("pprint.pprint(response.json())", 1)[1].strip())


class TestReference:
    """seeds/000: the API reference."""

    def test_every_example_parses(self) -> None:
        """Each example is a task page, a task, an activity page, an activity or an error body."""
        parsed = {"TaskPage": 0, "Task": 0, "ActivityPage": 0, "Activity": 0, "ErrorBody": 0}
        for example in reference_examples():
            items = example.get("items", [{}])
            if "items" in example:
                model: Any = ActivityPage if "taskId" in items[0] else TaskPage
            elif "domain" in example:
                model = ErrorBody
            else:
                model = Activity if "taskId" in example else Task
            model.model_validate(example)
            parsed[model.__name__] += 1
        assert parsed == {"TaskPage": 1, "Task": 1, "ActivityPage": 1, "Activity": 1, "ErrorBody": 10}

    def test_full_task_example_is_all_known_fields(self) -> None:
        """The full Task example names no field the model lacks (extra fields are forbidden)."""
        task = next(e for e in reference_examples() if "ackTimeout" in e)
        dumped = Task.model_validate(task).model_dump(by_alias=True, exclude_unset=True)
        assert set(dumped) == set(task)


class TestRealResponse:
    """seeds/004: a real activities response."""

    def test_real_page_parses(self) -> None:
        """The real page parses, with its quirks: string payload, no tenant uuid, 64-bit ids."""
        page = ActivityPage.model_validate(real_activities())
        activity = page.items[0]
        assert activity.id == int(activity.id_string or "0") > 2**53
        assert activity.result is not None
        assert isinstance(activity.result.payload, str)
        assert activity.tenant is not None
        assert activity.tenant.uuid is None
