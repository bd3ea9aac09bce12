"""Logging: JSON off a terminal, console on one, level filtering, and secrets never written."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
import structlog

from exporter import logs
from exporter.config import LogSettings
from exporter.redaction import RETIRED_KEPT, SecretRegistry

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = "registered-secret-7f3a9c"  # noqa: S105 - a test value that must never be written


class TerminalStream(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Claim to be a TTY."""
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put structlog and the root logger back as they were after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def secrets() -> SecretRegistry:
    """Return the registry the logging under test redacts with (the app owns one per run)."""
    return SecretRegistry()


@pytest.fixture
def stream(secrets: SecretRegistry) -> io.StringIO:
    """Configure JSON logging at debug level onto a non-terminal stream and return it."""
    output = io.StringIO()
    logs.configure(LogSettings(level="debug"), stream=output, secrets=secrets)
    return output


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Parse every line written so far as one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class TestFormat:
    """The renderer follows the stream and the settings."""

    def test_off_a_terminal_every_line_is_json_with_a_utc_timestamp(self, stream: io.StringIO) -> None:
        """Auto format writes JSON lines carrying event, level and an ISO UTC timestamp."""
        logs.get_logger(source="open_tasks").info("poll_finished", items=12)
        (line,) = json_lines(stream)
        assert line["event"] == "poll_finished"
        assert (line["level"], line["source"], line["items"]) == ("info", "open_tasks", 12)
        assert line["timestamp"].endswith("Z")

    def test_on_a_terminal_lines_are_for_people(self, secrets: SecretRegistry) -> None:
        """Auto format on a TTY writes the console renderer's key=value lines, not JSON."""
        terminal = TerminalStream()
        logs.configure(LogSettings(), stream=terminal, secrets=secrets)
        logs.get_logger().info("poll_finished", items=12)
        text = terminal.getvalue()
        assert "poll_finished" in text
        assert "items" in text
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)

    def test_json_can_be_forced_on_a_terminal(self, secrets: SecretRegistry) -> None:
        """format=json wins over the TTY check."""
        terminal = TerminalStream()
        logs.configure(LogSettings(format="json"), stream=terminal, secrets=secrets)
        logs.get_logger().info("poll_finished")
        assert json.loads(terminal.getvalue())["event"] == "poll_finished"

    def test_level_filters_less_severe_events(self, secrets: SecretRegistry) -> None:
        """At warning level, info and debug events are dropped."""
        output = io.StringIO()
        logs.configure(LogSettings(level="warning"), stream=output, secrets=secrets)
        log = logs.get_logger()
        log.debug("dropped_debug")
        log.info("dropped_info")
        log.warning("kept_warning")
        assert [line["event"] for line in json_lines(output)] == ["kept_warning"]


class TestStdlib:
    """Library logging goes through the same renderer."""

    def test_stdlib_records_render_as_json_with_the_logger_name(self, stream: io.StringIO) -> None:
        """A logging.getLogger() call produces the same JSON line shape."""
        logging.getLogger("exporter.server").warning("listening on %s", ":9862")
        (line,) = json_lines(stream)
        assert line["event"] == "listening on :9862"
        assert (line["logger"], line["level"]) == ("exporter.server", "warning")

    def test_httpx_request_lines_are_quiet(self, stream: io.StringIO) -> None:
        """Log only warnings and above from httpx and httpcore, even at debug level."""
        logging.getLogger("httpx").info('HTTP Request: GET https://dc "HTTP/1.1 200 OK"')
        logging.getLogger("httpcore.connection").debug("connect_tcp.started")
        assert stream.getvalue() == ""

    def test_configuring_twice_does_not_double_lines(self, secrets: SecretRegistry) -> None:
        """A second configure() replaces the handler the first installed."""
        output = io.StringIO()
        logs.configure(LogSettings(), stream=io.StringIO(), secrets=secrets)
        logs.configure(LogSettings(), stream=output, secrets=secrets)
        logging.getLogger("lib").warning("once")
        assert len(json_lines(output)) == 1


