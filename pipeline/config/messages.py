"""Pydantic validation errors as the one-line, dotted-path messages config.toml's readers see."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any, get_args

from pydantic import (
    BaseModel,
)
from pydantic_core import ErrorDetails

from pipeline.config.settings import Settings


def _describe(error: ErrorDetails) -> str:
    """One pydantic error as 'dotted.path: plain-English message'."""
    loc = error["loc"]
    message = _MESSAGES.get(error["type"], _default_message)(error)
    return f"{_dotted(loc)}: {message}" if loc else message


def _dotted(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _shown(value: object) -> str:
    """A value as it looks in TOML, shortened."""
    if isinstance(value, dict | list):
        return "a table" if isinstance(value, dict) else "an array"
    text = repr(value) if isinstance(value, str) else str(value)
    text = text.lower() if isinstance(value, bool) else text
    return text if len(text) <= 60 else text[:57] + "..."


_TOML_TYPES = {bool: "boolean", int: "integer", float: "float", str: "string"}


def _got(value: object) -> str:
    if isinstance(value, dict | list):
        return f"got {_shown(value)}"
    return f"got {_shown(value)} ({_TOML_TYPES.get(type(value), type(value).__name__)})"


def _expected(what: str) -> Callable[[ErrorDetails], str]:
    return lambda error: f"must be {what}, {_got(error['input'])}"


def _not_a_string(error: ErrorDetails) -> str:
    """'must be a string'; for a paper written as a number (`examples = [2312.00750]`, which TOML
    reads as the float 2312.0075, its id's last zero gone) how to write it instead."""
    message = f"must be a string, {_got(error['input'])}"
    loc = error["loc"]
    paper = len(loc) >= 2 and loc[-2] in ("examples", "counter_examples")
    if paper and isinstance(error["input"], int | float) and not isinstance(error["input"], bool):
        message += (
            ': write each paper in quotes ("2312.00752", not 2312.00752: TOML reads that as a'
            " number, and drops an id's last 0)"
        )
    return message


def _unknown_key(error: ErrorDetails) -> str:
    key = str(error["loc"][-1])
    known = [name for name in _fields_at(error["loc"][:-1]) if name != "config_path"]
    close = difflib.get_close_matches(key, known, n=1)
    return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")


def _fields_at(loc: Sequence[int | str]) -> list[str]:
    """The keys allowed in the table at `loc`, found by walking the Settings models."""
    model: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = next((a for a in get_args(field.annotation) if a is not Ellipsis), field.annotation)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def _one_of(error: ErrorDetails) -> str:
    expected = str(error.get("ctx", {}).get("expected", ""))
    head, _, last = expected.rpartition(" or ")
    choices = f"{head}, {last}" if head else expected
    return f"must be one of {choices}, got {_shown(error['input'])}"


def _not_a_list(error: ErrorDetails) -> str:
    loc = error["loc"]
    if len(loc) == 1 and loc[0] in ("sources", "topics"):
        return f"must be an array of tables (write [[{loc[0]}]]), {_got(error['input'])}"
    return f"must be an array, {_got(error['input'])}"


def _bound(word: str) -> Callable[[ErrorDetails], str]:
    def message(error: ErrorDetails) -> str:
        ctx = error.get("ctx", {})
        limit = next(iter(ctx.values()), "?")
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {word} {limit}, got {_shown(error['input'])}"

    return message


def _default_message(error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


_MESSAGES: dict[str, Callable[[ErrorDetails], str]] = {
    "missing": lambda error: "required key is missing",
    "extra_forbidden": _unknown_key,
    "literal_error": _one_of,
    "string_type": _not_a_string,
    "int_type": _expected("an integer"),
    "float_type": _expected("a number"),
    "bool_type": _expected("true or false"),
    "path_type": _expected("a path (a string)"),
    "model_type": _expected("a table"),
    "dict_type": _expected("a table"),
    "tuple_type": _not_a_list,
    "list_type": _not_a_list,
    "finite_number": lambda error: f"must be a finite number, got {_shown(error['input'])}",
    "greater_than": _bound("greater than"),
    "greater_than_equal": _bound("at least"),
    "less_than": _bound("less than"),
    "less_than_equal": _bound("at most"),
}
