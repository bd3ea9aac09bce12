"""The NetApp Astra Control task API client: list tasks page by page, bearer API token.

It shares the Acronis client's plumbing (``transport``: TLS, the whole-request deadline,
the byte-capped reply; ``retry``: retries, Retry-After and its own ThrottleGate, so a 429
from Astra never holds Acronis requests back; ``payloads``: tolerant JSON) and maps every
failure onto the same ``errors`` tree, so the source's failure reasons are the same closed
vocabulary. Requests are labelled ``/astra/tasks`` in the self-metrics.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

import httpx

from exporter import logs
from exporter.errors import ApiError, ApiUnavailable, AuthError, BadPayload, PaginationError, PermissionDenied
from exporter.payloads import BodyError, SentCursors, decode_json, page_items
from exporter.redaction import SecretRegistry
from exporter.retry import Retry, RetryPolicy
from exporter.status_codes import code_label
from exporter.transport import count_failure, error_code, get_reply, http_client, http_date

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator, Sequence

    from exporter.astra_config import AstraSettings
    from exporter.config import ApiSettings
    from exporter.pages import RawItem
    from exporter.selfmetrics import SelfMetrics

ENDPOINT: Final = "/astra/tasks"  # the self-metrics' endpoint label of every Astra request
_DETAIL_MAX: Final = 200
_log = logs.get_logger(component="astra_client")


class AstraPage(list["RawItem"]):
    """The items of one listing reply, and the API's time (its Date)."""

    def __init__(self, items: list[RawItem], *, server_time: float | None) -> None:
        super().__init__(items)
        self.server_time = server_time


class _TokenAuth(httpx.Auth):
    """The API token, read on every request (a rotated token file is picked up)."""

    def __init__(self, astra: AstraSettings, secrets: SecretRegistry) -> None:
        self._astra, self._secrets = astra, secrets

    def __repr__(self) -> str:
        return "AstraTokenAuth(token=**********)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._astra.resolved_token()
        if token is not None:
            self._secrets.register(token)  # a rotated token is a secret too
            request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        yield request


class AstraClient:
    """Reads an account's task listing; safe to share between threads."""

    def __init__(  # noqa: PLR0913 - settings, metrics, and the test seams of TaskManagerClient
        self,
        astra: AstraSettings,
        api: ApiSettings,
        metrics: SelfMetrics,
        *,
        transport: httpx.BaseTransport | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        secrets: SecretRegistry | None = None,
    ) -> None:
        # Timeouts, retries and the reply cap are api.*'s; the URL and TLS are astra.*'s.
        self._api = api.model_copy(
            update={
                "url": astra.url,
                "ca_file": astra.ca_file,
                "insecure_skip_verify": astra.insecure_skip_verify,
            }
        )
        self._secrets = secrets if secrets is not None else SecretRegistry()
        self._metrics = metrics
        self._stop = stop or threading.Event()
        self._retry = RetryPolicy(self._api, metrics, stop=self._stop, rng=rng or random.Random())  # noqa: S311
        if astra.insecure_skip_verify:
            _log.warning(
                "tls_verification_disabled", url=astra.base_url, setting="astra.insecure_skip_verify"
            )
        account = quote(astra.account_id or "", safe="")
        self._path = f"/accounts/{account}/core/v1/tasks"
        self._http = http_client(
            self._api,
            connections=2,
            transport=transport,
            base_url=astra.base_url,
            auth=_TokenAuth(astra, self._secrets),
            event_hooks={"request": [self._admit], "response": [self._count_response]},
            tls_section="astra",  # its CA file is astra.ca_file's, copied into api above
        )

    def stop_sending(self) -> None:
        """Stop every request from going out from now on (shutdown)."""
        self._retry.gate.stop_sending()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def iter_pages(self, *, limit: int, max_pages: int) -> Iterator[AstraPage]:
        """Yield every page of the task listing, following ``metadata.continue`` to the end.

        No ``continue`` (or an empty one) ends the walk, and only that: a page without items
        but with a ``continue`` is followed (``max_pages`` still bounds the walk). A repeated
        ``continue``, one that is not a string, ``metadata`` that is not an object, or more
        pages than ``max_pages`` fail the walk: a partial listing must never pass for a whole one.
        """
        query: list[tuple[str, str]] = [("limit", str(limit))]
        sent = SentCursors()
        for _ in range(max_pages):
            body, date = self._request(query)
            items = page_items(body, ENDPOINT)
            yield AstraPage(items, server_time=http_date(date))
            token = _continuation(body)
            if token is None:
                return
            if not sent.first_time(token):
                raise PaginationError(f"GET {ENDPOINT}: the API repeated a continue token")
            query = [("limit", str(limit)), ("continue", token)]
        raise PaginationError(f"GET {ENDPOINT}: still more pages after {max_pages} (api.max_pages)")

    def _request(self, params: Sequence[tuple[str, str]]) -> tuple[object, str | None]:
        try:
            return self._retry.run(ENDPOINT, lambda: self._attempt(params))  # type: ignore[return-value]
        except ApiError as error:
            count_failure(self._metrics, ENDPOINT, error)
            raise

    def _attempt(self, params: Sequence[tuple[str, str]]) -> tuple[object, str | None]:
        response = get_reply(
            self._http,
            self._path,
            params,
            endpoint=ENDPOINT,
            api=self._api,
            stop=self._stop,
            metrics=self._metrics,
        )
        return self._interpret(response), response.headers.get("Date")

    def _interpret(self, response: httpx.Response) -> object:
        status = response.status_code
        if status < 300:  # noqa: PLR2004 - the 2xx range
            try:
                return decode_json(response.content)
            except BodyError as error:
                raise BadPayload(
                    f"GET {ENDPOINT}: HTTP {status} body is {error}", reason="decode", status=status
                ) from None
        detail = error_code(response, keys=("title",), limit=_DETAIL_MAX, secrets=self._secrets)
        message = f"GET {ENDPOINT}: HTTP {status}{detail}"
        if status == 429 or (status == 503 and "Retry-After" in response.headers):  # noqa: PLR2004
            self._retry.throttled(
                ENDPOINT, status, message, response.headers.get("Retry-After"), response.headers.get("Date")
            )
        if status >= 500:  # noqa: PLR2004
            raise Retry(ApiUnavailable(message, status=status))
        if status == 401:  # noqa: PLR2004
            raise AuthError(f"{message}: Astra Control refused the API token", status=status)
        if status == 403:  # noqa: PLR2004
            raise PermissionDenied(
                f"{message}: the API token may not read this account's tasks", status=status
            )
        raise ApiError(message, reason="http_4xx", status=status)

    def _admit(self, request: httpx.Request) -> None:
        del request
        self._retry.gate.admit(ENDPOINT)

    def _count_response(self, response: httpx.Response) -> None:
        self._metrics.api_requests.labels(endpoint=ENDPOINT, code=code_label(response.status_code)).inc()


def _continuation(body: object) -> str | None:
    """Return the next page's token; None only when ``metadata.continue`` is absent or ""."""
    metadata = body.get("metadata", {}) if isinstance(body, dict) else {}
    if not isinstance(metadata, dict):
        message = f"GET {ENDPOINT}: listing reply's metadata is not an object"
        raise BadPayload(message, reason="shape", status=200)
    token = metadata.get("continue", "")
    if not isinstance(token, str):
        # Reading it as "no more pages" would pass the pages walked so far off as the whole listing.
        raise PaginationError(f"GET {ENDPOINT}: metadata.continue is a {type(token).__name__}, not a string")
    return token or None
