"""Where settings come from, and how a problem with them is told in one line.

The plumbing ``config.load`` runs around the ``Settings`` model: the environment prefix,
the frame of the command-line parser (usage, epilog, fixed width), locating and reading
the YAML file and handing its content to ``Settings`` as its lowest-precedence source,
and ``one_line``, which names the setting at fault and where to set it, never its value.
Nothing here knows the settings themselves.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from argparse import SUPPRESS, Action, ArgumentParser, Namespace, RawDescriptionHelpFormatter
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import BaseModel
from pydantic_core import PydanticCustomError
from pydantic_settings import InitSettingsSource

from exporter import PRODUCT, yamlfile
from exporter.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    from pydantic import ValidationError
    from pydantic_core import ErrorDetails
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsError

ENV_PREFIX = "ACRONIS_EXPORTER_"
_HELP_WIDTH = 100  # fixed, so that --help reads the same in every terminal (and in the golden test)
_INVALID_SETTING = "invalid_setting"
_UNRECOGNIZED = "unrecognized arguments: "
_FLAG_SHAPE = re.compile(r"^--?[A-Za-z][A-Za-z0-9_.-]*$")
_UNPARSABLE = re.compile(
    r'field "(?P<field>[\w.]+)" from source "(?P<source>\w+)"|encountered for (?P<flag>[\w.]+):'
)
_NOT_A_SECTION = frozenset({"model_type", "model_attributes_type", "dict_type"})
_EPILOG = f"""\
Lists take repeated flags (--poll.queues a --poll.queues b) or, in the environment,
a,b or a JSON list. Secrets are best passed as files (--api.client-secret-file) or
environment variables: flags show up in the process list.

Examples:
  {PRODUCT} --demo
  ACRONIS_EXPORTER_API__CLIENT_SECRET=... {PRODUCT} \\
      --api.url https://eu2-cloud.acronis.com --api.client-id 0f1e...
  {PRODUCT} --config.file /etc/{PRODUCT}.yaml --check-config
"""
# The YAML file's content, handed from yaml_file() to yaml_source() for one parse.
_YAML_DATA: ContextVar[dict[str, Any]] = ContextVar("yaml_data", default={})  # noqa: B039 - never mutated


def invalid_setting(path: str, problem: str) -> PydanticCustomError:
    """Return a validation error that `one_line` reports as "<path>: <problem>" with where to set it."""
    return PydanticCustomError(_INVALID_SETTING, "{path}: {problem}", {"path": path, "problem": problem})


class _UsageParser(ArgumentParser):
    """argparse whose usage errors are one ConfigError line that never repeats a value given."""

    def error(self, message: str) -> NoReturn:
        """Raise the problem as a ConfigError instead of printing usage and exiting."""
        flags = [flag for action in self._actions for flag in action.option_strings]
        raise ConfigError(usage_problem(message, flags))


def usage_problem(message: str, known_flags: Collection[str]) -> str:
    """Say what argparse found wrong, naming at most an unknown flag: a value may be a secret.

    `--api.client-secrt VALUE` reaches argparse as two unrecognized tokens; only the first
    token shaped like a flag is named, cut at any ``=``, and the rest is never repeated.
    """
    if message.startswith(_UNRECOGNIZED):
        tokens = [token.split("=", 1)[0] for token in message.removeprefix(_UNRECOGNIZED).split()]
        unknown = [t for t in tokens if _FLAG_SHAPE.match(t) and t not in known_flags]
        if not unknown:
            return "unexpected value on the command line (not repeated here; values follow their flag)"
        close = difflib.get_close_matches(unknown[0], known_flags, n=1)
        hint = f"; did you mean {close[0]}?" if close else "; see --help"
        return f"unknown flag {unknown[0]}{hint}"
    # argparse quotes what it was given ("invalid choice: 'x'", "ignored explicit argument 'x'"):
    # keep what comes before the first quote, which names the flag and the kind of problem.
    problem = re.split(r"['\"]", message, maxsplit=1)[0].rstrip(" :,")
    return f"{problem}; see --help"


class _VersionAction(Action):
    """--version: print what build runs (git is asked only when the flag is given) and exit 0."""

    def __init__(self, option_strings: list[str], dest: str = SUPPRESS, **_: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=SUPPRESS, help="Print the version and exit.")

    def __call__(
        self, parser: ArgumentParser, _namespace: Namespace, _values: object, _option: str | None = None
    ) -> NoReturn:
        from exporter.build import version_text  # noqa: PLC0415 - only --version asks git

        sys.stdout.write(version_text() + "\n")  # stdout, as Go exporters and coreutils do
        parser.exit(0)


def root_parser(description: str | None) -> ArgumentParser:
    """Return the parser frame pydantic-settings adds the flags to."""
    parser = _UsageParser(
        prog=PRODUCT,
        usage="%(prog)s [flags]",
        description=description,
        epilog=_EPILOG,
        formatter_class=partial(RawDescriptionHelpFormatter, width=_HELP_WIDTH),
        allow_abbrev=False,
        add_help=True,
    )
    parser.add_argument("--version", action=_VersionAction)
    return parser


@contextmanager
def yaml_file(args: list[str], environ: dict[str, str] | None) -> Iterator[None]:
    """Read the YAML file the flags or `environ` name; `yaml_source` serves it while the block runs."""
    token = _YAML_DATA.set(_read_yaml(_yaml_path(args, environ)))
    try:
        yield
    finally:
        _YAML_DATA.reset(token)


def yaml_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource:
    """Return the YAML file's content as a settings source (empty outside `yaml_file`)."""
    data = _YAML_DATA.get()
    _sections_are_mappings(settings_cls, data)
    return InitSettingsSource(settings_cls, init_kwargs=data)


