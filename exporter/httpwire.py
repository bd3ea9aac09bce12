"""The bytes of HTTP/1.1 around a request: parsing a request head, writing a response head.

The request line and header block are parsed from the bytes received so far (``parse_head``:
None until they are whole), by the same line and block limits a socket reader would apply.
Both heads are the same for most requests: a Prometheus server sends the same header block
on every scrape, and every /metrics response of a poll has the same head but for its Date.
So a header block that has fully arrived is parsed once and remembered (read-only, shared
with the worker threads), and a response head is encoded once per status,
header list and connection fate, with the Date line formatted once per second. Both memos
are bounded whatever clients send.
"""

from __future__ import annotations

import email.utils
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType
from typing import Final

MAX_LINE: Final = 65536  # bytes of the request line, and of each header line
MAX_HEADER_BYTES: Final = 65536  # bytes of a whole header block, as Go's MaxHeaderBytes bounds it
_MAX_HEADERS: Final = 100  # as http.client allows
_UNPREFIXED: Final = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})  # WSGI names these without HTTP_
_REMEMBERED_BLOCK: Final = 4096  # bytes: larger header blocks are parsed line by line, every time
_HEADS_KEPT: Final = 64  # response heads remembered before the memo starts afresh
_VERSIONS: Final = frozenset({"HTTP/1.0", "HTTP/1.1"})

