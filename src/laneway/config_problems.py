"""pydantic's validation errors in laneway's words: one line per problem, naming the section
and key as the file writes them ("unknown key 'x' in [server]", "[budgets] global: ...").

A value is quoted back only when it cannot be a secret (numbers, booleans, and text under keys
that name no key, token, password, DSN or URL).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

# Sections that are tables of tables: [providers.<name>], [lanes.<name>], [models.<name>].
_NAMED_TABLES = frozenset({"providers", "lanes", "models"})
_SECRETIVE = re.compile(r"key|secret|token|password|dsn|url", re.IGNORECASE)
_SHOWN_MAX = 60
_PREFIXES = ("Value error, ", "Assertion failed, ")
_BOUNDS = {
    "greater_than": "more than {gt}",
    "greater_than_equal": "{ge} or more",
    "less_than": "less than {lt}",
    "less_than_equal": "{le} or less",
}
_KINDS = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "decimal_parsing": "a number",
    "decimal_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text (in quotes)",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "tuple_type": "a list",
    "list_type": "a list",
}


def problems(exc: ValidationError) -> list[str]:
    """One line per problem, in the file's terms."""
    errors = _merged_choices(exc.errors(include_url=False))
    lines = [_problem(error) for error in errors]
    return list(dict.fromkeys(lines))  # union branches can repeat one problem


def _merged_choices(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """A union of literals fails once per branch: one error listing every choice instead."""
    merged: list[ErrorDetails] = []
    choices: dict[tuple[object, ...], tuple[ErrorDetails, list[str]]] = {}
    for error in errors:
        if error["type"] != "literal_error":
            merged.append(error)
            continue
        loc = tuple(p for p in error["loc"] if "[" not in str(p))
        expected = str((error.get("ctx") or {}).get("expected", ""))
        items = [item for part in expected.split(" or ") for item in part.split(", ")]
        if loc in choices:
            choices[loc][1].extend(items)
            continue
        choices[loc] = (error, items)
        merged.append(error)
    for error, items in choices.values():
        unique = list(dict.fromkeys(items))
        listed = " or ".join([", ".join(unique[:-1]), unique[-1]] if len(unique) > 1 else unique)
        error["ctx"] = {**(error.get("ctx") or {}), "expected": listed}
    return merged


def _problem(error: ErrorDetails) -> str:
    loc = [part for part in error["loc"] if "[" not in str(part)]  # union branch tags
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        *where, key = loc
        if not where:
            what = "section" if isinstance(error["input"], dict) else "key"
            return f"unknown {what} " + (f"[{key}]" if what == "section" else f"'{key}'")
        section, rest = _section(where)
        return f"unknown key '{key}' in {_where(section, rest)}"
    return f"{_place(loc)}{_wording(error, loc)}"


def _wording(error: ErrorDetails, loc: list[int | str]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    got = _got(error["input"], loc)
    if kind == "missing":
        return "missing (it is required)"
    if kind in _BOUNDS:
        return "must be " + _BOUNDS[kind].format(**{k: _plain(v) for k, v in ctx.items()}) + got
    if kind in _KINDS:
        return f"must be {_KINDS[kind]}" + got
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}" + got
    if kind in ("too_short", "too_long"):
        least = kind == "too_short"
        bound = ctx.get("min_length" if least else "max_length")
        most = "at least" if least else "at most"
        return f"must list {most} {bound}, got {ctx.get('actual_length')}"
    message = error["msg"]
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    return message.replace("Input should be", "must be")


def _section(parts: list[int | str]) -> tuple[str, list[int | str]]:
    """The [section] the file writes for these parts, and the parts within it."""
    size = 2 if parts[0] in _NAMED_TABLES and len(parts) > 1 else 1
    return ".".join(str(p) for p in parts[:size]), parts[size:]


def _where(section: str, rest: list[int | str]) -> str:
    """[section], an entry of an array of tables as "[section] item 2", then the rest dotted."""
    text = f"[{section}]"
    if rest and isinstance(rest[0], int):
        text += f" item {rest[0] + 1}"
        rest = rest[1:]
    return f"{text} {_dotted(rest)}" if rest else text


def _place(loc: list[int | str]) -> str:
    if not loc:
        return ""
    if len(loc) == 1:
        return f"{loc[0]}: "
    section, rest = _section(loc)
    return f"{_where(section, rest)}: "


def _dotted(parts: list[int | str]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
    return text


def _got(value: Any, loc: list[int | str]) -> str:
    if isinstance(value, bool):
        return ", got " + ("true" if value else "false")
    if isinstance(value, int | float | Decimal):
        return f", got {_plain(value)}"
    if isinstance(value, str) and not any(_SECRETIVE.search(str(p)) for p in loc):
        shown = value if len(value) <= _SHOWN_MAX else value[:_SHOWN_MAX] + "..."
        return f", got {shown!r}"
    return ""


def _plain(value: object) -> str:
    if isinstance(value, float):
        return format(value, "g")  # 0.0 reads as 0
    return str(value) if isinstance(value, int | Decimal) else repr(value)
