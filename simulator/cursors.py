"""Opaque `after` cursors: the whole query plus the keyset position, signed.

A later page carries only `after` (and `limit`, `lod`), so the cursor must hold
the original filters and order. The HMAC makes a forged or edited cursor a 400
instead of a silently different query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from simulator.api_errors import bad_request


class CursorCodec:
    """Signs and checks cursors with a per-simulator key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, state: dict[str, Any]) -> str:
        """Return the opaque cursor for a query state."""
        payload = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
        signature = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        return f"{_b64(payload)}.{_b64(signature)}"

    def decode(self, cursor: str) -> dict[str, Any]:
        """Return the query state in a cursor, or raise a 400 if it is malformed or forged."""
        payload_text, _, signature_text = cursor.partition(".")
        try:
            payload, signature = _unb64(payload_text), _unb64(signature_text)
        except (binascii.Error, ValueError):
            raise bad_request("malformed cursor", parameter="after") from None
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(signature, expected):
            raise bad_request("invalid cursor", parameter="after")
        state = json.loads(payload)
        if not isinstance(state, dict):
            raise bad_request("invalid cursor", parameter="after")
        return state


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text:
        raise ValueError("empty")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
