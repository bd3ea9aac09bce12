"""Self-signed certificates and broken TLS files for the tests, made with the openssl CLI."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

PASSPHRASE = "tls-key-passphrase-91c4"  # noqa: S105 - protects a throwaway test key


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def self_signed(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """Write a self-signed certificate and its unencrypted key for localhost; return both paths."""
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    )  # fmt: skip
    return cert, key


def encrypted_copy(key: Path, passphrase: str = PASSPHRASE) -> Path:
    """Write `key` encrypted with a pass-phrase next to it; return the new path."""
    encrypted = key.with_name(key.stem + "-encrypted.pem")
    _openssl("pkey", "-in", str(key), "-aes256", "-passout", f"pass:{passphrase}", "-out", str(encrypted))
    return encrypted
