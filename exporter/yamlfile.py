"""Reading an operator's YAML file (``--config.file``, ``--web.config.file``) without trusting it.

One reader for both files, through ``small_files``' guards: only a regular file, at most
1 MiB of it (a settings file is a few KiB; a 300 MB one would parse for minutes), UTF-8,
and nesting the parser can follow (PyYAML recurses per level and raises RecursionError at
about a thousand). Every problem is one ``ConfigError`` line naming the setting and the
file, never the file's content, which may hold a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import yaml

from exporter.errors import ConfigError
from exporter.small_files import read_small_text

if TYPE_CHECKING:
    from pathlib import Path

MAX_BYTES: Final = 1024 * 1024


def read_mapping(path: Path, setting: str, *, expected: str) -> dict[str, Any]:
    """Return the file's top-level mapping ({} for an empty file); `expected` says what it should hold."""
    text = _read_text(path, setting)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {yaml_line(text, mark.line)}" if mark is not None else ""
        raise ConfigError(f"{setting}: {path} is not valid YAML{where}") from None
    except RecursionError:
        raise ConfigError(f"{setting}: {path} is nested too deeply to read") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{setting}: {path} must hold a mapping {expected}")
    return data


def _read_text(path: Path, setting: str) -> str:
    try:
        return read_small_text(path, MAX_BYTES, too_large="{path} is too large (over {kib} KiB)")
    except ValueError as problem:
        raise ConfigError(f"{setting}: {problem}") from None


def yaml_line(text: str, index: int) -> int:
    """Return the 1-based line a YAML error is on, never past the file's last line.

    The parser marks a problem found at the end of input (an unclosed bracket or quote) on
    the empty line after the last newline, which no editor shows: that is the last line.
    """
    lines = max(1, len(text.splitlines()))
    return min(index + 1, lines)
