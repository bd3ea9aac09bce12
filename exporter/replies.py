"""Reading a streamed reply into memory under a byte cap, decompressing as it goes.

Whatever an API (or something posing as one) sends, the exporter holds at most ``cap``
bytes of one reply: a declared Content-Length over the cap fails before a byte is read,
and gzip or deflate bodies are inflated piece by piece with zlib's ``max_length``, so a
compression bomb costs no more memory than a plain reply of the same size.
"""

from __future__ import annotations

import zlib
from typing import Final

import httpx

from exporter.connection_reuse import discard_if_overrun

ACCEPT_ENCODING: Final = "gzip, deflate"  # only what read_capped can inflate within the cap
_BODY_FRAMING: Final = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})  # now undone
_WBITS: Final = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class ReplyTooLarge(Exception):
    """The reply holds more than the cap allows."""


class ReplyUnreadable(Exception):
    """The reply's Content-Encoding is not one we asked for, or its compressed data is corrupt."""


def read_capped(response: httpx.Response, cap: int, *, truncate: bool = False) -> httpx.Response:
    """Read ``response``'s body (at most ``cap`` bytes once decoded) into a new, complete response.

    Over the cap, raise ReplyTooLarge; with ``truncate`` keep the first ``cap`` bytes instead
    (error replies, of which only a short code is ever shown).
    """
    declared = response.headers.get("Content-Length", "")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if not truncate and encoding == "identity" and declared.isdigit() and int(declared) > cap:
        raise ReplyTooLarge(f"Content-Length {declared}")
    if response.is_stream_consumed:  # built in memory (a test's transport): whole and decoded
        body = bytearray(response.content[: cap + 1])
    else:
        body = _read_body(response, encoding, cap)
        discard_if_overrun(response)
    if len(body) > cap:
        if not truncate:
            body.clear()  # a traceback keeps this frame alive as long as the error: free the bytes now
            raise ReplyTooLarge(f"more than {cap} bytes")
        del body[cap:]
    # As sent: a value may hold bytes beyond ASCII (RFC 9110 allows them), which the decoded
    # str form could not be rebuilt from.
    headers = [(name, value) for name, value in response.headers.raw if name.lower() not in _BODY_FRAMING]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=response.request
    )


def _read_body(response: httpx.Response, encoding: str, cap: int) -> bytearray:
    """Return up to ``cap + 1`` decoded bytes: one more than the cap tells it was exceeded."""
    body = bytearray()
    if encoding in ("identity", ""):
        for chunk in response.iter_raw():
            body += chunk
            if len(body) > cap:
                break
        return body
    if encoding not in _WBITS:
        raise ReplyUnreadable(f"Content-Encoding {encoding[:40]!r} was not asked for")
    inflater = zlib.decompressobj(_WBITS[encoding])
    try:
        for chunk in response.iter_raw():
            data = chunk
            while data and len(body) <= cap:
                body += inflater.decompress(data, cap + 1 - len(body))
                data = inflater.unconsumed_tail
            if len(body) > cap:
                return body
        body += inflater.flush()
    except zlib.error as error:
        raise ReplyUnreadable(f"corrupt {encoding} data ({error})") from None
    return body
