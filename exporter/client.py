"""The Task Manager HTTP client: endpoints, pagination and error mapping.

It knows nothing of tokens (that is ``auth.py``'s ``httpx.Auth``; after a 401, read like any
reply under ``transport``'s caps, it only asks the auth whether to resend once) and leaves
the decision to try again to ``retry.py``. ``_attempt`` is the one place that sends: it maps
every failure onto the ``errors`` tree, marking the ones worth another attempt as ``Retry``.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Final, Literal, Self

from exporter import logs
from exporter.auth import OAuth2Auth
from exporter.errors import ApiError, ApiUnavailable, AuthError, BadPayload, PaginationError, PermissionDenied
from exporter.pages import Page
from exporter.payloads import BodyError, SentCursors, cursor_after, decode_json, page_items
from exporter.redaction import SecretRegistry
from exporter.retry import Retry, RetryPolicy
from exporter.status_codes import code_label
from exporter.transport import USER_AGENT as USER_AGENT  # noqa: PLC0414 - still importable from here
from exporter.transport import count_failure, endpoint_of, error_code, get_reply, http_client, http_date
from exporter.typed_decode import TypedListing, decode_listing

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from types import TracebackType

    import httpx

    from exporter.config import ApiSettings
    from exporter.selfmetrics import SelfMetrics

Resource = Literal["tasks", "activities"]
API_PREFIX: Final = "/api/task_manager/v2"
VIEWER_SCOPE: Final = "urn:acronis.com::task_manager::viewer"
_COUNT_KEYS: Final = ("count", "total", "size")
_COUNT_MAX: Final = 2**53  # beyond it a count no longer survives the float it is rendered as
_DETAIL_MAX: Final = 200  # characters of an API error's code/reason we repeat in our message
_KEY_SHOWN: Final = 60  # characters of a reply's JSON key, or its Content-Type, that we show

_log = logs.get_logger(component="client")


class TaskManagerClient:
    """Reads Task Manager v2 listings, counts and items; safe to share between threads."""

    def __init__(  # noqa: PLR0913 - the contract's signature: settings, auth, metrics, and test seams
        self,
        api: ApiSettings,
        auth: httpx.Auth,
        metrics: SelfMetrics,
        *,
        transport: httpx.BaseTransport | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        secrets: SecretRegistry | None = None,
    ) -> None:
        self._api, self._auth = api, auth
        self._secrets = secrets if secrets is not None else SecretRegistry()  # scrubs error codes
        self._metrics = metrics
        rng = rng or random.Random()  # noqa: S311 - backoff jitter, not cryptography
        self._stop = stop or threading.Event()
        self._retry = RetryPolicy(api, metrics, stop=self._stop, rng=rng)
        if api.insecure_skip_verify:
            _log.warning("tls_verification_disabled", url=api.base_url, setting="api.insecure_skip_verify")
        self._http = http_client(
            api,
            connections=api.concurrency,
            transport=transport,
            base_url=api.base_url + API_PREFIX,
            auth=auth,
            event_hooks={"request": [self._admit], "response": [self._count_response, self._note_date]},
        )
        self._last_reply = threading.local()  # the Date of this thread's latest reply
        self._urls: dict[str, httpx.URL] = {}  # per path: httpx parses a relative one thrice a request

    def _url(self, path: str) -> httpx.URL:
        """Return ``path`` under the client's base URL, as httpx would merge it, built once per path."""
        url = self._urls.get(path)
        if url is None:
            base = self._http.base_url
            url = base.copy_with(raw_path=base.raw_path + path.lstrip("/").encode("ascii"))
            self._urls[path] = url
        return url

    def stop_sending(self) -> None:
        """Stop every request from going out from now on (shutdown); waits in progress end at once."""
        self._retry.gate.stop_sending()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- The API ------------------------------------------------------------------------

    def count(self, resource: Resource, params: Sequence[tuple[str, str]] = ()) -> int:
        """Return how many items match the filters (lod=count; repeated keys for several values)."""
        body = self._request(f"/{resource}", f"/{resource}", [("lod", "count"), *params])
        if isinstance(body, dict):
            for key in _COUNT_KEYS:
                value = body.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    return _plausible_count(resource, value)
            if isinstance(body.get("items"), list):
                keys = [self._secrets.clip(key, _KEY_SHOWN) for key in sorted(body)[:10]]
                _log.warning("count_from_items", endpoint=f"/{resource}", keys=keys)
                return len(body["items"])
        raise BadPayload(f"GET /{resource}: lod=count reply holds no count", reason="shape", status=200)

    def iter_pages(  # noqa: PLR0913  the listing, its paging, and how a spent page budget ends
        self,
        resource: Resource,
        params: Sequence[tuple[str, str]] = (),
        *,
        lod: str,
        limit: int | None = None,
        max_pages: int | None = None,
        partial: bool = False,
    ) -> Iterator[Page]:
        """Yield every page of a listing, following `after` cursors to the end.

        Raises PaginationError when a cursor repeats or the walk outgrows `max_pages`: an
        incomplete walk must never pass for a complete one. With ``partial`` the walk just
        stops after `max_pages`, and the last page's ``more`` tells the caller so.
        """
        endpoint, page_limit = f"/{resource}", str(limit or self._api.page_size)
        budget = max_pages or self._api.max_pages
        query: list[tuple[str, str]] = [("limit", page_limit), ("lod", lod), *params]
        sent = SentCursors()
        for page_number in range(1, budget + 1):
            self._last_reply.date = None
            body = self._request(endpoint, endpoint, query, listing=resource)
            if isinstance(body, TypedListing):
                items, after = body.items, body.after
            else:
                items, after = page_items(body, endpoint), cursor_after(body, endpoint)
            if items:
                yield Page(items, more=bool(after), server_time=http_date(self._last_reply.date))
            if not items or not after:
                return
            if not sent.first_time(after):
                raise PaginationError(f"GET {endpoint}: the API repeated a cursor after {page_number} pages")
            # API notes: the cursor encodes the query, so later pages carry no filters.
            query = [("after", after), ("limit", page_limit), ("lod", lod)]
        if partial:
            return
        raise PaginationError(f"GET {endpoint}: still more pages after {budget} (api.max_pages)")

    # --- Sending --------------------------------------------------------------------------

    def _request(
        self, endpoint: str, path: str, params: Sequence[tuple[str, str]], *, listing: Resource | None = None
    ) -> object:
        """Send one GET, retried as the policy decides; return its decoded JSON or raise an ApiError.

        A ``listing`` reply comes back as a ``TypedListing`` when the fast path could read it.
        """
        try:
            return self._retry.run(endpoint, lambda: self._attempt(endpoint, path, params, listing))
        except ApiError as error:
            count_failure(self._metrics, endpoint, error)
            raise

    def _attempt(
        self, endpoint: str, path: str, params: Sequence[tuple[str, str]], listing: Resource | None
    ) -> object:
        response = self._get(endpoint, path, params)
        # A 401 earns one resend with a replacement token, decided on the status of a reply
        # read through get_reply's caps: httpx's own auth resend would read the 401 unbounded.
        auth = self._auth
        if response.status_code == 401 and isinstance(auth, OAuth2Auth) and auth.renew(response.request):  # noqa: PLR2004
            response = self._get(endpoint, path, params)
            if response.status_code == 401:  # noqa: PLR2004
                auth.refused_again(response.request)
        return self._interpret(endpoint, response, listing)

    def _get(self, endpoint: str, path: str, params: Sequence[tuple[str, str]]) -> httpx.Response:
        return get_reply(
            self._http,
            self._url(path),
            params,
            endpoint=endpoint,
            api=self._api,
            stop=self._stop,
            metrics=self._metrics,
        )

    def _interpret(self, endpoint: str, response: httpx.Response, listing: Resource | None = None) -> object:
        status = response.status_code
        if status < 300:  # noqa: PLR2004 - the 2xx range
            # A page the fast path cannot vouch for goes the tolerant way, with its skips.
            typed = None if listing is None else decode_listing(listing, response.content)
            return typed if typed is not None else _decode(endpoint, response, self._secrets)
        detail = error_code(
            response, keys=("code", "reason", "error"), limit=_DETAIL_MAX, secrets=self._secrets
        )
        if status == 429 or (status == 503 and "Retry-After" in response.headers):  # noqa: PLR2004
            message = f"GET {endpoint}: HTTP {status}{detail}"
            self._retry.throttled(
                endpoint, status, message, response.headers.get("Retry-After"), response.headers.get("Date")
            )
        if status >= 500:  # noqa: PLR2004 - the 5xx range
            raise Retry(ApiUnavailable(f"GET {endpoint}: HTTP {status}{detail}", status=status))
        if status == 401:  # noqa: PLR2004 - auth already tried one fresh token
            raise AuthError(f"GET {endpoint}: HTTP 401: the API refused a fresh token{detail}", status=status)
        if status == 403:  # noqa: PLR2004
            raise PermissionDenied(
                f"GET {endpoint}: HTTP 403: the API client needs the {VIEWER_SCOPE} "
                "(or urn:acronis.com::task_manager::admin) scope",
                status=status,
            )
        raise ApiError(f"GET {endpoint}: HTTP {status}{detail}", reason="http_4xx", status=status)

    def _admit(self, request: httpx.Request) -> None:
        """Check the throttle gate and the stop switch at the last moment before the wire."""
        self._retry.gate.admit(endpoint_of(request.url.path))

    def _count_response(self, response: httpx.Response) -> None:
        """Count every HTTP exchange, including the one auth repeats after a 401."""
        endpoint = endpoint_of(response.request.url.path)
        self._metrics.api_requests.labels(endpoint=endpoint, code=code_label(response.status_code)).inc()

    def _note_date(self, response: httpx.Response) -> None:
        """Remember the reply's Date for the page being fetched on this thread (the last reply wins)."""
        self._last_reply.date = response.headers.get("Date")


def _decode(endpoint: str, response: httpx.Response, secrets: SecretRegistry) -> object:
    try:
        return decode_json(response.content)
    except BodyError as error:
        kind = secrets.clip(response.headers.get("Content-Type", "no content type").split(";")[0], _KEY_SHOWN)
        raise BadPayload(
            f"GET {endpoint}: HTTP {response.status_code} body is {error} ({kind}, "
            f"{len(response.content)} bytes)",
            reason="decode",
            status=response.status_code,
        ) from None


def _plausible_count(resource: str, value: int) -> int:
    """Return a count the API could mean: negative or past 2**53 (where floats blur) it cannot."""
    if not 0 <= value <= _COUNT_MAX:
        raise BadPayload(f"GET /{resource}: lod=count reply holds an impossible count", reason="shape")
    return value