def _yaml_path(args: list[str], environ: dict[str, str] | None) -> Path | None:
    parser = _UsageParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--config.file", "--config-file", dest="file")
    known, _ = parser.parse_known_args(args)
    if known.file:
        return Path(known.file)
    from_env = (os.environ if environ is None else environ).get(f"{ENV_PREFIX}CONFIG_FILE")
    return Path(from_env) if from_env else None


def _read_yaml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    return yamlfile.read_mapping(path, "config.file", expected="of settings")


def _sections_are_mappings(settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
    """Refuse a section the file gives as one value (``api: x``), as validation would, never quoting it.

    Checked here because pydantic-settings deep-merges the environment over this source:
    with ACRONIS_EXPORTER_API__TIMEOUT set, the scalar was replaced, silently, before validation.
    """
    for name, field in settings_cls.model_fields.items():
        is_section = isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        if is_section and name in data and not isinstance(data[name], dict):
            raise ConfigError(f"{name}: expected a mapping of settings; {_section_hint(name)}")


def unparsable(error: SettingsError) -> str:
    """Describe a value pydantic-settings could not even parse (``ACRONIS_EXPORTER_API=garbage``).

    Its message names the field and the source, never the value; only those are kept.
    """
    match = _UNPARSABLE.search(str(error))
    if match is None:
        return "settings: a flag or environment variable cannot be parsed; see --help"
    name = match["field"] or match["flag"]
    where = {
        "EnvSettingsSource": f"the environment variable {ENV_PREFIX}{name.upper()}",
        "CliSettingsSource": f"the flag --{name}",
    }.get(match["source"] or "CliSettingsSource", "its value")
    hint = _section_hint(name) if "." not in name else "see --help"
    return f"{name}: cannot parse {where}; {hint}"


def _section_hint(name: str) -> str:
    variable = f"{ENV_PREFIX}{name.upper()}__<SETTING>"
    return f"a section takes one value per setting, e.g. --{name}.<setting> or {variable}"


def one_line(error: ValidationError, top_level: Collection[str]) -> str:
    """Describe the first problem in one line naming the setting and how to set it, never its value.

    `top_level` holds the root model's field names: only those, and dotted paths, are settings
    with a flag and a variable to suggest.
    """
    problems = error.errors(include_input=False, include_url=False)
    first = _describe(problems[0], top_level)
    more = len(problems) - 1
    return f"{first} (and {more} more)" if more else first


def _describe(problem: ErrorDetails, top_level: Collection[str]) -> str:
    if problem["type"] == _INVALID_SETTING:
        path = str(problem.get("ctx", {}).get("path", ""))
        text = problem["msg"]
    elif problem["type"] in _NOT_A_SECTION and len(problem["loc"]) == 1:
        name = str(problem["loc"][0])
        return f"{name}: expected a mapping of settings; {_section_hint(name)}"
    elif problem["type"] == "extra_forbidden":
        return _setting_path(problem["loc"]) + ": unknown setting"
    else:
        path = _setting_path(problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if message[1:2].islower():  # "Input should..." reads on after a colon; "URL ..." keeps its case
            message = message[:1].lower() + message[1:]
        text = f"{path}{_item(problem['loc'])}: {message}"
    if not path or ("." not in path and path not in top_level):
        return text
    flag = "--" + path.replace("_", "-")
    env = ENV_PREFIX + path.replace(".", "__").upper()
    return f"{text} (set {flag} or {env})"


def _setting_path(loc: tuple[int | str, ...]) -> str:
    """Return the setting a problem is in: a list's position is no setting (no --x.0 flag exists)."""
    return ".".join(str(part) for part in loc if not isinstance(part, int))


def _item(loc: tuple[int | str, ...]) -> str:
    """Say which item of a list is at fault, counting from 1 as people do."""
    positions = [part for part in loc if isinstance(part, int)]
    return f" (item {positions[-1] + 1})" if positions else ""
