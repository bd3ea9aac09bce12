"""Basic auth against bcrypt hashes (``basic_auth_users`` of ``--web.config.file``).

bcrypt is slow on purpose (about 70 ms at cost 10): paid on every scrape it would make
/metrics slow and let a few clients burn a core. As exporter-toolkit does, a
verification that succeeded is remembered, keyed by a SHA-256 of user, password and
hash (the password itself is never kept), so the next scrape with the same credentials
costs a hash lookup. Failures are not remembered: each wrong guess pays the full cost,
which is what bcrypt is for. An unknown user is checked against a stand-in hash of the
same cost, so the answer's timing does not tell which users exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from typing import TYPE_CHECKING, Final

import bcrypt

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import SecretStr

_CACHE_SIZE: Final = 256  # verified (user, password) pairs kept; a handful of scrapers need a few
_DEFAULT_COST: Final = 10
_CHECKSUM_LENGTH: Final = 31  # bcrypt's base64 characters after the 29 of version, cost and salt


class BcryptUsers:
    """Checks ``Authorization: Basic`` against a user → bcrypt hash table."""

    def __init__(self, users: Mapping[str, SecretStr]) -> None:
        self._hashes = {user.encode(): hashed.get_secret_value().encode() for user, hashed in users.items()}
        self._verified: dict[bytes, None] = {}
        self._lock = threading.Lock()
        cost = min((_cost(hashed) for hashed in self._hashes.values()), default=_DEFAULT_COST)
        # Never hashed: a check against it costs the same (the salt sets the cost) and matches
        # nothing, while hashing it here would hold up the start, and a SIGTERM, for seconds.
        self._stand_in = bcrypt.gensalt(rounds=cost) + b"." * _CHECKSUM_LENGTH

    def decides_at_once(self, header: str | None) -> bool:
        """Tell whether ``allows`` needs no bcrypt check: no Basic credentials, or a pair verified before."""
        credentials = _basic_credentials(header)
        if credentials is None:
            return True
        with self._lock:
            return self._key(*credentials)[1] in self._verified

    def _key(self, user: bytes, password: bytes) -> tuple[bytes | None, bytes]:
        hashed = self._hashes.get(user)
        return hashed, hashlib.sha256(b"\0".join((user, password, hashed or b""))).digest()

    def allows(self, header: str | None) -> bool:
        """Tell whether the header carries a known user and the password its hash was made from."""
        credentials = _basic_credentials(header)
        if credentials is None:
            return False
        user, password = credentials
        hashed, key = self._key(user, password)
        with self._lock:
            if hashed is not None and key in self._verified:
                return True
        if not _checks(password, hashed or self._stand_in) or hashed is None:
            return False
        with self._lock:
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))  # the oldest pair
            self._verified[key] = None
        return True


def _checks(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:  # a password longer than bcrypt's 72 bytes matches no hash
        return False


def _cost(hashed: bytes) -> int:
    return int(hashed.split(b"$")[2])


def _basic_credentials(header: str | None) -> tuple[bytes, bytes] | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return None
    return (user, password) if sep else None
