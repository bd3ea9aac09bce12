"""Redaction: every form a secret reaches text in is scrubbed, and cutting never exposes a part.

The rule under test is: scrub the whole text, then cut it (``clip``). A property check
runs it over many random secrets placed at random offsets around random cut positions,
and asserts that no four-character piece of the secret (nor of its encoded forms)
survives, which cutting first and scrubbing after fails.
"""

from __future__ import annotations

import base64
import io
import json
import random
import string
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus, unquote

import pytest
import structlog

from exporter import logs
from exporter.config import LogSettings
from exporter.redaction import REDACTED, RETIRED_KEPT, SecretRegistry

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CLIENT_ID = "redaction-client"
# Characters that URL-, form- and JSON-encoding all change, so every form differs from the plain one.
SECRET = 'rd-Secret+/ &=%"\\-4b1e9a'  # noqa: S105 - a test value that must never be written
# The secret alphabet and the filler alphabet share no character, and neither can be read
# inside the marker: any four characters of a secret found afterwards are a leak.
SECRET_ALPHABET = string.ascii_lowercase + string.digits
FILLER_ALPHABET = " .,;:-_()!?#*~"
MIN_FRAGMENT = 4


@pytest.fixture
def secrets() -> Iterator[SecretRegistry]:
    """Give each test an empty secret registry, so random secrets do not outlive it."""
    yield SecretRegistry()
    structlog.reset_defaults()


