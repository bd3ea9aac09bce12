"""TLS contexts from the files the settings name, with errors that say which file is wrong.

Used twice: by the settings, so that a certificate, key or CA bundle that does not load
stops the exporter at start with one line naming the file (exit 2), and by the web
listener and the API client, which build the contexts they use (a file that changed
since raises the same ``ConfigError``). A pass-phrase protected
key fails at once instead of OpenSSL prompting on the terminal, which would hang a
service with no one to answer.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, NoReturn

from exporter.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


class TlsFileError(ConfigError):
    """A TLS file that cannot be used; the one-line message names the setting and the file."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting, self.problem = setting, problem


class _PassphraseAsked(Exception):
    """OpenSSL asked for a pass-phrase: the key is encrypted."""


def _refuse_passphrase() -> NoReturn:
    raise _PassphraseAsked


def server_context(cert_file: Path, key_file: Path, *, section: str = "web") -> ssl.SSLContext:
    """Return a server context (TLS 1.2 or newer) with this certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # A client may not renegotiate (TLS 1.2): a handshake in the middle of a reply costs a
    # CPU-heavy exchange per request a client asks for, and a non-blocking server mid-send.
    context.options |= ssl.OP_NO_RENEGOTIATION
    cert, key = f"{section}.tls_cert_file", f"{section}.tls_key_file"
    # Parsing the certificate alone first tells a bad certificate from a bad key.
    load_certificates(ssl.create_default_context(), cert_file, cert)
    _must_be_regular(key_file, key)
    try:
        context.load_cert_chain(cert_file, key_file, password=_refuse_passphrase)
    except _PassphraseAsked:
        raise TlsFileError(key, f"{key_file} is encrypted; give a key without a pass-phrase") from None
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise TlsFileError(key, f"{key_file} does not belong to {cert_file}") from None
        raise TlsFileError(key, f"{key_file} holds no usable PEM private key{_why(error)}") from None
    except (OSError, ValueError) as error:
        raise TlsFileError(key, f"cannot read {key_file}{_why(error)}") from None
    return context


def client_context(ca_file: Path, *, setting: str = "api.ca_file") -> ssl.SSLContext:
    """Return a client context that verifies servers against the certificates in `ca_file`."""
    context = ssl.create_default_context()
    load_certificates(context, ca_file, setting)
    return context


def load_certificates(context: ssl.SSLContext, path: Path, setting: str) -> None:
    """Add the certificates in `path` to those `context` trusts; raise TlsFileError naming `setting`."""
    _must_be_regular(path, setting)
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError as error:
        raise TlsFileError(setting, f"{path} holds no usable PEM certificate{_why(error)}") from None
    except (OSError, ValueError) as error:
        raise TlsFileError(setting, f"cannot read {path}{_why(error)}") from None


def _must_be_regular(path: Path, setting: str) -> None:
    """Refuse a FIFO or a device before OpenSSL blocks on it or reads it forever."""
    if path.exists() and not path.is_file():  # a missing file is OpenSSL's to report
        raise TlsFileError(setting, f"{path} is not a regular file")


def _why(error: Exception) -> str:
    """Return " (reason)" from OpenSSL or the OS, in a few words and never the file's content."""
    reason: str | None
    if isinstance(error, ssl.SSLError):
        reason = error.reason
    elif isinstance(error, OSError):
        reason = error.strerror
    else:
        reason = type(error).__name__
    return f" ({reason.lower().replace('_', ' ')})" if reason else ""
