"""The README's Astra Control questions answer against the live stack (both simulators).

The stack's exporter polls the Acronis simulator and a live Astra Control simulator; a real
Prometheus scrapes it. Each Astra recipe must parse and return data, and "is Astra polled"
must answer 1: the stack's Astra source is healthy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.deploy.live import DATA_TIMEOUT
from tests.support.cookbook import readme_recipes

if TYPE_CHECKING:
    from tests.deploy.live import Stack

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


def astra_cookbook() -> list[tuple[str, str]]:
    """Return (question, query) for each recipe between the README's Astra cookbook markers."""
    return readme_recipes("astra-cookbook")


def test_the_astra_cookbook_asks_the_operators_questions() -> None:
    """Is Astra polled, which share failed, which task is stuck."""
    questions = " ".join(question for question, _ in astra_cookbook()).lower()
    for topic in ("polled", "failed", "stuck"):
        assert topic in questions, topic


@pytest.mark.parametrize(("question", "query"), astra_cookbook(), ids=[q for q, _ in astra_cookbook()])
def test_each_astra_recipe_returns_data(stack: Stack, question: str, query: str) -> None:
    """Each query parses and, against the live Astra workload, returns at least one series."""
    del question  # the test id
    assert stack.prometheus.wait_for(query, timeout=DATA_TIMEOUT)


def test_astra_is_polled_in_the_live_stack(stack: Stack) -> None:
    """The stack's exporter lists Astra Control's tasks: astra_control_up reads 1."""
    samples = stack.prometheus.wait_for("astra_control_up == 1", timeout=DATA_TIMEOUT)
    assert [sample.value for sample in samples] == [1.0]
