"""Schema-valid values: every output validates, one seed gives one value, bad schemas are named."""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laneway.emulator.schema_values import UnsupportedSchema, value_for_schema

# jsonschema checks date, email, ipv4, ipv6 and uuid by itself; the other formats the module
# emits need optional packages there, so these stand in for them.
OFFSET = r"(\.\d+)?(Z|[+-]\d\d:\d\d)"
FORMAT_CHECKS: dict[str, Callable[[str], object]] = {
    "date-time": lambda s: (
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d" + OFFSET, s)
        and datetime.fromisoformat(s).tzinfo
    ),
    "time": lambda s: re.fullmatch(r"\d\d:\d\d:\d\d" + OFFSET, s) and time.fromisoformat(s).tzinfo,
    "duration": lambda s: re.fullmatch(
        r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?", s
    ),
    "uri": lambda s: urlsplit(s).scheme and urlsplit(s).netloc,
    "hostname": lambda s: re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", s),
}
FORMATS = jsonschema.FormatChecker()
for _name, _check in FORMAT_CHECKS.items():
    # Formats constrain strings only; fromisoformat's ValueError counts as a failure.
    FORMATS.checks(_name, raises=ValueError)(
        lambda s, check=_check: not isinstance(s, str) or bool(check(s))
    )


@pytest.mark.parametrize(
    ("fmt", "bad"),
    [
        ("date-time", "2026-01-01 10:00:00"),
        ("date-time", "2026-13-01T00:00:00Z"),
        ("time", "10:00:00"),
        ("duration", "P"),
        ("uri", "example.com/a"),
        ("hostname", "two words"),
        ("date", "2026-02-30"),
        ("uuid", "not-a-uuid"),
        ("email", "nobody"),
        ("ipv4", "1.2.3"),
    ],
)
def test_the_format_checks_can_fail(fmt: str, bad: str) -> None:
    assert not FORMATS.conforms(bad, fmt)


def generate(schema: Any, seed: int) -> Any:
    return value_for_schema(schema, random.Random(seed))


def assert_valid(schema: Any, value: Any) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(value)
    assert orjson.loads(orjson.dumps(value)) == value  # plain JSON types only