HeadKey = tuple[str, str, str, tuple[tuple[str, str], ...]]  # protocol, Server, status, headers
Fields = Mapping[str, str] | HTTPStatus | None  # None: the client hung up before the block ended
_LineReader = Callable[[int], bytes]  # reads one line of at most limit + 1 bytes; b"" at the end


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A request line and header block that have arrived whole."""

    method: str
    target: str
    version: str
    fields: Mapping[str, str]  # WSGI environ keys (HTTP_ACCEPT, CONTENT_LENGTH)
    size: int  # bytes of the request line and the header block together


@dataclass(frozen=True, slots=True)
class BadHead:
    """A request the server cannot read: answered with ``status``, then the connection closes."""

    status: HTTPStatus
    message: str | None = None  # the status line's phrase when not the standard one
    method: str = ""  # a HEAD gets the error's head only


class _Incomplete(Exception):
    """The buffer ends before the header block does."""


def parse_head(data: bytes | bytearray, offset: int = 0) -> RequestHead | BadHead | None:
    """Read the request line and the header block at ``offset`` in ``data``; None until they are whole.

    ``data`` is read where it lies, never copied whole: a pipelining client's buffer holds
    hundreds of requests, and copying it per request made parsing it quadratic.
    """
    line_end = data.find(b"\n", offset, offset + MAX_LINE + 1)
    if line_end < 0 or line_end >= offset + MAX_LINE:
        return BadHead(HTTPStatus.REQUEST_URI_TOO_LONG) if len(data) - offset > MAX_LINE else None
    words = str(data[offset:line_end], "iso-8859-1").rstrip("\r\n").split()
    if len(words) != 3 or not words[2].startswith("HTTP/"):  # noqa: PLR2004 - method, target, version
        return BadHead(HTTPStatus.BAD_REQUEST, "Bad request line")
    method, target, version = words
    if version not in _VERSIONS:
        return BadHead(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, method=method)
    start = line_end + 1
    end = _block_end(data[start : start + _REMEMBERED_BLOCK])
    if end is not None:  # the usual case: parsed once per distinct block
        fields = _remembered_fields(bytes(data[start : start + end]))
    else:
        lines = _BufferLines(data, start)
        try:
            fields = _fields(lines)
        except _Incomplete:
            return None
        end = lines.offset - start
    if not isinstance(fields, Mapping):
        return BadHead(fields or HTTPStatus.BAD_REQUEST, method=method)
    return RequestHead(method, target, version, fields, start + end - offset)


class _BufferLines:
    """Lines from a buffer by the limits a socket reader would apply; _Incomplete where more must arrive."""

    def __init__(self, data: bytes | bytearray, offset: int) -> None:
        self._data, self.offset = data, offset

    def __call__(self, limit: int) -> bytes:
        newline = self._data.find(b"\n", self.offset, self.offset + limit + 1)
        if newline < 0 and len(self._data) - self.offset <= limit:
            raise _Incomplete
        end = newline + 1 if newline >= 0 else self.offset + limit + 1
        line, self.offset = self._data[self.offset : end], end
        return bytes(line)


def _block_end(data: bytes | bytearray) -> int | None:
    """Where the header block in ``data`` ends (past its blank line), or None if it does not."""
    if data.startswith((b"\r\n", b"\n")):
        return 2 if data[0] == ord("\r") else 1
    ends = [found + len(blank) for blank in (b"\n\r\n", b"\n\n") if (found := data.find(blank)) >= 0]
    return min(ends) if ends else None


@functools.lru_cache(maxsize=128)
def _remembered_fields(block: bytes) -> Fields:
    """Parse a whole header block once; every request that sends the same block shares the result."""
    lines = iter([line + b"\n" for line in block.split(b"\n")[:-1]])  # the last one is the blank line
    return _fields(lambda _limit: next(lines, b""))


def _fields(read_line: _LineReader) -> Fields:
    """Turn header lines into WSGI environ keys; 400 for a malformed line, 431 for too many or too large.

    The block's bytes are counted as they are read: a line may not take more than what is
    left of ``MAX_HEADER_BYTES``, so neither one line nor many repeats of a header (joined
    with commas) hold more than that in memory.
    """
    fields: dict[str, str] = {}
    left = MAX_HEADER_BYTES
    for _ in range(_MAX_HEADERS + 1):
        limit = min(MAX_LINE, left)
        line = read_line(max(limit, 2))  # the blank line ending a full block is not counted
        if line in {b"\r\n", b"\n"}:
            return MappingProxyType(fields)  # read-only: a remembered block is shared between threads
        if len(line) > limit:
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        if not line.endswith(b"\n"):
            return None  # the connection ended (or was evicted) before the blank line
        left -= len(line)
        name, colon, value = str(line, "iso-8859-1").partition(":")
        if not colon or not name or name != name.strip():  # also a folded (obsolete) continuation line
            return HTTPStatus.BAD_REQUEST
        key = name.upper().replace("-", "_")
        key = key if key in _UNPREFIXED else f"HTTP_{key}"
        value = value.strip()
        fields[key] = f"{fields[key]},{value}" if key in fields else value  # repeats: comma-separated
    return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE


class _DateLine:
    """``Date: ...`` of the current second, formatted once per second rather than per response."""

    def __init__(self) -> None:
        self._latest = (0, b"")  # (second, its line): replaced whole, so threads read a matching pair

    def __call__(self) -> bytes:
        now = int(time.time())
        second, line = self._latest
        if second != now:
            line = f"Date: {email.utils.formatdate(now, usegmt=True)}\r\n".encode("latin-1")
            self._latest = (now, line)
        return line


_MemoKey = tuple[HeadKey, int, bool]


class _Heads:
    """Encoded response heads around the Date line, per status, headers and connection fate."""

    def __init__(self) -> None:
        self._memo: dict[_MemoKey, tuple[bytes, bytes]] = {}

    def get(self, key: _MemoKey) -> tuple[bytes, bytes]:
        """Return (status line and Server header, the rest of the head) for this response."""
        head = self._memo.get(key)
        if head is None:
            head = _encode_head(key)
            if len(self._memo) >= _HEADS_KEPT:  # bounded whatever the app sends
                self._memo.clear()
            self._memo[key] = head
        return head


def _encode_head(key: _MemoKey) -> tuple[bytes, bytes]:
    (protocol, server, status, headers), body_length, close = key
    lines = [f"{name}: {value}\r\n" for name, value in headers]
    if not any(name.lower() == "content-length" for name, _ in headers):
        # Without it a kept-alive client could only find the body's end when we close.
        lines.append(f"Content-Length: {body_length}\r\n")
    if close:
        lines.append("Connection: close\r\n")
    lines.append("\r\n")
    return f"{protocol} {status}\r\nServer: {server}\r\n".encode("latin-1"), "".join(lines).encode("latin-1")


_date_line = _DateLine()
_HEADS = _Heads()


def response_head(key: HeadKey, body_length: int, *, close: bool) -> bytes:
    """Return the whole response head: status line, Server, Date, the headers, the blank line."""
    status_and_server, rest = _HEADS.get((key, body_length, close))
    return b"".join((status_and_server, _date_line(), rest))
