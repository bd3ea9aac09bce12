"""Secret scrubbing: the registry of secret values and every form in which they reach text.

A secret reaches a log line, an error or a usage message in more forms than its own: a
client id and secret travel base64-encoded in an HTTP Basic header, a password grant sends
the password URL-encoded in a form body, a URL may carry ``user:password@``, an echoed
JSON body escapes quotes and backslashes. A ``SecretRegistry`` records each such form of
the secrets registered with it; its ``scrub`` masks every one of them, the password of any
URL userinfo, and any run of eight or more characters of a registered form anywhere in a
text: a secret cut before it reached us, or echoed in part by an API ("token Zq7tokenSECRET...
not valid"), or base64-encoded inside a longer value (an ``Authorization`` header echoed
whole), whatever the alignment. It matches without regard to case (an API may echo a value
upper-cased) and also on the text with its percent and JSON escapes undone (``%2f`` as
well as ``%2F``, JSON's u-escapes and escaped slashes), masking the characters each match
came from. A forgotten value is retired, not dropped: see ``forget``. Its ``clip`` is how
any text that came from a reply (an error code, a Content-Type, a JSON key) reaches a log
line or an error: scrub the whole, escape control characters (no forged log lines, no
terminal escapes), then cut, so a secret straddling the cut is gone before the cut can
expose its first characters, and a hostile reply cannot write a line of megabytes. There
is no process-wide registry: the app owns one.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from array import array
from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pydantic import SecretStr

REDACTED: Final = "[REDACTED]"
# A registered value this short would scrub ordinary words everywhere.
MIN_SECRET_LENGTH: Final = 4
# A part of a secret is masked from this length on. Shorter would mangle ordinary text: a
# password ending in "2026" would mask the start of every timestamp.
MIN_FRAGMENT_LENGTH: Final = 8
# base64 of a secret inside a longer value starts at any of three byte alignments; from
# this character on, each alignment's encoding depends on the secret's bytes alone.
_OWN_CHARACTERS_FROM: Final = {1: 2, 2: 3}
_LAST_GROUP: Final = 4  # characters of base64's final group, which the bytes after the secret change
REPLY_TEXT_MAX: Final = 120  # characters of one piece of reply text shown: a code, a type, a key
# C0, DEL and C1 controls, line and paragraph separators, bidi overrides, and the lone
# surrogates a body that was not UTF-8 leaves: none belongs in one line of a log.
_UNPRINTABLE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_URL_USERINFO: Final = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/?#@\s:]*):[^/?#@\s]*@")
# Escapes undone before matching: a percent escape in either hex case (RFC 3986 makes them
# equal), a JSON \uXXXX escape (a surrogate pair as the one character it is), a JSON \/ \" \\.
_ESCAPE: Final = re.compile(  # one group: split() keeps the escapes
    r"(%[0-9A-Fa-f]{2}|\\u[Dd][89ABab][0-9A-Fa-f]{2}\\u[Dd][C-Fc-f][0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\[/\"\\])"
)
# Forgotten values still scrubbed: replies to requests sent before a token was replaced.
RETIRED_KEPT: Final = 8


def _base64_forms(raw: bytes) -> set[str]:
    """Return the standard and URL-safe base64 of `raw`, padded and not (JWTs and URLs drop the padding).

    Also the characters that encode `raw` inside a longer value, at the other two byte
    alignments (``Bearer <token>``, ``user:secret``), for the part rule to find.
    """
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode()
        forms |= {whole, whole.rstrip("=")}
        for shift, start in _OWN_CHARACTERS_FROM.items():
            forms.add(encode(b"\0" * shift + raw).decode()[start:-_LAST_GROUP])
    return forms


def encoded_forms(secret: str) -> set[str]:
    """Return `secret` and every encoding of it that can reach a log line or an error."""
    return {
        secret,
        quote(secret, safe=""),  # URL path or query, form body (RFC 3986)
        quote_plus(secret),  # application/x-www-form-urlencoded (the password grant's body)
        json.dumps(secret)[1:-1],  # an echoed JSON body
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],  # an exception message that holds a repr()
        secret.encode().hex(),  # a byte dump
        *_base64_forms(secret.encode()),
    }


class SecretRegistry:
    """The secrets one exporter holds, in every form they can reach text in, and how to mask them.

    Owned by the app, which registers every secret of the settings once; the token source
    adds the access tokens it mints and retires the ones replaced. Read on every log line,
    written rarely.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: dict[str, frozenset[str]] = {}  # key -> its folded forms
        self._retired: list[str] = []  # keys forgotten but still scrubbed, oldest first
        self._short: tuple[str, ...] = ()  # folded forms too short for the part rule
        self._parts_of: dict[str, frozenset[str]] = {}  # key -> every MIN_FRAGMENT_LENGTH piece
        self._parts: frozenset[str] = frozenset()

    def register(self, value: str | SecretStr | None) -> None:
        """Scrub this value and its encodings out of every text from now on (no-op for short values)."""
        if value is None:
            return
        plain = value if isinstance(value, str) else value.get_secret_value()
        if len(plain) >= MIN_SECRET_LENGTH:
            self._add(plain, encoded_forms(plain))

    def register_credentials(self, user: str | None, secret: str | SecretStr | None) -> None:
        """Scrub the secret, and the base64 `user:secret` an HTTP Basic header carries, from now on."""
        if secret is None:
            return
        plain = secret if isinstance(secret, str) else secret.get_secret_value()
        self.register(plain)
        if user is not None and len(plain) >= MIN_SECRET_LENGTH:
            pair = f"{user}:{plain}"
            self._add("\0basic\0" + pair, _base64_forms(pair.encode()))

    def forget(self, value: str) -> None:
        """Retire a value no longer in use (a replaced access token): still scrubbed, for a while.

        A token is replaced while requests sent with it may still be in flight on other poll
        threads, and their replies can echo it; dropping it at once would log those echoes
        unredacted. So a retired value stays scrubbed until RETIRED_KEPT newer values have
        been retired after it, which keeps the registry bounded however fast tokens churn.
        """
        with self._lock:
            if value not in self._forms or value in self._retired:
                return
            self._retired.append(value)
            if len(self._retired) > RETIRED_KEPT:
                oldest = self._retired.pop(0)
                del self._forms[oldest], self._parts_of[oldest]
                self._publish()

    def scrub(self, text: str) -> str:
        """Return `text` with every registered secret form, URL password and part of a form masked.

        Matched twice: on the text case-folded, and, if it holds escapes, on the text with its
        percent and JSON escapes undone too (``_Folded``), each match mapped back to the
        characters of `text` it came from.
        """
        if "://" in text:
            text = _URL_USERINFO.sub(rf"\g<scheme>\g<user>:{REDACTED}@", text)
        short, parts = self._short, self._parts
        if not parts and not short:
            return text
        runs = _runs(_fold_case(text), short, parts)
        decoded = _Folded.of(text)
        if decoded is not None:
            runs += [decoded.span(start, end) for start, end in _runs(decoded.text, short, parts)]
        return _mask(text, runs)

    def clip(self, text: str, limit: int = REPLY_TEXT_MAX) -> str:
        """Return reply text fit for a log line or an error: scrubbed, controls escaped, cut to `limit`.

        Scrubbed whole before the cut: cut first, and a secret's first characters would leak.
        """
        shown = _escape_unprintable(self.scrub(text))
        return shown if len(shown) <= limit else shown[:limit] + "..."

    def _add(self, key: str, forms: Iterable[str]) -> None:
        with self._lock:
            if key in self._retired:  # in use again
                self._retired.remove(key)
            if key not in self._forms:
                kept = frozenset(_folded_forms(forms))
                self._forms[key], self._parts_of[key] = kept, _parts(kept)
                self._publish()

    def _publish(self) -> None:
        forms = set().union(*self._forms.values())
        self._short = tuple(sorted(form for form in forms if len(form) < MIN_FRAGMENT_LENGTH))
        self._parts = frozenset().union(*self._parts_of.values())