def strict(properties: dict[str, Any]) -> dict[str, Any]:
    """An object in OpenAI's strict style: every property required, nothing extra."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


WEATHER = strict(
    {
        "location": {"type": "string", "description": "City and country, e.g. Paris, France"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "include_hourly": {"type": "boolean"},
    }
)
EXTRACTION = strict(
    {
        "vendor": {"type": "string", "minLength": 2, "maxLength": 40},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "line_items": {
            "type": "array",
            "minItems": 1,
            "items": strict(
                {
                    "description": {"type": "string"},
                    "quantity": {"type": "integer", "minimum": 1},
                    "unit_price": {"type": "number", "minimum": 0, "multipleOf": 0.01},
                    "category": {"type": "string", "enum": ["parts", "labour", "travel"]},
                    "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                }
            ),
        },
        "notes": {"type": ["string", "null"]},
        "status": {"anyOf": [{"type": "string", "enum": ["paid", "due"]}, {"type": "null"}]},
    }
)
DEFS_AND_REFS = {
    "$defs": {
        "address": strict({"street": {"type": "string"}, "postcode": {"$ref": "#/$defs/code"}}),
        "code": {"type": "string", "pattern": "^[0-9]{5}$"},
    },
    "definitions": {"money": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000}},
    **strict(
        {
            "billing": {"$ref": "#/$defs/address"},
            "shipping": {"anyOf": [{"$ref": "#/$defs/address"}, {"type": "null"}]},
            "total": {"$ref": "#/definitions/money"},
        }
    ),
}
TREE = strict({"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}})
LINKED_LIST = {
    "$defs": {
        "node": strict(
            {
                "value": {"type": "integer"},
                "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
            }
        )
    },
    "$ref": "#/$defs/node",
}
FORMATTED = strict(
    {
        name.replace("-", "_"): {"type": "string", "format": name}
        for name in (
            "date-time",
            "date",
            "time",
            "email",
            "uuid",
            "uri",
            "ipv4",
            "hostname",
            "duration",
        )
    }
)
NUMBERS = strict(
    {
        "fives": {"type": "integer", "minimum": 10, "maximum": 95, "multipleOf": 5},
        "fraction": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "quarters": {"type": "number", "minimum": -2, "maximum": 2, "multipleOf": 0.25},
        "tenths": {"type": "number", "minimum": 0.5, "maximum": 3, "multipleOf": 0.1},
        "halves": {"type": "integer", "multipleOf": 1.5},
        "negative": {"type": "integer", "maximum": -1000},
        "big": {"type": "number", "minimum": 1e6},
    }
)
CONSTS = strict(
    {
        "version": {"const": "v1"},
        "point": {"const": {"x": 1, "y": [2, 3]}},
        "flag": {"type": "boolean", "const": False},
        "mixed_enum": {"type": "string", "enum": [1, "one", None, True]},
        "label": {"type": "string"},  # so that seeds can differ
    }
)
TUPLES = strict(
    {
        "pair": {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "items": False,
        },
        "head_then_floats": {
            "type": "array",
            "prefixItems": [{"const": "header"}],
            "items": {"type": "number"},
            "minItems": 3,
        },
        "fixed": {"type": "array", "items": {"type": "boolean"}, "minItems": 2, "maxItems": 2},
        "empty": {"type": "array", "maxItems": 0},
    }
)
ALL_OF = {
    "$defs": {
        "base": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}}
    },
    "allOf": [
        {"$ref": "#/$defs/base"},
        {"properties": {"score": {"type": "integer", "minimum": 0}}, "required": ["id", "score"]},
        {"properties": {"score": {"maximum": 10}}},
    ],
}
CLOSED_ALL_OF = {
    "allOf": [
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {}},
            "additionalProperties": False,
        },
        {"properties": {"a": {"maxLength": 4}}, "required": ["a"]},
    ]
}
SHAPES = {
    "oneOf": [
        strict({"kind": {"const": "circle"}, "radius": {"type": "number", "minimum": 0}}),
        strict({"kind": {"const": "square"}, "side": {"type": "number", "minimum": 0}}),
    ]
}
OVERLAPPING_ONE_OF = {
    "oneOf": [{"type": "integer"}, {"type": "number"}, {"type": "string", "maxLength": 3}]
}
PATTERNS = strict(
    {
        "sku": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
        "slug": {"type": "string", "pattern": r"^[a-z]+(-[a-z]+)*$", "minLength": 12},
        "phone": {"type": "string", "pattern": r"^\+?[1-9]\d{7,12}$"},
        "anywhere": {"type": "string", "pattern": "ing"},
        "choice": {"type": "string", "pattern": r"^(?:red|green|blue)(/[^/\s]{2,3})?$"},
        "plain_words": {"type": "string", "pattern": "(?i)^[a-z ]+$"},
        "account": {"type": "string", "pattern": r"^\d+$", "minLength": 10, "maxLength": 12},
        "title": {"type": "string", "pattern": r"^[A-Z][a-z]*( [A-Z][a-z]*)*$", "minLength": 20},
    }
)
ANYTHING = {
    "type": "object",
    "properties": {"free": {}, "also_free": True, "items": {"type": "array", "items": True}},
    "required": ["free", "also_free", "items"],
}
OPTIONALS = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "nickname": {"type": "string"},
        "age": {"type": "integer"},
    },
    "required": ["name"],
    "additionalProperties": False,
}
TABLE = {
    "weather": WEATHER,
    "extraction": EXTRACTION,
    "defs_and_refs": DEFS_AND_REFS,
    "tree": TREE,
    "linked_list": LINKED_LIST,
    "formats": FORMATTED,
    "numbers": NUMBERS,
    "consts": CONSTS,
    "tuples": TUPLES,
    "all_of": ALL_OF,
    "closed_all_of": CLOSED_ALL_OF,
    "one_of_shapes": SHAPES,
    "one_of_overlapping": OVERLAPPING_ONE_OF,
    "patterns": PATTERNS,
    "anything": ANYTHING,
    "optionals": OPTIONALS,
    "nullable_root": {"type": ["object", "null"], "properties": {"x": {"type": "null"}}},
    "string_bounds": {"type": "string", "minLength": 30, "maxLength": 31},
    "pets": {
        "$defs": {
            "cat": strict({"kind": {"const": "cat"}, "lives": {"type": "integer", "maximum": 9}}),
            "dog": strict({"kind": {"const": "dog"}, "good": {"const": True}}),
        },
        "type": "array",
        "items": {"oneOf": [{"$ref": "#/$defs/cat"}, {"$ref": "#/$defs/dog"}]},
    },
    "all_of_items": {
        "allOf": [
            {"type": "array", "items": {"type": "integer"}, "maxItems": 5},
            {"items": {"minimum": 10, "maximum": 20}, "minItems": 4},
        ]
    },
    "extra_required": {
        "type": "object",
        "required": ["x"],
        "additionalProperties": {"type": "integer"},
    },
    "unique_booleans": {
        "type": "array",
        "items": {"type": "boolean"},
        "uniqueItems": True,
        "maxItems": 9,
    },
    "pointer_into_list": {
        "type": "array",
        "prefixItems": [{"type": "integer", "minimum": 5}],
        "items": {"$ref": "#/prefixItems/0"},
    },
    "tight_bounds": {
        "type": "integer",
        "minimum": 0,
        "exclusiveMinimum": 0,
        "maximum": 4,
        "exclusiveMaximum": 4,
    },
}
SEEDS = range(25)


@pytest.mark.parametrize("schema", TABLE.values(), ids=TABLE.keys())
def test_every_value_validates(schema: dict[str, Any]) -> None:
    before = json.dumps(schema, sort_keys=True)
    for seed in SEEDS:
        assert_valid(schema, generate(schema, seed))
    assert json.dumps(schema, sort_keys=True) == before  # the schema is never edited


@pytest.mark.parametrize("schema", TABLE.values(), ids=TABLE.keys())
def test_same_seed_same_value_and_seeds_differ(schema: dict[str, Any]) -> None:
    values = [orjson.dumps(generate(schema, seed)) for seed in SEEDS]
    assert values == [orjson.dumps(generate(schema, seed)) for seed in SEEDS]
    assert len(set(values)) > 1


def test_the_value_follows_the_generator_state() -> None:
    rng = random.Random(7)
    first, second = value_for_schema(WEATHER, rng), value_for_schema(WEATHER, rng)
    assert first != second  # the draws consumed the state
    rng.seed(7)
    assert value_for_schema(WEATHER, rng) == first


def test_values_do_not_depend_on_hash_seeds() -> None:
    """A per-request value must not change with the process (set order, str hashes)."""
    code = (
        "import json, random, sys; from laneway.emulator.schema_values import value_for_schema;"
        "schemas = json.loads(sys.stdin.read());"
        "print(json.dumps([value_for_schema(s, random.Random(3)) for s in schemas]))"
    )
    # Another hash seed than this process's (random unless set, and then seldom 1234567).
    hash_seed = "1234567" if os.environ.get("PYTHONHASHSEED") != "1234567" else "7654321"
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(list(TABLE.values())),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": os.pathsep.join(sys.path)},
    ).stdout
    assert json.loads(out) == [generate(s, 3) for s in TABLE.values()]


def test_strings_read_as_words() -> None:
    for seed in SEEDS:
        assert re.fullmatch(r"[a-z]{3,}( [a-z]{3,})*", generate({"type": "string"}, seed))
        assert isinstance(generate({}, seed), str)


def test_optional_properties_come_and_go() -> None:
    keys = {frozenset(generate(OPTIONALS, seed)) for seed in SEEDS}
    assert frozenset({"name"}) in keys
    assert frozenset({"name", "nickname", "age"}) in keys
    assert all("name" in k for k in keys)


def test_arrays_default_to_one_to_three_items() -> None:
    lengths = {len(generate({"type": "array", "items": {"type": "integer"}}, s)) for s in SEEDS}
    assert lengths == {1, 2, 3}


def test_nullable_fields_are_sometimes_null_but_mostly_not() -> None:
    values = [generate({"type": ["integer", "null"]}, seed) for seed in range(100)]
    assert 5 < values.count(None) < 50


def test_recursion_is_bounded() -> None:
    def depth(node: dict[str, Any]) -> int:
        return 1 + max((depth(child) for child in node["children"]), default=0)

    depths = [depth(generate(TREE, seed)) for seed in SEEDS]
    assert max(depths) <= 4
    assert max(depths) >= 2  # it does recurse


def test_one_of_picks_an_exclusive_branch() -> None:
    values = [generate(OVERLAPPING_ONE_OF, seed) for seed in SEEDS]
    # An integer would match both numeric branches, so only fractions and long strings appear.
    assert all(isinstance(v, str) or (isinstance(v, float) and not v.is_integer()) for v in values)
    assert {type(v) for v in values} == {float, str}


def test_draft4_boolean_exclusive_bounds() -> None:
    schema = {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "maximum": 2}
    assert {generate({**schema, "exclusiveMaximum": True}, seed) for seed in SEEDS} == {1}
    assert {generate({**schema, "exclusiveMaximum": False}, seed) for seed in SEEDS} == {1, 2}


def test_consts_are_copies() -> None:
    value = generate(CONSTS, 0)
    value["point"]["y"].append(4)
    assert CONSTS["properties"]["point"]["const"] == {"x": 1, "y": [2, 3]}


def test_type_filters_the_enum() -> None:
    assert {generate(CONSTS, seed)["mixed_enum"] for seed in SEEDS} == {"one"}


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            strict({"age": {"type": "integer", "minimum": 10, "maximum": 5}}),
            "#/properties/age: minimum 10 exceeds maximum 5",
        ),
        (
            strict({"tags": {"type": "array", "minItems": 3, "maxItems": 1}}),
            "#/properties/tags: minItems 3 exceeds maxItems 1",
        ),
        (
            strict({"code": {"type": "string", "minLength": 5, "maxLength": 2}}),
            "#/properties/code: minLength 5 exceeds maxLength 2",
        ),
        (
            strict({"x": {"not": {"type": "string"}}}),
            "#/properties/x: keyword 'not' is not supported",
        ),
        (
            {"type": "array", "items": {"if": {}, "then": {}}},
            "#/items: keyword 'if' is not supported",
        ),
        (
            strict({"a": {"$ref": "#/$defs/missing"}}),
            "#/properties/a: $ref '#/$defs/missing' does not resolve",
        ),
        (
            strict({"a": {"$ref": "https://example.com/a.json"}}),
            "#/properties/a: $ref 'https://example.com/a.json' is not a local",
        ),
        (
            strict({"a/b": {"type": "string", "pattern": "^(?=.*\\d)[a-z]+$"}}),
            "#/properties/a~1b: no generated string fits pattern",
        ),
        (
            strict({"p": {"type": "string", "pattern": "(unclosed"}}),
            "#/properties/p: invalid pattern",
        ),
        (
            strict({"id": {"type": "string", "format": "uuid", "maxLength": 10}}),
            "#/properties/id: no generated string fits format 'uuid'",
        ),
        (
            strict({"n": {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 2}}),
            "#/properties/n: no integer fits",
        ),
        (
            strict({"n": {"type": "number", "multipleOf": -2}}),
            "#/properties/n: multipleOf -2 is not a positive number",
        ),
        (
            strict({"n": {"type": "integer", "minimum": 1, "maximum": 4, "multipleOf": 5}}),
            "#/properties/n: no integer fits",
        ),
        (strict({"when": {"type": "datetime"}}), "#/properties/when: unknown type 'datetime'"),
        (
            strict({"e": {"type": "integer", "enum": ["a", "b"]}}),
            "#/properties/e: no enum or const value fits",
        ),
        (strict({"x": False}), "#/properties/x: false admits no value"),
        (
            strict({"inner": {**strict({}), "required": ["ghost"]}}),
            "#/properties/inner: required 'ghost' is not among the properties",
        ),
        (
            strict(
                {
                    "flags": {
                        "type": "array",
                        "items": {"type": "boolean"},
                        "minItems": 3,
                        "uniqueItems": True,
                    }
                }
            ),
            "#/properties/flags: cannot find 3 distinct items",
        ),
        (
            strict({"t": {"type": "array", "prefixItems": [{}], "items": False, "minItems": 2}}),
            "#/properties/t: minItems 2 exceeds the prefixItems",
        ),
        (
            strict({"m": {"allOf": [{"type": "string"}, {"type": "integer"}]}}),
            "#/properties/m: allOf branches share no type",
        ),
        (
            strict({"m": {"allOf": [{"format": "date"}, {"format": "email"}]}}),
            "#/properties/m: allOf branches disagree on 'format'",
        ),
        (
            {
                "allOf": [
                    {"properties": {"a": {}}, "additionalProperties": False},
                    {"required": ["b"]},
                ]
            },
            "#: allOf requires a property additionalProperties bars",
        ),
        (
            strict({"v": {"anyOf": [{"type": "integer", "minimum": 3, "maximum": 1}]}}),
            "#/properties/v/anyOf/0: minimum 3 exceeds maximum 1",
        ),
        (strict({"v": {"oneOf": []}}), "#/properties/v/oneOf: must be a non-empty list"),
        (
            {
                "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
                "$ref": "#/$defs/a",
            },
            "$ref cycle never reaches a schema",
        ),
        (
            {"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]},
            "#/properties/next: recursion never bottoms out",
        ),
        (
            {"type": "object", "properties": {"p": {"patternProperties": {}}}, "required": ["p"]},
            "#/properties/p: keyword 'patternProperties'",
        ),
        ({"type": "string", "minLength": "3", "maxLength": 5}, "#: malformed schema"),
    ],
)
def test_unsatisfiable_schemas_name_the_path(schema: dict[str, Any], message: str) -> None:
    for seed in range(3):
        with pytest.raises(UnsupportedSchema, match=re.escape(message)):
            generate(schema, seed)


def test_unsupported_schema_is_a_value_error() -> None:
    assert issubclass(UnsupportedSchema, ValueError)


# Random schemas, satisfiable by construction, from a small grammar.
WORDS = ["id", "name", "tags", "count", "when", "meta"]
PATTERNS_POOL = [r"^[a-z]{2,6}$", r"^\d{3}-\d{2}$", r"^(ab|cd)+x?$", r"^[A-F0-9]{8}$", r"item"]
FORMAT_POOL = ["date-time", "date", "time", "email", "uuid", "uri", "ipv4", "hostname", "duration"]


@st.composite
def numbers(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": draw(st.sampled_from(["integer", "number"]))}
    low, width = draw(st.integers(-1000, 1000)), draw(st.integers(3, 60))
    step = draw(st.sampled_from([None, 1, 2, 0.5, 0.25, 0.1]))
    if step is not None:
        schema["multipleOf"] = step
    if draw(st.booleans()):
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = low + width
    return schema


@st.composite
def strings(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    flavour = draw(st.sampled_from(["plain", "bounded", "format", "pattern", "enum"]))
    if flavour == "bounded":
        schema["minLength"] = low = draw(st.integers(0, 20))
        schema["maxLength"] = low + draw(st.integers(0, 10))
    elif flavour == "format":
        schema["format"] = draw(st.sampled_from(FORMAT_POOL))
    elif flavour == "pattern":
        schema["pattern"] = draw(st.sampled_from(PATTERNS_POOL))
    elif flavour == "enum":
        schema["enum"] = draw(st.lists(st.text(max_size=5), min_size=1, max_size=4, unique=True))
    return schema


@st.composite
def objects(draw: st.DrawFn, children: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    properties = draw(st.dictionaries(st.sampled_from(WORDS), children, max_size=4))
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = [n for n in properties if draw(st.booleans())]
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


@st.composite
def arrays(draw: st.DrawFn, children: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": draw(children)}
    low = draw(st.integers(0, 3))
    if draw(st.booleans()):
        schema["minItems"] = low
    if draw(st.booleans()):
        schema["maxItems"] = low + draw(st.integers(0, 3))
    return schema


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    return (
        {**schema, "type": [kind, "null"]} if isinstance(kind, str) and kind != "null" else schema
    )


LEAVES = st.one_of(
    numbers(),
    strings(),
    st.sampled_from([{"type": "boolean"}, {"type": "null"}, {}, {"const": [1, "two"]}]),
)
SCHEMAS = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        objects(children),
        arrays(children),
        st.lists(children, min_size=1, max_size=3).map(lambda branches: {"anyOf": branches}),
        children.map(nullable),
    ),
    max_leaves=8,
)


@settings(max_examples=120, deadline=None, database=None)
@given(schema=SCHEMAS, seed=st.integers(0, 2**32))
def test_random_schemas_get_valid_values(schema: dict[str, Any], seed: int) -> None:
    value = generate(schema, seed)
    assert_valid(schema, value)
    assert orjson.dumps(value) == orjson.dumps(generate(schema, seed))


def test_floats_stay_tidy() -> None:
    values = [generate({"type": "number", "multipleOf": 0.1}, seed) for seed in SEEDS]
    assert all(len(repr(v)) <= 5 for v in values), values
    assert all(math.isfinite(v) for v in values)
