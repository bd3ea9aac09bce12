"""Fetch again what one poll cycle fetched, and time decoding it with the standard ``json``.

The exporter's CPU per item means little alone; beside it stands the cost of only
decoding the same bytes with ``json.loads``, the floor any Python client pays. The replay
re-sends the cycle's count queries and first pages and follows each cursor chain, right
after the cycle, so the bytes are the cycle's bytes give or take what completed meanwhile.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from exporter.models import parse_activity, parse_task

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from bench.traffic import Walk

_DECODE_REPEATS = 5  # the fastest of several runs: the floor, free of scheduler noise


@dataclass(frozen=True)
class Replay:
    """The bodies of one cycle and what decoding them costs."""

    responses: int
    response_bytes: int
    items: int  # listed tasks and activities, the "items processed" of the CPU figure
    decode_cpu_seconds: float  # json.loads over every body, once
    # json.loads plus the exporter's own item parser (exporter.models) over every item: how
    # much of the exporter's CPU its tolerant parsing explains, beside HTTP and grouping.
    parse_cpu_seconds: float


@dataclass(frozen=True)
class Credentials:
    """The API client the harness replays as (the simulator's demo client)."""

    client_id: str
    client_secret: str


def replay(base_url: str, credentials: Credentials, walks: Sequence[Walk]) -> Replay:
    """Re-send a cycle's walks as far as the exporter went, and time decoding what comes back."""
    with httpx.Client(base_url=base_url, timeout=120.0) as client:
        client.headers["Authorization"] = f"Bearer {fetch_token(client, credentials)}"
        pages = [
            (_PARSERS.get(one.path.rstrip("/").rsplit("/", 1)[-1], _ignore), body)
            for one in walks
            for body in walk(client, one)
        ]
    bodies = [body for _, body in pages]
    return Replay(
        responses=len(bodies),
        response_bytes=sum(len(body) for body in bodies),
        items=sum(len(json.loads(body).get("items") or []) for body in bodies),
        decode_cpu_seconds=_fastest(lambda: [json.loads(body) for body in bodies]),
        parse_cpu_seconds=_fastest(lambda: [_parse(parser, body) for parser, body in pages]),
    )


def _fastest(action: Callable[[], object]) -> float:
    """CPU seconds `action` takes, fastest of a few runs."""
    runs = []
    for _ in range(_DECODE_REPEATS):
        started = time.thread_time()  # this thread only: the in-process simulator has its own
        action()
        runs.append(time.thread_time() - started)
    return min(runs)


def _parse(parser: Callable[[object], object], body: bytes) -> list[object]:
    return [parser(item) for item in json.loads(body).get("items") or []]


def _ignore(_raw: object) -> None:
    """Stand in for a parser where a response holds no items (count queries)."""


_PARSERS: dict[str, Callable[[object], object]] = {"tasks": parse_task, "activities": parse_activity}


def fetch_token(client: httpx.Client, credentials: Credentials) -> str:
    """Mint an access token with the client-credentials grant."""
    response = client.post(
        "/api/2/idp/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.client_secret),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def walk(client: httpx.Client, one: Walk) -> Iterator[bytes]:
    """Yield the body of the walk's first request and of the later pages its cursor leads to."""
    response = _get(client, one.path, one.query)
    seen: set[str] = set()
    for _ in range(one.pages - 1):
        yield response.content
        page = response.json()
        after = _after(page)
        if not page.get("items") or not after or after in seen:
            return
        seen.add(after)
        response = _get(client, one.path, [("after", after), *_paging(one.query)])
    yield response.content


def _get(client: httpx.Client, path: str, query: Sequence[tuple[str, str]]) -> httpx.Response:
    response = client.get(path, params=list(query))
    response.raise_for_status()
    return response


def _paging(query: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the first page's limit and lod, the only parameters a later page may repeat."""
    return [(name, value) for name, value in query if name in ("limit", "lod")]


def _after(page: dict[str, object]) -> str:
    for holder in (page.get("paging"), page):  # API notes: paging.cursors.after, else cursors.after
        cursors = holder.get("cursors") if isinstance(holder, dict) else None
        after = cursors.get("after") if isinstance(cursors, dict) else None
        if isinstance(after, str) and after:
            return after
    return ""
