"""The command line: ``acronis-task-exporter`` and ``python -m exporter``.

Exit codes: 0 success (or a clean stop on SIGTERM/SIGINT); 1 a runtime failure (a
source failed in ``--once``, credentials refused or any other failed check in
``--check-config``, the listen port taken); 2 unusable settings, including a usage error
or a secret or TLS file that does not load, reported as one line on stderr that never
holds a secret nor a value given on the command line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, TextIO


def _note_early_stop(signum: int, _frame: object) -> None:
    """Remember a SIGTERM/SIGINT that came while starting; ``main`` stops as soon as it can."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one kills, as later
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _early_stops.append(signum)


_early_stops: list[int] = []
_AS_COMMAND = __name__ == "__main__" or sys.argv[0].rpartition("/")[2] == "acronis-task-exporter"
# Before the imports below (about half a second): a stop then is a clean exit 0, not death
# by the signal. Only when this runs as the command: a test importing main() keeps its own.
if _AS_COMMAND:
    signal.signal(signal.SIGTERM, _note_early_stop)
    signal.signal(signal.SIGINT, _note_early_stop)

from contextlib import ExitStack  # noqa: E402 - after the early handlers, on purpose

from exporter import PRODUCT, __version__, config, healthcheck, logs, signals  # noqa: E402
from exporter.errors import ApiError, ConfigError  # noqa: E402
from exporter.redaction import SecretRegistry  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

    from exporter.config import LogSettings, Settings
    from exporter.listener import MetricsServer


def main(argv: Sequence[str] | None = None) -> int:
    """Run the exporter with ``argv`` (default: the process arguments); return the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    if "--healthcheck" in args:  # in a container: the flags the exporter (PID 1) was given come first
        args = [*healthcheck.entrypoint_args(), *args]
    try:
        settings = config.load(args)
    except ConfigError as error:
        return _fail(str(error), status=2)
    except SystemExit as exit_:  # argparse's --help (0); usage errors arrive as ConfigError
        return exit_.code if isinstance(exit_.code, int) else 2
    except Exception as error:  # noqa: BLE001 - the backstop: a RecursionError deep in a parser
        # Only the exception's kind: its text may quote the input, and the input may be a secret.
        deep = ": a value is nested too deeply" if isinstance(error, RecursionError) else ""
        return _fail(f"configuration could not be read ({type(error).__name__}{deep})", status=2)
    secrets = SecretRegistry()  # this run's: filled from the settings by app.register_secrets
    logs.configure(_log_settings(settings), secrets=secrets)
    try:
        _raise_on_signals()  # raises at once for a stop that came while starting
        signals.install()  # SIGHUP and SIGUSR1 are logged, never fatal
        return _run(settings, secrets)
    except ConfigError as error:  # a secret file that vanished between validation and use
        return _fail(str(error), status=2, secrets=secrets)
    except StopRequested as stop:
        logs.get_logger(component="main").info("exporter_stopped_by_signal", signal=stop.signal.name)
        # Serving ends this way by design; a one-shot mode cut short did not finish (nor say healthy).
        one_shot = settings.once or settings.check_config or settings.healthcheck
        return _exit_now(128 + stop.signal if one_shot else 0)


def _exit_now(status: int) -> int:
    """End the process with ``status`` at once, skipping the interpreter's teardown (as the command).

    Everything is shut down and logged by now. The teardown is a full garbage collection of
    the heap, and bcrypt checks abandoned on their daemon threads keep the cores busy
    meanwhile: that stretched the exit to seconds. A caller of ``main()`` gets ``status``.
    """
    if not _AS_COMMAND:
        return status
    logging.shutdown()  # flushes the log handlers, as the teardown would
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe has nothing left to flush
            stream.flush()
    os._exit(status)


def _log_settings(settings: Settings) -> LogSettings:
    """Log errors only for the one-shot answers (--check-config, --healthcheck): a verdict line.

    Their info lines (the settings dump, the token minted) would bury that line, so they
    log errors only, unless --log.level was chosen explicitly.
    """
    one_shot = settings.check_config or settings.healthcheck
    if not one_shot or "level" in settings.log.model_fields_set:
        return settings.log
    return settings.log.model_copy(update={"level": "error"})


def _run(settings: Settings, secrets: SecretRegistry) -> int:
    from exporter.app import register_secrets  # noqa: PLC0415 - keeps --help fast

    register_secrets(settings, secrets)  # first of all, so that no later line can carry a secret
    if settings.healthcheck:  # before --demo: the check starts nothing, it asks the running one
        return _healthcheck(settings)
    with ExitStack() as cleanup:
        if settings.demo:
            settings = _start_demo(settings, cleanup, secrets)
        # After the demo rewrite, so the log shows what really runs; secrets are masked.
        logs.get_logger(component="main").info(
            "config_loaded", version=__version__, settings=settings.redacted()
        )
        if settings.check_config:
            return _check_config(settings, secrets)
        if settings.once:
            return _once(settings, secrets)
        return _serve(settings, secrets)


class StopRequested(BaseException):
    """Raised in the main thread by SIGTERM/SIGINT; a BaseException so no ``except Exception`` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signal = signal.Signals(signum)


