"""Secret scrubbing: the registry of secret values and every form in which they reach text.

A secret reaches a log line, an error or a usage message in more forms than its own: a
client id and secret travel base64-encoded in an HTTP Basic header, a password grant sends
the password URL-encoded in a form body, a URL may carry ``user:password@``, an echoed
JSON body escapes quotes and backslashes. A ``SecretRegistry`` records each such form of
the secrets registered with it; its ``scrub`` replaces every one of them, masks the
password of any URL userinfo, and masks any run of eight or more characters of a registered
form anywhere in a text: a secret cut before it reached us, or echoed in part by an API
("token Zq7tokenSECRET... not valid"), or base64-encoded inside a longer value (an
``Authorization`` header echoed whole), whatever the alignment. Its ``clip`` is how any text that came from a
reply (an error code, a Content-Type, a JSON key) reaches a log line or an error: scrub the
whole, escape control characters (no forged log lines, no terminal escapes), then cut, so a
secret straddling the cut is gone before the cut can expose its first characters, and a
hostile reply cannot write a line of megabytes. There is no process-wide registry: the app
owns one.
"""

from __future__ import annotations

import base64
import json
import re
import threading
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
        *_base64_forms(secret.encode()),
    }


class SecretRegistry:
    """The secrets one exporter holds, in every form they can reach text in, and how to mask them.

    Owned by the app, which registers every secret of the settings once; the token source
    adds the access tokens it mints and forgets the ones replaced. Read on every log line,
    written rarely.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: dict[str, frozenset[str]] = {}
        self._values: tuple[str, ...] = ()
        self._parts_of: dict[
            str, frozenset[str]
        ] = {}  # key -> every MIN_FRAGMENT_LENGTH-long piece of its forms
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
        """Stop scrubbing a value that is no longer in use (a replaced access token)."""
        with self._lock:
            if self._forms.pop(value, None) is not None:
                del self._parts_of[value]
                self._publish()

    def scrub(self, text: str) -> str:
        """Return `text` with every registered secret form, URL password and part of a form masked."""
        for form in self._values:
            if form in text:
                text = text.replace(form, REDACTED)
        if "://" in text:
            text = _URL_USERINFO.sub(rf"\g<scheme>\g<user>:{REDACTED}@", text)
        return _mask_parts(text, self._parts)

    def clip(self, text: str, limit: int = REPLY_TEXT_MAX) -> str:
        """Return reply text fit for a log line or an error: scrubbed, controls escaped, cut to `limit`.

        Scrubbed whole before the cut: cut first, and a secret's first characters would leak.
        """
        shown = _escape_unprintable(self.scrub(text))
        return shown if len(shown) <= limit else shown[:limit] + "..."

    def _add(self, key: str, forms: Iterable[str]) -> None:
        with self._lock:
            if key not in self._forms:
                kept = frozenset(form for form in forms if len(form) >= MIN_SECRET_LENGTH)
                self._forms[key], self._parts_of[key] = kept, _parts(kept)
                self._publish()

    def _publish(self) -> None:
        # Longest first, so a form containing another is replaced whole.
        forms = set().union(*self._forms.values())
        self._values = tuple(sorted(forms, key=lambda form: (-len(form), form)))
        self._parts = frozenset().union(*self._parts_of.values())


def _escape_unprintable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda match: match[0].encode("unicode_escape").decode("ascii"), text)


def _parts(forms: Iterable[str]) -> frozenset[str]:
    width = MIN_FRAGMENT_LENGTH
    return frozenset(form[at : at + width] for form in forms for at in range(len(form) - width + 1))


def _mask_parts(text: str, parts: frozenset[str]) -> str:
    """Mask every run of `text` made of pieces in `parts`: any 8+ characters of a secret's form."""
    width = MIN_FRAGMENT_LENGTH
    runs: list[list[int]] = []  # [start, end) of each masked run, in order
    for at in range(len(text) - width + 1) if parts else ():
        if text[at : at + width] in parts:
            if runs and at <= runs[-1][1]:  # overlaps or touches the run before: one run
                runs[-1][1] = at + width
            else:
                runs.append([at, at + width])
    if not runs:
        return text
    shown: list[str] = []
    kept = 0
    for start, end in runs:
        shown += (text[kept:start], REDACTED)
        kept = end
    shown.append(text[kept:])
    return "".join(shown)
