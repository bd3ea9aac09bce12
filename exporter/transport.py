"""What the exporter's HTTP clients share: TLS, timeouts, bounded replies, and reading replies.

Both clients (the Task Manager one and the token endpoint's) keep ``deadline``'s request
deadline, so every request is bounded as a whole by ``api.timeout``, and read every reply
through ``read_reply``, so no reply can hold more than its byte cap in memory. Both name
endpoints with ``endpoint_of``, read a reply's Date with ``http_date`` and an error
reply's code with ``error_code``. The Task Manager and Astra clients send every GET through
``get_reply`` and count a request that failed for good with ``count_failure``.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import re
import time
from typing import TYPE_CHECKING, Any, Final

import httpx

from exporter import PRODUCT, __version__, tls
from exporter.deadline import keep_deadlines, request_deadline
from exporter.errors import ApiError, ApiUnavailable, AuthError, BadPayload, ConfigError
from exporter.payloads import BodyError, decode_json
from exporter.replies import ACCEPT_ENCODING, ReplyTooLarge, ReplyUnreadable, read_capped
from exporter.retry import Retry

if TYPE_CHECKING:
    import ssl
    import threading
    from collections.abc import Callable, Mapping, Sequence

    from exporter.config import ApiSettings
    from exporter.redaction import SecretRegistry
    from exporter.selfmetrics import SelfMetrics

USER_AGENT: Final = f"{PRODUCT}/{__version__}"
_PROXY_VARIABLES: Final = "ALL_PROXY/HTTPS_PROXY/HTTP_PROXY"
_HEADERS: Final = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING}

ERROR_REPLY_MAX: Final = 64 * 1024  # bytes of an error reply we read: only its code is ever shown
_ENDPOINT_OF_PATH: Final = re.compile(r"^.*?/(tasks|activities)(/[^/]+)?/?$")
# Label values the failure counter allows (METRICS.md); other reasons fold into these.
_FAILURE_REASON: Final = {"auth": "http_4xx", "forbidden": "http_4xx", "shape": "decode"}


class NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing (the API needs no cookie).

    An API that set a new cookie on every reply would otherwise grow the jar, and every
    request carrying it back, without bound.
    """

    def extract_cookies(self, response: object, request: object) -> None:
        """Keep no cookie a reply sets."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        """Keep no cookie."""


def tls_verify(api: ApiSettings, section: str = "api") -> ssl.SSLContext | bool:
    """Return what httpx should verify the API's certificate with (``section``: whose settings)."""
    if api.insecure_skip_verify:
        return False
    if api.ca_file is not None:
        return tls.client_context(api.ca_file, setting=f"{section}.ca_file")  # names the file and setting
    return True


def http_timeout(api: ApiSettings) -> httpx.Timeout:
    """Return httpx's per-operation timeouts; ``request_deadline`` bounds the whole request."""
    return httpx.Timeout(api.timeout, connect=min(api.connect_timeout, api.timeout))


def http_client(  # noqa: PLR0913 - httpx.Client keywords the two clients differ in
    api: ApiSettings,
    *,
    connections: int,
    transport: httpx.BaseTransport | None,
    base_url: str = "",
    auth: httpx.Auth | None = None,
    event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    tls_section: str = "api",
) -> httpx.Client:
    """Build a client for the API (``transport``: a test's, else httpx's own, env proxies honoured).

    ``tls_section`` names the settings the TLS options came from, for the errors.
    """
    verify, timeout = tls_verify(api, tls_section), http_timeout(api)  # their errors name the setting
    try:
        client = httpx.Client(
            base_url=base_url,
            auth=auth,
            event_hooks=event_hooks,
            timeout=timeout,
            verify=verify,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            headers=_HEADERS,
            cookies=NoCookies(),
            transport=transport,
        )
    # httpx reads the proxy variables itself. Its errors quote the URL, password and all.
    except ImportError:  # SOCKS needs a package that is not shipped
        message = f"a SOCKS proxy in {_PROXY_VARIABLES} is not supported: use an HTTP(S) proxy"
        raise ConfigError(message) from None
    except (httpx.InvalidURL, ValueError):
        raise ConfigError(f"a proxy URL in {_PROXY_VARIABLES} is malformed or of an unknown scheme") from None
    return keep_deadlines(client)


def read_reply(streamed: httpx.Response, *, cap: int, what: str) -> httpx.Response:
    """Read a streamed reply: a 2xx one whole under ``cap``, an error one only its first bytes.

    ``what`` names the request in the error (``GET /tasks``, ``token endpoint at host``).
    Raises BadPayload with reason ``too_large`` over the cap, ``decode`` for an encoding
    we did not ask for.
    """
    ok = streamed.status_code < 300  # noqa: PLR2004 - the 2xx range
    limit = cap if ok else ERROR_REPLY_MAX
    try:
        return read_capped(streamed, limit, truncate=not ok)
    except ReplyTooLarge:
        message = f"{what}: reply larger than {limit} bytes"
        raise BadPayload(message, reason="too_large", status=streamed.status_code) from None
    except ReplyUnreadable as exc:
        raise BadPayload(f"{what}: {exc}", reason="decode", status=streamed.status_code) from None


