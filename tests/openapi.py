"""Validators for OpenAI's OpenAPI spec (shared/openai-spec/openapi.yaml), loaded once per process.

    validator("Response").validate(body)

Component `$ref`s resolve inside the spec; OpenAPI 3.1 schemas are JSON Schema 2020-12.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.paths import OPENAI_SPEC

_URI = "urn:openai-spec"


def _allow_null(node: Any) -> Any:
    """Rewrite OpenAPI 3.0's `nullable: true`, which the 3.1 spec still uses in places and
    JSON Schema ignores, as JSON Schema's own "or null"."""
    if isinstance(node, list):
        return [_allow_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _allow_null(value) for key, value in node.items()}
    if node.pop("nullable", False) is not True:
        return node
    if "enum" in node and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    kind = node.get("type")
    if isinstance(kind, str):
        node["type"] = [kind, "null"]
        return node
    if isinstance(kind, list):
        node["type"] = [*kind, "null"] if "null" not in kind else kind
        return node
    return {"anyOf": [node, {"type": "null"}]}


@functools.cache
def _registry() -> Registry[Any]:
    with (OPENAI_SPEC / "openapi.yaml").open(encoding="utf-8") as file:
        spec = _allow_null(yaml.load(file, Loader=yaml.CSafeLoader))
    registry: Registry[Any] = Registry().with_resource(
        _URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    return registry


@functools.cache
def validator(component: str) -> jsonschema.Draft202012Validator:
    """A validator for `#/components/schemas/<component>`."""
    schema = {"$ref": f"{_URI}#/components/schemas/{component}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry())
