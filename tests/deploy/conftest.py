"""Fixtures shared by the deploy tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.deploy.live import Stack, running_stack

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One live stack for every deploy test that asks for it: starting it takes a minute."""
    with running_stack(tmp_path_factory.mktemp("live")) as running:
        yield running