def _folded_forms(forms: Iterable[str]) -> set[str]:
    """Return each form as scrub matches it: case-folded, and also with its escapes undone."""
    folded = {variant for form in forms for variant in (_fold_case(form), _Folded.unescaped(form))}
    return {form for form in folded if len(form) >= MIN_SECRET_LENGTH}


def _fold_case(text: str) -> str:
    """Return `text` lower-cased, character for character (U+0130 alone lowers to two)."""
    return text.replace("\u0130", "i").lower()


def _unescape(escape: str) -> str:
    if escape[0] == "%":
        return chr(int(escape[1:], 16))
    if len(escape) == 2:  # noqa: PLR2004 - a backslash and the character it escapes
        return escape[1]
    code = int(escape[2:6], 16)
    if len(escape) > 6:  # noqa: PLR2004 - a surrogate pair: one character
        code = 0x10000 + ((code - 0xD800) << 10) + int(escape[8:], 16) - 0xDC00
    return chr(code)


class _Decodes(dict[str, str]):
    """Each escape of one text decoded once: a text holds few distinct ones, however many."""

    def __missing__(self, escape: str) -> str:
        self[escape] = decoded = _unescape(escape)
        return decoded


class _Folded:
    """A text with its escapes undone and its case folded, and where each character came from.

    Split into literal, escape, literal, ...; each escape becomes one character. The running
    ends of the pieces, in the original and in the folded text, map any span back. Built with
    C loops only (split, map, accumulate), so a text made of escapes stays fast to scrub.
    """

    def __init__(self, pieces: list[str]) -> None:
        self._ends = array("q", accumulate(map(len, pieces)))
        pieces[1::2] = map(_Decodes().__getitem__, pieces[1::2])
        self._folded_ends = array("q", accumulate(map(len, pieces)))
        self.text = _fold_case("".join(pieces))

    @classmethod
    def of(cls, text: str) -> _Folded | None:
        """Return the folded view of `text`, or None if it holds no escape to undo."""
        pieces = _ESCAPE.split(text) if "%" in text or "\\" in text else []
        return cls(pieces) if len(pieces) > 1 else None

    @classmethod
    def unescaped(cls, text: str) -> str:
        """Return `text` with its escapes undone and its case folded."""
        folded = cls.of(text)
        return folded.text if folded is not None else _fold_case(text)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Return the span of the original text the folded characters [start, end) came from."""
        return self._char(start)[0], self._char(end - 1)[1]

    def _char(self, at: int) -> tuple[int, int]:
        piece = bisect_right(self._folded_ends, at)
        if piece % 2:  # an escape: all of its characters
            return self._ends[piece - 1], self._ends[piece]
        if not piece:
            return at, at + 1
        start = self._ends[piece - 1] + at - self._folded_ends[piece - 1]
        return start, start + 1


def _escape_unprintable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda match: match[0].encode("unicode_escape").decode("ascii"), text)


def _parts(forms: Iterable[str]) -> frozenset[str]:
    width = MIN_FRAGMENT_LENGTH
    return frozenset(form[at : at + width] for form in forms for at in range(len(form) - width + 1))


def _runs(text: str, short: Iterable[str], parts: frozenset[str]) -> list[tuple[int, int]]:
    """Return the spans of `text` to mask: each short form, and every run of pieces in `parts`."""
    runs: list[tuple[int, int]] = []
    for form in short:
        at = text.find(form)
        while at >= 0:
            runs.append((at, at + len(form)))
            at = text.find(form, at + len(form))
    width = MIN_FRAGMENT_LENGTH
    start = end = -1
    for at in range(len(text) - width + 1) if parts else ():
        if text[at : at + width] in parts:
            if at > end:  # neither overlaps nor touches the run before: a new run
                if end >= 0:
                    runs.append((start, end))
                start = at
            end = at + width
    if end >= 0:
        runs.append((start, end))
    return runs


def _mask(text: str, runs: list[tuple[int, int]]) -> str:
    """Replace each span in `runs` with the marker; overlapping or touching spans become one."""
    if not runs:
        return text
    shown: list[str] = []
    kept = 0
    for start, end in sorted(runs):
        if start > kept or not shown:
            shown += (text[kept:start], REDACTED)
        kept = max(kept, end)
    shown.append(text[kept:])
    return "".join(shown)