def _raise_on_signals() -> None:
    """Turn the first SIGTERM or SIGINT into StopRequested; a second one kills as usual.

    Raising, rather than setting an Event from the handler, matters: the handler runs
    between two bytecodes of the main thread, which may hold that Event's lock inside
    ``wait()``, and ``set()`` would then deadlock.
    """

    def handle(signum: int, _frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        raise StopRequested(signum)

    if threading.current_thread() is threading.main_thread():  # only it may set handlers
        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
        if _early_stops:
            handle(_early_stops[0], None)


def _fail(message: str, *, status: int, secrets: SecretRegistry | None = None) -> int:
    """Say ``message`` on stderr as one line, scrubbed of ``secrets`` (none known yet: URL passwords only)."""
    scrubbed = (secrets if secrets is not None else SecretRegistry()).scrub(message)
    one_line = " ".join(scrubbed.split())  # scrubbed whole, then joined: always one line
    _say(f"{PRODUCT}: error: {one_line}", sys.stderr)
    return status


def _say(line: str, stream: TextIO) -> None:
    """Write one line for a person (not a log event: these are the CLI's answers)."""
    stream.write(line + "\n")
    stream.flush()


def _start_demo(settings: Settings, cleanup: ExitStack, secrets: SecretRegistry) -> Settings:
    """Start the demo's simulator; return settings pointed at it, its credentials registered."""
    from exporter import app  # noqa: PLC0415

    simulator = app.start_demo_simulator()
    cleanup.callback(simulator.stop)
    astra = app.start_demo_astra()  # beside it: the demo shows both sources
    cleanup.callback(astra.stop)
    logs.get_logger(component="main").info("demo_simulator_started", url=simulator.url, astra_url=astra.url)
    demo = app.demo_astra_settings(app.demo_settings(settings, simulator), astra)
    app.register_secrets(demo, secrets)  # the simulators' credentials
    return demo


def _check_config(settings: Settings, secrets: SecretRegistry) -> int:
    from exporter.app import check_credentials  # noqa: PLC0415 - keeps --help fast

    try:
        tasks = check_credentials(settings, secrets)
    except ApiError as error:
        return _fail(
            f"{settings.api.base_url} refused the check ({error.reason}): {error}", status=1, secrets=secrets
        )
    except ConfigError:
        raise  # unusable settings: main() says so with exit 2
    except Exception as error:  # noqa: BLE001 - the check answers in one line, never a traceback
        return _fail(
            f"{settings.api.base_url} check failed ({type(error).__name__}): {error}",
            status=1,
            secrets=secrets,
        )
    _say(
        f"{PRODUCT}: configuration ok: {settings.api.base_url} granted a token; {tasks} tasks visible",
        sys.stdout,
    )
    return 0


def _healthcheck(settings: Settings) -> int:
    healthy, what = healthcheck.probe(settings.web)
    _say(f"{PRODUCT}: {'healthy' if healthy else 'unhealthy'}: {what}", sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


def _once(settings: Settings, secrets: SecretRegistry) -> int:
    from exporter.app import build  # noqa: PLC0415 - keeps --help fast

    exporter = build(settings, secrets=secrets)
    try:
        snapshot = exporter.poller.poll_once()
        sys.stdout.buffer.write(exporter.exposition.body("text"))
        sys.stdout.flush()
    finally:
        exporter.close()
    return 0 if snapshot.up else 1


def _serve(settings: Settings, secrets: SecretRegistry) -> int:
    from exporter.app import build  # noqa: PLC0415 - keeps --help fast

    exporter = build(settings, secrets=secrets)
    try:
        server = exporter.bind()
    except OSError as error:
        exporter.close()
        return _fail(
            f"cannot listen on {settings.web.listen_address}: {error.strerror or error}",
            status=1,
            secrets=secrets,
        )
    if settings.demo:
        _announce_demo(server, settings)
    exporter.serve(server)  # returns by StopRequested, after shutting everything down
    return 0


def _announce_demo(server: MetricsServer, settings: Settings) -> None:
    """Tell a newcomer, in one line, where to look."""
    host, port = server.address
    shown = "localhost" if host in {"", "::", "0.0.0.0"} else host  # noqa: S104 - comparing, not binding
    shown = f"[{shown}]" if ":" in shown else shown
    _say(
        f"{PRODUCT} demo: metrics at {server.scheme}://{shown}:{port}{settings.web.telemetry_path} "
        f"(simulated Acronis API at {settings.api.base_url}, Astra Control at {settings.astra.base_url}; "
        "Ctrl-C to stop)",
        sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(main())
