"""A tiny httpx client for contract tests: token, GET, and walking every page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from tests.support.processes import WaitTimeoutError
from tests.support.processes import wait_until as support_wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from simulator import RunningSimulator

API = "/api/task_manager/v2"
Params = list[tuple[str, str]]


class Api:
    """Talks to one simulator the way the exporter will: Basic auth for a token, then Bearer."""

    def __init__(self, sim: RunningSimulator) -> None:
        self.sim = sim
        self.http = httpx.Client(base_url=sim.url, timeout=30)
        self._token: str | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def token_response(self, **form: str) -> httpx.Response:
        """POST the token endpoint with client credentials (unless `form` says otherwise)."""
        auth = (self.sim.config.client_id, self.sim.config.client_secret)
        return self.http.post(
            "/api/2/idp/token", data={"grant_type": "client_credentials", **form}, auth=auth
        )

    def token(self, *, fresh: bool = False) -> str:
        """Return a cached bearer token, minting one first if needed."""
        if self._token is None or fresh:
            reply = self.token_response()
            reply.raise_for_status()
            self._token = str(reply.json()["access_token"])
        return self._token

    def get(self, path: str, params: Params | None = None, token: str | None = None) -> httpx.Response:
        """GET an API path (relative to /api/task_manager/v2) with a bearer token."""
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        return self.http.get(API + path, params=tuple(params or ()), headers=headers)

    def json(self, path: str, params: Params | None = None) -> Any:  # noqa: ANN401  any JSON body
        """GET and return the JSON body of a 200."""
        reply = self.get(path, params)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def pages(self, path: str, params: Params, limit: int) -> Iterator[dict[str, Any]]:
        """Yield every page of a listing, following `after` with only `limit` and `lod`."""
        lod = [(k, v) for k, v in params if k == "lod"]
        page = self.json(path, [*params, ("limit", str(limit))])
        while True:
            yield page
            after = after_of(page)
            if not after:
                return
            page = self.json(path, [("after", after), ("limit", str(limit)), *lod])

    def walk(self, path: str, params: Params, limit: int = 7) -> list[dict[str, Any]]:
        """Return every item of a listing, in served order."""
        return [item for page in self.pages(path, params, limit) for item in page["items"]]


def after_of(page: dict[str, Any]) -> str | None:
    """Read the next-page cursor wherever it is placed."""
    cursors = (page.get("paging") or {}).get("cursors") or page.get("cursors") or {}
    after = cursors.get("after")
    return str(after) if after else None


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Say whether `predicate` came to hold within `timeout` seconds (tests.support's wait)."""
    try:
        support_wait_until(predicate, timeout=timeout, what="a simulator condition")
    except WaitTimeoutError:
        return False
    return True