class TestRedaction:
    """Secrets are masked by key and scrubbed by value, exceptions included."""

    @pytest.mark.parametrize(
        "key",
        ["client_secret", "password", "access_token", "authorization", "token", "secret", "bearer_token"],
    )
    def test_secret_named_keys_are_masked(self, stream: io.StringIO, key: str) -> None:
        """A value logged under a secret-sounding key never reaches the output."""
        logs.get_logger().info("token_minted", **{key: "plain-value-1234"})
        (line,) = json_lines(stream)
        assert line[key] == logs.REDACTED
        assert "plain-value-1234" not in stream.getvalue()

    def test_secret_named_keys_are_masked_inside_nested_values(self, stream: io.StringIO) -> None:
        """Dicts and lists are searched too, e.g. a logged headers mapping."""
        logs.get_logger().info("request_sent", headers={"Authorization": "Bearer abc-123-xyz"}, notes=["ok"])
        (line,) = json_lines(stream)
        assert line["headers"] == {"Authorization": logs.REDACTED}
        assert line["notes"] == ["ok"]

    def test_registered_secret_is_scrubbed_from_every_string(
        self, secrets: SecretRegistry, stream: io.StringIO
    ) -> None:
        """A registered value is replaced wherever it appears, whatever the key."""
        secrets.register(SECRET)
        logs.get_logger().info(f"event mentioning {SECRET}", url=f"https://dc/?x={SECRET}", count=3)
        text = stream.getvalue()
        assert SECRET not in text
        assert json_lines(stream)[0]["url"] == f"https://dc/?x={logs.REDACTED}"

    def test_a_very_long_value_is_cut_after_its_secrets_are_scrubbed(
        self, secrets: SecretRegistry, stream: io.StringIO
    ) -> None:
        """Any string value, nested too, is cut to LOG_VALUE_MAX; a secret across the cut leaves nothing."""
        secrets.register(SECRET)
        for offset in (len(SECRET) // 2, 3):
            long = "x" * (logs.LOG_VALUE_MAX - offset) + SECRET + "y" * 1_000_000
            logs.get_logger().info("reply_seen", body=long, nested={"keys": [long]})
        text = stream.getvalue()
        assert len(text) < 10 * logs.LOG_VALUE_MAX
        assert not any(SECRET[:n] in text for n in range(4, len(SECRET) + 1))
        for line in json_lines(stream):
            for value in (line["body"], line["nested"]["keys"][0]):
                assert value.startswith("x" * (logs.LOG_VALUE_MAX - len(SECRET)))
                assert value.endswith(" more characters]")

    def test_registered_secret_is_scrubbed_from_exceptions_in_json(
        self, secrets: SecretRegistry, stream: io.StringIO
    ) -> None:
        """The exception message and its traceback are rendered first, then scrubbed."""
        secrets.register(SECRET)
        try:
            raise RuntimeError(f"token endpoint said {SECRET}")  # noqa: TRY301 - the exception under test
        except RuntimeError:
            logs.get_logger().exception("poll_crashed")
        assert SECRET not in stream.getvalue()
        assert "RuntimeError" in stream.getvalue()

    def test_registered_secret_is_scrubbed_from_console_tracebacks(self, secrets: SecretRegistry) -> None:
        """The console renderer gets a pre-rendered, scrubbed traceback."""
        secrets.register(SECRET)
        terminal = TerminalStream()
        logs.configure(LogSettings(), stream=terminal, secrets=secrets)
        try:
            raise ValueError(SECRET)  # noqa: TRY301 - the exception under test
        except ValueError:
            logs.get_logger().exception("poll_crashed")
        assert "ValueError" in terminal.getvalue()
        assert SECRET not in terminal.getvalue()

    def test_registered_secret_is_scrubbed_from_stdlib_exceptions(
        self, secrets: SecretRegistry, stream: io.StringIO
    ) -> None:
        """logging.exception() from a library is scrubbed like structlog's own events."""
        secrets.register(SECRET)
        try:
            raise OSError(f"cannot open {SECRET}")  # noqa: TRY301 - the exception under test
        except OSError:
            logging.getLogger("lib").exception("failed")
        assert "OSError" in stream.getvalue()
        assert SECRET not in stream.getvalue()

    def test_objects_are_rendered_before_scrubbing(
        self, secrets: SecretRegistry, stream: io.StringIO
    ) -> None:
        """An object whose str() holds a secret is stringified and scrubbed, not left to the renderer."""
        secrets.register(SECRET)
        logs.get_logger().info("error_seen", error=ValueError(SECRET))
        assert SECRET not in stream.getvalue()

    def test_forgotten_secret_is_scrubbed_until_newer_ones_retire_it(
        self, secrets: SecretRegistry, stream: io.StringIO
    ) -> None:
        """A replaced token stays masked for late replies, then leaves the list, which stays short."""
        secrets.register("short-lived-token-value")
        secrets.forget("short-lived-token-value")
        logs.get_logger().info("late", text="short-lived-token-value")
        for n in range(RETIRED_KEPT):
            secrets.register(f"later-token-{n:04d}")
            secrets.forget(f"later-token-{n:04d}")
        logs.get_logger().info("later", text="short-lived-token-value")
        assert [line["text"] for line in json_lines(stream)] == [logs.REDACTED, "short-lived-token-value"]

    def test_very_short_values_are_not_registered(self, secrets: SecretRegistry, stream: io.StringIO) -> None:
        """A two-letter "secret" would blank out ordinary words, so it is ignored."""
        secrets.register("ab")
        logs.get_logger().info("about_tabs")
        assert json_lines(stream)[0]["event"] == "about_tabs"
