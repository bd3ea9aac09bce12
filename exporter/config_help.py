"""Placeholders a person reads in --help: ``--api.url URL``, not ``--api.url HttpUrl``.

pydantic-settings names each flag's value after its Python type (``HttpUrl``, ``SecretStr``,
``list[str]``, ``float``). ``humanise`` replaces those with words, from the field's own
``json_schema_extra={"placeholder": ...}`` when it has one, else from its type, so that a
new setting gets a readable placeholder without anyone remembering to add one.
"""

from __future__ import annotations

import typing
from pathlib import Path
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Annotated, Final, Literal, get_args, get_origin

from pydantic import BaseModel, HttpUrl, SecretStr

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from pydantic.config import JsonDict
    from pydantic.fields import FieldInfo

_BY_TYPE: Final[dict[object, str]] = {
    HttpUrl: "URL",
    SecretStr: "SECRET",
    Path: "FILE",
    int: "N",
    float: "SECONDS",  # every float setting is a duration, but for the fractions that say so
    str: "TEXT",
}


def shown_as(word: str) -> JsonDict:
    """Return a field's ``json_schema_extra`` naming its placeholder: ``json_schema_extra=shown_as("ID")``."""
    return {"placeholder": word}


def humanise(parser: ArgumentParser, model: type[BaseModel]) -> None:
    """Give every flag of ``parser`` that takes a value a placeholder for a person, not a type name."""
    fields = dict(_fields(model, ""))
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public list of its actions
        field = fields.get(action.dest)
        if field is None or action.metavar is None:
            continue  # help, --version, boolean flags
        if action.nargs == 0:
            continue
        action.metavar = placeholder(field)


def placeholder(field: FieldInfo) -> str:
    """Return the word for one field's value: its own placeholder, else one derived from its type."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("placeholder"), str):
        return str(extra["placeholder"])
    return _for_type(field.annotation)


def _for_type(annotation: object) -> str:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _for_type(get_args(annotation)[0])
    if origin in (UnionType, typing.Union):
        kept = [arg for arg in get_args(annotation) if arg is not NoneType]
        return _for_type(kept[0]) if len(kept) == 1 else "VALUE"
    if origin is Literal:
        return "{" + ",".join(str(arg) for arg in get_args(annotation)) + "}"
    if origin is list:
        return _for_type(get_args(annotation)[0])  # repeated flags: one value each
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "SETTINGS"
    return _BY_TYPE.get(annotation, "VALUE")


def _fields(model: type[BaseModel], prefix: str) -> typing.Iterator[tuple[str, FieldInfo]]:
    for name, field in model.model_fields.items():
        dest = prefix + name
        yield dest, field
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            yield from _fields(section, dest + ".")