def get_reply(  # noqa: PLR0913 - the request, and the settings and switches that bound it
    http: httpx.Client,
    path: str | httpx.URL,
    params: Sequence[tuple[str, str]],
    *,
    endpoint: str,
    api: ApiSettings,
    stop: threading.Event,
    metrics: SelfMetrics,
) -> httpx.Response:
    """Send one GET under the request deadline and read its reply whole (``read_reply``).

    Every failure to get a reply maps onto the ``errors`` tree: one worth another attempt
    is wrapped in ``Retry``; one that shutdown caused is ``cancelled``, never retried.
    The attempt's duration is observed under ``endpoint`` whatever its outcome.
    """
    started = time.perf_counter()
    try:
        with request_deadline(api.timeout, stop), http.stream("GET", path, params=list(params)) as streamed:
            return read_reply(streamed, cap=api.reply_byte_cap, what=f"GET {endpoint}")
    except (httpx.InvalidURL, httpx.LocalProtocolError) as exc:
        # The request could not even be written: a value the API gave us (a cursor, a queue
        # name) that no URL can carry. Sending it again cannot help; the reply was at fault.
        raise BadPayload(
            f"GET {endpoint}: the API gave a value that cannot be sent back ({type(exc).__name__})",
            reason="shape",
        ) from None
    except httpx.TimeoutException:
        raise _unavailable(endpoint, f"no full reply within {api.timeout:g}s", "timeout", stop) from None
    except httpx.TransportError as exc:
        what = f"cannot reach {http.base_url.host} ({type(exc).__name__})"
        raise _unavailable(endpoint, what, "connect", stop) from None
    except (httpx.HTTPError, httpx.StreamError, UnicodeError) as exc:
        # Whatever else a reply can make httpx or a header's codec raise is the reply's fault,
        # never the exporter's own ("internal").
        message = f"GET {endpoint}: unreadable reply ({type(exc).__name__})"
        raise BadPayload(message, reason="decode") from None
    except ConfigError as error:
        # An auth flow could not read its credentials file (rotated away, emptied): the
        # operator's to fix, and the message names the file, never its content.
        raise AuthError(f"GET {endpoint}: {error}") from None
    except ApiUnavailable as error:  # an auth flow's token endpoint was down, or shutdown at the gate
        if error.reason == "cancelled" or stop.is_set():
            raise cancelled(endpoint) from None
        raise Retry(error) from None
    finally:
        metrics.api_request_duration.labels(endpoint=endpoint).observe(time.perf_counter() - started)


def cancelled(endpoint: str) -> ApiUnavailable:
    """Return the error of a request that shutdown cut short."""
    return ApiUnavailable(f"GET {endpoint}: cancelled by shutdown", reason="cancelled")


def _unavailable(endpoint: str, what: str, reason: str, stop: threading.Event) -> Exception:
    if stop.is_set():  # shutdown cut the request short
        return cancelled(endpoint)
    return Retry(ApiUnavailable(f"GET {endpoint}: {what}", reason=reason))


def count_failure(metrics: SelfMetrics, endpoint: str, error: ApiError) -> None:
    """Count a request that failed for good, under a reason label METRICS.md allows."""
    if error.reason == "cancelled":
        return  # shutdown is not a failure of the API
    reason = _FAILURE_REASON.get(error.reason, error.reason)
    metrics.api_request_failures.labels(endpoint=endpoint, reason=reason).inc()


def endpoint_of(path: str) -> str:
    """Return the route template for a URL path, the only form that becomes a label value."""
    if path.endswith("/idp/token"):
        return "/idp/token"
    match = _ENDPOINT_OF_PATH.match(path)
    if match is None:
        return "other"
    return f"/{match[1]}" + ("/{id}" if match[2] else "")


def http_date(header: str | None) -> float | None:
    """Return an HTTP Date header as unix seconds, or None when absent or unreadable."""
    if header is None:
        return None
    try:
        return email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def error_code(response: httpx.Response, *, keys: Sequence[str], limit: int, secrets: SecretRegistry) -> str:
    """Return ': <code>' from a JSON error body (the first of ``keys`` it holds), or ''.

    Never the body itself, never HTML; the code is scrubbed of ``secrets`` whole, then cut to ``limit``.
    """
    try:
        body = decode_json(response.content)
    except BodyError:
        return ""
    if not isinstance(body, dict):
        return ""
    code = next((body[key] for key in keys if body.get(key)), None)
    if not isinstance(code, str) or not code:
        return ""
    return ": " + secrets.clip(code, limit)
