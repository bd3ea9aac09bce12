"""The README's configuration table, generated from the settings model so it never drifts.

    python -m scripts.config_table           # print the table
    python -m scripts.config_table --write   # rewrite it in README.md, between its markers

Each row is one setting: its flag, its environment variable, its default and the field's
docstring, which is also its --help text. tests/test_docs.py fails when README.md's table
differs from this output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel

from exporter.config import ENV_PREFIX, Settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydantic.fields import FieldInfo

README: Final = Path(__file__).resolve().parent.parent / "README.md"
START: Final = "<!-- config-table:start (python -m scripts.config_table --write) -->"
END: Final = "<!-- config-table:end -->"
_HEADER: Final = ("| flag | environment variable | default | meaning |", "|---|---|---|---|")


def rows() -> Iterator[str]:
    """Yield one Markdown row per setting, sections first, in the model's order."""
    shortcuts = {f"--{name}": f"--{alias}" for name, alias in _shortcuts().items()}
    for path, field in _leaves(Settings, ()):
        flag = "--" + ".".join(path).replace("_", "-")
        flag = shortcuts.get(flag, flag)
        env = ENV_PREFIX + "__".join(part.upper() for part in path)
        meaning = " ".join((field.description or "").split()).replace("|", "\\|")
        yield f"| `{flag}` | `{env}` | {_default(field)} | {meaning} |"


def table() -> str:
    """Return the whole table, header included, ending in a newline."""
    return "\n".join([*_HEADER, *rows()]) + "\n"


def readme_table(text: str) -> str:
    """Return the table between the markers of README.md's ``text`` ("" when it has none)."""
    if START not in text or END not in text:
        return ""
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def write(readme: Path = README) -> None:
    """Replace the table between the markers in ``readme`` with the generated one."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{readme} lacks the table's markers: {START} ... {END}")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{table()}{END}{tail}", encoding="utf-8")


def _leaves(model: type[BaseModel], prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], FieldInfo]]:
    for name, field in model.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            yield from _leaves(section, (*prefix, name))
        else:
            yield (*prefix, name), field


def _shortcuts() -> dict[str, str]:
    shortcuts = Settings.model_config.get("cli_shortcuts") or {}
    return {name: alias if isinstance(alias, str) else alias[0] for name, alias in shortcuts.items()}


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`" + ", ".join(str(item) for item in value) + "`"
    return f"`{value}`"


def main(argv: list[str]) -> int:
    """Print the table, or with --write put it into README.md."""
    if argv == ["--write"]:
        write()
        return 0
    sys.stdout.write(table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
