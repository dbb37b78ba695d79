"""Reading request fields the way OpenAI validates them, with OpenAI's messages on failure."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from laneway.wire.errors import (
    ApiError,
    invalid_type,
    invalid_value,
    missing_parameter,
    unknown_parameter,
)

Body = Mapping[str, Any]


def reject_unknown(body: Body, known: frozenset[str]) -> None:
    for key in body:
        if key not in known:
            raise unknown_parameter(key)


def string(body: Body, key: str, *, param: str | None = None, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing_parameter(param or key)
        return None
    if not isinstance(value, str):
        raise invalid_type(param or key, "a string", value)
    return value


def required_string(body: Body, key: str, *, param: str | None = None) -> str:
    value = string(body, key, param=param, required=True)
    if value is None:  # string() raised already; this narrows the type
        raise missing_parameter(param or key)
    return value


def boolean(body: Body, key: str, default: bool, *, param: str | None = None) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_type(param or key, "a boolean", value)
    return value


def integer(
    body: Body, key: str, *, minimum: int | None = None, param: str | None = None
) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(param or key, "an integer", value)
    if minimum is not None and value < minimum:
        raise ApiError(
            400,
            f"Invalid '{param or key}': integer below minimum value. Expected a value >= "
            f"{minimum}, but got {value} instead.",
            param=param or key,
            code="integer_below_min_value",
        )
    return value


def number(
    body: Body, key: str, *, low: float, high: float, param: str | None = None
) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(param or key, "a number", value)
    if not low <= value <= high:
        raise invalid_value(
            param or key,
            f"Invalid '{param or key}': expected a value between {low:g} and {high:g}, "
            f"but got {value} instead.",
        )
    return float(value)


def obj(body: Body, key: str, *, param: str | None = None) -> Mapping[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_type(param or key, "an object", value)
    return value


def array(body: Body, key: str, *, param: str | None = None) -> list[Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid_type(param or key, "an array", value)
    return value


def one_of(value: str | None, allowed: Collection[str], param: str) -> str | None:
    if value is None or value in allowed:
        return value
    listed = ", ".join(f"'{a}'" for a in allowed)
    raise invalid_value(param, f"Invalid value: '{value}'. Supported values are: {listed}.")


def metadata(body: Body) -> dict[str, str] | None:
    """At most 16 pairs; keys up to 64 characters, string values up to 512."""
    value = obj(body, "metadata")
    if value is None:
        return None
    if len(value) > 16:
        raise invalid_value(
            "metadata",
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            f"properties, but got {len(value)} instead.",
        )
    for key, item in value.items():
        if len(key) > 64:
            raise invalid_value(
                "metadata",
                f"Invalid 'metadata': key too long. Expected a key of at most 64 characters, "
                f"but got a key of {len(key)} characters instead.",
            )
        if not isinstance(item, str):
            raise invalid_type(f"metadata.{key}", "a string", item)
        if len(item) > 512:
            raise invalid_value(
                f"metadata.{key}",
                f"Invalid 'metadata.{key}': string too long. Expected a string with maximum "
                f"length 512, but got a string with length {len(item)} instead.",
            )
    return dict(value)


SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority", "fast")
