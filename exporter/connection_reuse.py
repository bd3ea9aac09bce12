"""Never reuse a kept-alive connection that holds bytes past the reply just read.

A broken proxy (or a host posing as the API) may send bytes after a complete reply: a copy
of it, or a reply to no request. When they arrive with the reply's end, httpcore keeps
them, and the next request on that connection reads them as its answer: a count of
another state, a page of another cursor, silently. httpx shows neither that buffer nor
the connection, so the buffer is read from h11's ``trailing_data`` through httpcore's
private attributes (the versions are pinned; the reply-sent-twice tests in
``tests/test_client.py``, direct and through a forward proxy, fail if this path breaks),
and the connection is closed through its public ``network_stream`` extension: httpcore
then drops it instead of reusing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporter import logs

if TYPE_CHECKING:
    import httpx

log = logs.get_logger(component="api")

_PATH_TO_CONNECTION = ("_stream", "_httpcore_stream", "_pool_request", "connection")
# httpcore wraps the HTTP/1.1 connection once directly and through a tunnelling (CONNECT)
# proxy, twice through a forward proxy: look a few levels down, never a fixed depth.
_MAX_WRAPPERS = 4


def discard_if_overrun(response: httpx.Response) -> None:
    """Close ``response``'s connection if bytes arrived after the reply's end."""
    if not _bytes_after_reply(response):
        return
    stream = response.extensions.get("network_stream")
    if stream is not None:
        stream.close()
    host = response.request.url.host
    log.warning("api_connection_discarded", reason="bytes after a complete reply", host=host)


def _bytes_after_reply(response: httpx.Response) -> bool:
    connection: object = response.stream
    for name in _PATH_TO_CONNECTION:
        connection = getattr(connection, name, None)
    for _ in range(_MAX_WRAPPERS):
        state = getattr(connection, "_h11_state", None)
        if state is not None:
            trailing = getattr(state, "trailing_data", (b"", False))
            return bool(trailing[0])
        connection = getattr(connection, "_connection", None)
    return False
