"""The bytes of HTTP/1.1 around a request: reading a header block, writing a response head.

Both are the same for most requests: a Prometheus server sends the same header block on
every scrape, and every /metrics response of a poll has the same head but for its Date.
So a header block that has fully arrived is parsed once and remembered (read-only, shared
between the connections' threads), and a response head is encoded once per status,
header list and connection fate, with the Date line formatted once per second. Both memos
are bounded whatever clients send.
"""

from __future__ import annotations

import email.utils
import functools
import time
from http import HTTPStatus
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from io import BufferedReader

MAX_LINE: Final = 65536  # bytes of the request line, and of each header line
_MAX_HEADERS: Final = 100  # as http.client allows
_UNPREFIXED: Final = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})  # WSGI names these without HTTP_
_REMEMBERED_BLOCK: Final = 4096  # bytes: larger header blocks are parsed line by line, every time
_HEADS_KEPT: Final = 64  # response heads remembered before the memo starts afresh

HeadKey = tuple[str, str, str, tuple[tuple[str, str], ...]]  # protocol, Server, status, headers


def read_fields(rfile: BufferedReader) -> Mapping[str, str] | HTTPStatus:
    """Read header lines up to the blank one, as WSGI environ keys (HTTP_ACCEPT, CONTENT_LENGTH)."""
    arrived = rfile.peek(_REMEMBERED_BLOCK)  # what is buffered already; one read if nothing is
    end = _block_end(arrived[:_REMEMBERED_BLOCK])
    if end is None:  # not all here yet, or too long to remember: line by line
        return _fields(iter(lambda: rfile.readline(MAX_LINE + 1), None))
    return _remembered_fields(rfile.read(end))


def _block_end(data: bytes) -> int | None:
    """Where the header block in ``data`` ends (past its blank line), or None if it does not."""
    if data.startswith((b"\r\n", b"\n")):
        return 2 if data[0] == ord("\r") else 1
    ends = [found + len(blank) for blank in (b"\n\r\n", b"\n\n") if (found := data.find(blank)) >= 0]
    return min(ends) if ends else None


@functools.lru_cache(maxsize=128)
def _remembered_fields(block: bytes) -> Mapping[str, str] | HTTPStatus:
    """Parse a whole header block once; every request that sends the same block shares the result."""
    lines = block.split(b"\n")[:-1]  # each line without its \n; the last one is the blank line
    return _fields(line + b"\n" for line in lines)


def _fields(lines: Iterator[bytes]) -> Mapping[str, str] | HTTPStatus:
    """Turn header lines into WSGI environ keys; 400 for a malformed line, 431 for too many or too long."""
    fields: dict[str, str] = {}
    for _ in range(_MAX_HEADERS + 1):
        line = next(lines, b"")
        if len(line) > MAX_LINE:
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        if line in {b"\r\n", b"\n", b""}:
            return MappingProxyType(fields)  # read-only: a remembered block is shared between threads
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