def _fragments(secret: str, length: int = MIN_FRAGMENT) -> set[str]:
    """Return every piece of `secret` at least `length` characters long."""
    return {
        secret[start:end] for start in range(len(secret)) for end in range(start + length, len(secret) + 1)
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _basic(user: str, secret: str) -> str:
    return base64.b64encode(f"{user}:{secret}".encode()).decode()


class TestEncodedForms:
    """A secret is scrubbed in every encoding in which it travels."""

    @pytest.mark.parametrize(
        ("form", "encode"),
        [
            ("plain", lambda s: s),
            ("HTTP Basic user:secret", lambda s: _basic(CLIENT_ID, s)),
            ("base64 of the secret", lambda s: base64.b64encode(s.encode()).decode()),
            ("URL-safe base64", lambda s: base64.urlsafe_b64encode(s.encode()).decode()),
            ("URL-encoded", lambda s: quote(s, safe="")),
            ("form-encoded", quote_plus),
            ("JSON-escaped", lambda s: json.dumps(s)[1:-1]),
        ],
    )
    def test_each_form_is_scrubbed(self, secrets: SecretRegistry, form: str, encode: object) -> None:
        """The form a header, a body, a URL or an echoed JSON reply carries is masked."""
        assert callable(encode)
        secrets.register_credentials(CLIENT_ID, SECRET)
        text = f"token endpoint said: Authorization: Basic {encode(SECRET)} (HTTP 401)"
        scrubbed = secrets.scrub(text)
        assert encode(SECRET) not in scrubbed, form
        assert logs.REDACTED in scrubbed

    def test_basic_form_is_scrubbed_in_a_written_log_line(self, secrets: SecretRegistry) -> None:
        """A log line echoing a Basic header holds the marker, not the credentials."""
        output = io.StringIO()
        logs.configure(LogSettings(format="json"), stream=output, secrets=secrets)
        secrets.register_credentials(CLIENT_ID, SECRET)
        logs.get_logger().warning("echoed", header=f"Basic {_basic(CLIENT_ID, SECRET)}")
        line = json.loads(output.getvalue())
        assert line["header"] == f"Basic {logs.REDACTED}"


class TestUrls:
    """A password in a URL's userinfo is masked wherever a URL appears."""

    @pytest.mark.parametrize(
        "url",
        [
            "https://user:hunter2-pw@dc.example/api",
            "http://u:p%40ss-word@[::1]:8443/x",
            "https://:only-password@dc.example",
        ],
    )
    def test_userinfo_password_is_masked(self, secrets: SecretRegistry, url: str) -> None:
        """Only the password goes; scheme, user and host stay readable."""
        password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
        scrubbed = secrets.scrub(f"cannot reach {url} (ConnectError)")
        assert password not in scrubbed
        assert f":{logs.REDACTED}@" in scrubbed

    def test_a_url_without_userinfo_is_unchanged(self, secrets: SecretRegistry) -> None:
        """Ports and paths are not mistaken for passwords."""
        text = "GET https://dc.example:8443/api/task_manager/v2/tasks?after=a:b"
        assert secrets.scrub(text) == text


class TestCutting:
    """Cutting a text never leaves part of a secret in it."""

    def test_a_secret_straddling_the_cut_leaves_nothing(self, secrets: SecretRegistry) -> None:
        """clip() scrubs before it cuts: the first characters of a cut secret are gone too."""
        secrets.register(SECRET)
        text = "x" * 50 + SECRET + "y" * 50
        for limit in range(50, 50 + len(SECRET) + 1):
            clipped = secrets.clip(text, limit)
            assert not any(piece in clipped for piece in _fragments(SECRET)), limit

    def test_reply_text_is_escaped_before_it_is_cut(self, secrets: SecretRegistry) -> None:
        """Controls, line separators and lone surrogates become visible escapes, counted in the limit."""
        secrets.register(SECRET)
        text = f"a\nb\r\x1b[31m\x85\u2028\u202e\udc80{SECRET}\tz"
        assert secrets.clip(text, 200) == f"a\\nb\\r\\x1b[31m\\x85\\u2028\\u202e\\udc80{REDACTED}\\tz"
        assert secrets.clip("\n" * 100, 10) == "\\n" * 5 + "..."

    def test_a_fragment_cut_off_elsewhere_is_masked(self, secrets: SecretRegistry) -> None:
        """Text that arrives already cut (by a server, a library) loses a secret's prefix or suffix."""
        secrets.register(SECRET)
        assert secrets.scrub("error: " + SECRET[:9]) == f"error: {logs.REDACTED}"
        assert secrets.scrub(SECRET[-9:] + " was refused") == f"{logs.REDACTED} was refused"

    def test_a_part_echoed_inside_a_text_is_masked(self, secrets: SecretRegistry) -> None:
        """An API that echoes a token's first characters mid-sentence shows none of them."""
        token = "Zq7tokenSECRETvalue0123456789"  # noqa: S105 - a test value
        secrets.register(token)
        assert secrets.scrub(f"token {token[:14]}... not valid for this account") == (
            f"token {REDACTED}... not valid for this account"
        )
        assert secrets.scrub(f"bad header {token[5:20]}!") == f"bad header {REDACTED}!"

    @pytest.mark.parametrize("prefix", ["", "Bearer ", "Authorization: Bearer ", "x"])
    def test_base64_of_a_longer_value_holding_the_secret_is_masked(
        self, secrets: SecretRegistry, prefix: str
    ) -> None:
        """A header echoed base64-encoded whole: at any alignment, no 8 characters of the secret survive."""
        token = "Zq7tokenSECRETvalue0123456789"  # noqa: S105 - a test value
        secrets.register(token)
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            echoed = encode(f"{prefix}{token};".encode()).decode()
            scrubbed = secrets.scrub(f"rejected {echoed} at the gateway")
            assert REDACTED in scrubbed
            own = encode(b"\0" * (len(prefix) % 3) + token.encode()).decode()[3:-4]
            assert not any(piece in scrubbed for piece in _fragments(own, 8)), scrubbed

    def test_short_pieces_at_the_ends_are_left_alone(self, secrets: SecretRegistry) -> None:
        """Fewer than eight characters at an end are ordinary text, or a year would mask timestamps."""
        secrets.register("Summer-holidays-2026")
        timestamp = "2026-12-01T20:25:42Z"
        assert secrets.scrub(timestamp) == timestamp
        assert secrets.scrub("the poll finished: Summer") == "the poll finished: Summer"

    def test_random_secrets_at_random_cuts_leak_nothing(self, secrets: SecretRegistry) -> None:
        """Property: for random secrets, offsets and cut positions, no 4+ character piece survives."""
        rng = random.Random(20261201)  # noqa: S311 - seeded test data, so a failure reproduces
        for _ in range(400):
            secret = "".join(rng.choices(SECRET_ALPHABET, k=rng.randint(8, 48)))
            secrets.register_credentials(CLIENT_ID, secret)
            before = "".join(rng.choices(FILLER_ALPHABET, k=rng.randint(0, 80)))
            after = "".join(rng.choices(FILLER_ALPHABET, k=rng.randint(0, 80)))
            form = rng.choice([secret, _basic(CLIENT_ID, secret)])
            text = before + form + after
            limit = rng.randint(0, len(text))
            clipped = secrets.clip(text, limit)
            pieces = _fragments(secret) | _fragments(base64.b64encode(secret.encode()).decode()[:-4])
            leaked = [piece for piece in pieces if piece in clipped]
            assert leaked == [], f"{clipped!r} (limit {limit}) holds {leaked[:3]} of {secret!r}"
            secrets.forget(secret)

    def test_the_property_check_sees_a_cut_secret(self) -> None:
        """The check above can fail: a text cut without scrubbing holds the secret's first characters."""
        text = "x" * 50 + SECRET
        assert any(piece in text[:58] for piece in _fragments(SECRET))


def _percent_lower(text: str) -> str:
    """Percent-encode every character, hex in lower case (RFC 3986: the same as upper case)."""
    return "".join(f"%{byte:02x}" for byte in text.encode())


def _json_u_escapes(text: str, digits: str = "x") -> str:
    """JSON that escapes every character as a u-escape, as some encoders do (astral ones as pairs)."""
    units = text.encode("utf-16-le")
    codes = (int.from_bytes(units[at : at + 2], "little") for at in range(0, len(units), 2))
    return "".join(f"\\u{code:04{digits}}" for code in codes)


ECHOES: dict[str, Callable[[str], str]] = {
    "upper-cased": str.upper,
    "lower-cased": str.lower,
    "percent, lower-case hex": lambda s: quote(s, safe="").lower(),
    "percent, every character, lower-case hex": _percent_lower,
    "percent, every character, upper-case hex": lambda s: _percent_lower(s).upper(),
    "percent-encoded twice": lambda s: quote(quote(s, safe=""), safe=""),
    "JSON, every character a u-escape": _json_u_escapes,
    "JSON, u-escapes in upper-case hex": lambda s: _json_u_escapes(s, "X"),
    "JSON, escaped slashes": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "JSON, & as a u-escape (Go)": lambda s: json.dumps(s)[1:-1].replace("&", "\\u0026"),
    "JSON-escaped, upper-cased": lambda s: json.dumps(s)[1:-1].upper(),
    "base64, percent-encoded lower-case": lambda s: quote(_b64(s), safe="").lower(),
    "Basic, percent-encoded": lambda s: quote(_basic(CLIENT_ID, s), safe="").lower(),
    "hex": lambda s: s.encode().hex(),
    "HEX": lambda s: s.encode().hex().upper(),
}
CUT_ECHOES = [_percent_lower, _json_u_escapes, ECHOES["percent, lower-case hex"]]
# Escapes and upper case around the echo: what surrounds it stays exactly as it was.
AROUND = ("reply 50%25 done, \\u0041\\/ said: ", " (HTTP 401) \\/%2F ÄB")


class TestEncodedEchoes:
    """A secret echoed re-encoded, re-cased or escaped is masked whole, and nothing else is."""

    @pytest.mark.parametrize("secret", [SECRET, "k9/Qx+2b/Lm7+Zp4/Yw1+Rt8/Nc3+Vh6=", "Süd-pässwörd-🔑-Ωmega"])
    @pytest.mark.parametrize("echo", ECHOES)
    def test_an_echo_is_masked_whole(self, secrets: SecretRegistry, echo: str, secret: str) -> None:
        """Case and escapes are undone to match, and the mask covers exactly the echo."""
        secrets.register_credentials(CLIENT_ID, secret)
        before, after = AROUND
        assert secrets.scrub(before + ECHOES[echo](secret) + after) == before + REDACTED + after

    def test_a_part_of_an_escaped_echo_is_masked(self, secrets: SecretRegistry) -> None:
        """A cut piece of a lower-case percent or u-escaped echo leaves no 8 characters of the secret."""
        rng = random.Random(20261202)  # noqa: S311 - seeded test data, so a failure reproduces
        for _ in range(300):
            secret = "".join(rng.choices(SECRET_ALPHABET + "/+=&", k=rng.randint(12, 40)))
            secrets.register(secret)
            encodings: list[Callable[[str], str]] = [
                _percent_lower,
                _json_u_escapes,
                ECHOES["percent, lower-case hex"],
            ]
            echo = rng.choice(encodings)(secret)
            start = rng.randint(0, len(echo) // 2)
            scrubbed = secrets.scrub("code " + echo[start:] + " end")
            shown = json.loads(f'"{scrubbed}"') if "\\u" in echo else unquote(scrubbed)
            assert not any(piece in shown.lower() for piece in _fragments(secret.lower(), 8)), scrubbed
            secrets.forget(secret)

    def test_ordinary_escapes_are_left_alone(self, secrets: SecretRegistry) -> None:
        """Decoding is only for matching: a text without a secret comes back unchanged."""
        secrets.register(SECRET)
        text = "GET /a%2Fb?q=%e2%82%ac \\u00e9\\/\\\\ UPPER lower 100%"
        assert secrets.scrub(text) == text


class TestRetiredSecrets:
    """A forgotten (replaced) token is still scrubbed for a while, and the registry stays bounded."""

    def test_a_replaced_token_is_scrubbed_when_a_late_reply_echoes_it(self, secrets: SecretRegistry) -> None:
        """A request still in flight with the old token may get a reply echoing it after the renewal."""
        old, new = "tok-old-3c7e1f9a2b", "tok-new-9d8e7f6a5b"
        secrets.register(old)
        secrets.register(new)
        secrets.forget(old)
        echoed = f"token {old} rejected, Basic {base64.b64encode(old.encode()).decode()}"
        assert secrets.scrub(echoed) == f"token {REDACTED} rejected, Basic {REDACTED}"

    def test_only_the_latest_retired_values_are_kept(self, secrets: SecretRegistry) -> None:
        """However fast tokens churn, only the last RETIRED_KEPT forgotten ones are still scrubbed."""
        rng = random.Random(20261203)  # noqa: S311 - seeded test data, so a failure reproduces
        tokens = ["tok-" + "".join(rng.choices(SECRET_ALPHABET, k=24)) for _ in range(RETIRED_KEPT + 3)]
        for token in tokens:
            secrets.register(token)
            secrets.forget(token)
        encoded = base64.b64encode(tokens[0].encode()).decode().rstrip("=")
        assert secrets.scrub(f"{tokens[0]} {encoded}") == f"{tokens[0]} {encoded}"
        assert [secrets.scrub(token) for token in tokens[-RETIRED_KEPT:]] == [REDACTED] * RETIRED_KEPT
        assert [secrets.scrub(token) for token in tokens[:3]] == tokens[:3]

    def test_a_value_registered_again_is_no_longer_retired(self, secrets: SecretRegistry) -> None:
        """A secret forgotten then registered again stays scrubbed however many tokens churn after."""
        secrets.register("tok-again-3c7e1f9a2b")
        secrets.forget("tok-again-3c7e1f9a2b")
        secrets.register("tok-again-3c7e1f9a2b")
        for n in range(RETIRED_KEPT + 1):
            secrets.register(f"{n:04d}-other-token")
            secrets.forget(f"{n:04d}-other-token")
        assert secrets.scrub("tok-again-3c7e1f9a2b") == REDACTED
