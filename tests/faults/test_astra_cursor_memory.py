"""A walk of empty Astra pages, each with a fresh 60 KB ``continue``, holds no token it has followed.

The walk remembers what it sent to catch a repeated token; it must do so in a fixed size per
page, or an API that pages through nothing grows the exporter by every token (2,000 pages of
60 KB: 120 MB for a walk that yields no item). The client walks a small stub over real HTTP;
tracemalloc measures what the paused walk still holds.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc
import urllib.parse
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry

from exporter.astra_client import AstraClient
from exporter.astra_config import AstraSettings
from exporter.config_sections import ApiSettings
from exporter.errors import PaginationError
from exporter.selfmetrics import SelfMetrics
from tests.support.json_stub import JsonHandler, JsonStub

if TYPE_CHECKING:
    from collections.abc import Iterator

PAGES = 100
TOKEN_CHARS = 60_000  # under the stub's 64 KiB request line, as under many servers'
HELD_MAX = 1 << 20  # bytes; the tokens themselves would be 6 MB


class EndlessEmptyPages(JsonStub):
    """Every listing page is empty and has a new ``continue``; with ``repeat`` the same one each time."""

    def __init__(self) -> None:
        self.repeat = False
        counter, lock, owner = [0], threading.Lock(), self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                with lock:
                    counter[0] += 1
                    number = 0 if owner.repeat else counter[0]
                token = f"{number:08d}" + "c" * TOKEN_CHARS
                self.send_json(200, {"items": [], "metadata": {"continue": token}})

        super().__init__(Handler)


@pytest.fixture
def client() -> Iterator[tuple[AstraClient, EndlessEmptyPages]]:
    """Give the test an Astra client of the stub."""
    with EndlessEmptyPages() as stub:
        astra = AstraSettings(url=stub.url, account_id="acct", token="astra-memory-Token-7d2f")  # noqa: S106
        api = AstraClient(astra, ApiSettings(), SelfMetrics(CollectorRegistry()))
        yield api, stub
        api.close()


Stubbed = tuple[AstraClient, EndlessEmptyPages]


def test_a_walk_of_empty_pages_holds_no_continue_token(client: Stubbed) -> None:
    """After 100 pages of 60 KB tokens the walk holds far less than one megabyte."""
    api, _ = client
    walk = api.iter_pages(limit=100, max_pages=PAGES + 1)
    next(walk)  # connection, client and first reply set up before measuring
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(PAGES - 1):
            assert next(walk) == []
        # Not the walk's: the stdlib caches the last 128 URLs it split (httpx's cookie handling
        # splits each), a bounded cache, and cycles wait for the collector.
        urllib.parse.clear_cache()  # type: ignore[attr-defined]  # in the stdlib, not its stubs
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        walk.close()  # type: ignore[attr-defined]  # a generator
    assert held < HELD_MAX


def test_a_repeated_token_still_fails_the_walk(client: Stubbed) -> None:
    """Digests in place of tokens still tell a repeat: the walk fails instead of following it."""
    api, stub = client
    stub.repeat = True
    with pytest.raises(PaginationError, match="repeated a continue token"):
        list(api.iter_pages(limit=100, max_pages=PAGES))
