"""JSON values that a given JSON Schema accepts: the emulator's structured outputs and tool calls.

When a request asks for strict `json_schema` output or offers function tools, the emulator must
answer with JSON the caller's schema validates. `value_for_schema` walks the schema and takes
every choice from the caller's seeded `random.Random`, so one seed always gives one answer, and
strings come from a word list so the JSON reads sensibly. It covers what OpenAI's strict mode
allows plus common extras; a schema it cannot satisfy raises `UnsupportedSchema`, whose message
starts with the JSON pointer of the subschema at fault.
"""

from __future__ import annotations

import copy
import math
import random
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from itertools import chain
from typing import Any, TypeAlias
from urllib.parse import unquote

from laneway.errors import LanewayError

__all__ = ["UnsupportedSchema", "value_for_schema"]

_WORDS = (
    "alpha", "atlas", "beacon", "canyon", "cedar", "copper", "delta", "ember", "falcon",
    "garden", "harbor", "harvest", "island", "juniper", "kernel", "lagoon", "lantern", "ledger",
    "marble", "meadow", "nectar", "oasis", "orbit", "prism", "quartz", "report", "ripple",
    "river", "sierra", "signal", "summit", "timber", "velvet", "willow", "zephyr",
)  # fmt: skip
_DEEP = 4  # from this nesting on, optional and recursive parts stop expanding
_LIMIT = 32  # nesting or $ref hops past this mean the schema never bottoms out
_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")  # cheapest first
_ANNOTATIONS = frozenset(
    {"title", "description", "$comment", "examples", "default", "deprecated", "readOnly",
     "writeOnly", "$schema", "$id", "$anchor", "$defs", "definitions", "strict"}
)  # fmt: skip
_UNSUPPORTED = frozenset(
    {"not", "if", "then", "else", "dependentRequired", "dependentSchemas", "contains",
     "propertyNames", "patternProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
     "minProperties", "maxProperties"}
)  # fmt: skip
_LOWER = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems"})
_UPPER = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems"})
_NESTS = frozenset({"$ref", "properties", "items", "prefixItems", "anyOf", "oneOf", "allOf"})
_Bounds: TypeAlias = tuple[Any, bool, Any, bool]  # low, low exclusive, high, high exclusive
_Parts: TypeAlias = list[tuple[Mapping[str, Any], str]]  # constraining schemas with their paths


def _date(r: random.Random) -> str:
    return f"{r.randint(2020, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"


def _time(r: random.Random) -> str:
    return f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z"


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date": _date,
    "time": _time,
    "date-time": lambda r: f"{_date(r)}T{_time(r)}",
    "email": lambda r: f"{r.choice(_WORDS)}.{r.choice(_WORDS)}@example.com",
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "uri": lambda r: f"https://example.com/{r.choice(_WORDS)}/{r.choice(_WORDS)}",
    "ipv4": lambda r: ".".join(str(r.randint(1, 254)) for _ in range(4)),
    "ipv6": lambda r: f"2001:db8::{r.randint(1, 0xFFFF):x}",
    "hostname": lambda r: f"{r.choice(_WORDS)}.example.com",
    "duration": lambda r: f"P{r.randint(1, 30)}DT{r.randint(1, 23)}H",
}


class UnsupportedSchema(LanewayError, ValueError):
    """The schema uses a keyword this module does not handle, or admits no value at all."""


def value_for_schema(schema: Mapping[str, Any], rng: random.Random) -> Any:
    """A JSON value (dict, list, str, int, float, bool or None) that `schema` accepts."""
    try:
        return _Generator(schema, rng).value(schema, "#", 0, 0)
    except (TypeError, AttributeError) as exc:  # a keyword whose value has the wrong shape
        raise UnsupportedSchema(f"#: malformed schema ({exc})") from exc


class _Generator:
    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self.root, self.rng = root, rng

    def value(self, schema: Any, path: str, depth: int, hops: int) -> Any:
        if schema is True:
            return self._word()
        _check(schema, path)
        if depth > _LIMIT or hops > _LIMIT:
            raise UnsupportedSchema(f"{path}: recursion never bottoms out")
        if "$ref" in schema or "allOf" in schema:
            return self._from_parts(self._parts(schema, path, hops), path, depth, hops)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._choose(schema, key, path, depth, hops)
        if "const" in schema or "enum" in schema:
            options = [schema["const"]] if "const" in schema else list(schema["enum"])
            fitting = [v for v in options if self._may_match(schema, v)]
            if not fitting:
                raise UnsupportedSchema(f"{path}: no enum or const value fits the other keywords")
            return copy.deepcopy(self.rng.choice(fitting))  # the caller may edit; keep the schema
        return self._typed(schema, path, depth)

    def _typed(self, schema: Mapping[str, Any], path: str, depth: int) -> Any:
        kind = self._type(schema, path, depth)
        if kind == "object":
            return self._object(schema, path, depth)
        if kind == "array":
            return self._array(schema, path, depth)
        if kind in ("integer", "number"):
            return self._number(schema, path, integer=kind == "integer")
        if kind in ("null", "boolean"):
            return None if kind == "null" else self.rng.random() < 0.5
        return self._string(schema, path)  # "string", or any value at all

    def _parts(self, schema: Any, path: str, hops: int) -> _Parts:
        """The constraining pieces of `schema`, with $ref and allOf expanded."""
        if hops > _LIMIT:
            raise UnsupportedSchema(f"{path}: $ref cycle never reaches a schema")
        if schema is True:
            return []
        _check(schema, path)
        rest = {k: v for k, v in schema.items() if k not in ("$ref", "allOf")}
        out: _Parts = [] if _ANNOTATIONS.issuperset(rest) else [(rest, path)]
        if "$ref" in schema:
            target, target_path = self._resolve(schema["$ref"], path)
            out += self._parts(target, target_path, hops + 1)
        for i, sub in enumerate(schema.get("allOf", ())):
            out += self._parts(sub, f"{path}/allOf/{i}", hops + 1)
        return out

    def _from_parts(self, parts: _Parts, path: str, depth: int, hops: int) -> Any:
        if not parts:
            return self._word()
        if len(parts) == 1:  # a plain $ref: errors keep the target's own path
            return self.value(parts[0][0], parts[0][1], depth, hops + 1)
        return self.value(_merge(parts, path), path, depth, hops + 1)

    def _resolve(self, ref: Any, path: str) -> tuple[Any, str]:
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
            raise UnsupportedSchema(f"{path}: $ref {ref!r} is not a local JSON pointer")
        node: Any = self.root
        for token in ref.split("/")[1:]:
            key = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            elif not isinstance(node, Mapping) or key not in node:
                raise UnsupportedSchema(f"{path}: $ref {ref!r} does not resolve")
            else:
                node = node[key]
        return node, ref

    def _choose(self, schema: Mapping[str, Any], key: str, path: str, depth: int, hops: int) -> Any:
        branches = schema[key]
        if not isinstance(branches, list) or not branches:
            raise UnsupportedSchema(f"{path}/{key}: must be a non-empty list")
        base = self._parts({k: v for k, v in schema.items() if k != key}, path, hops)
        order = list(range(len(branches)))
        if depth >= _DEEP:  # deep in a recursive schema: null and leaf branches end it soonest
            order.sort(key=lambda i: _cost(branches[i]))
        else:
            self.rng.shuffle(order)
        works: list[Any] = []
        error: UnsupportedSchema | None = None
        for i in order:
            try:
                parts = base + self._parts(branches[i], f"{path}/{key}/{i}", hops)
                value = self._from_parts(parts, path, depth, hops)
            except UnsupportedSchema as exc:
                error = error or exc
                continue
            others = (b for j, b in enumerate(branches) if j != i)
            if key == "anyOf" or not any(self._may_match(b, value) for b in others):
                return value
            works = works or [value]  # oneOf: used if no branch is plainly exclusive
        if works:
            return works[0]
        raise error or UnsupportedSchema(f"{path}: no {key} branch can be satisfied")

    def _type(self, schema: Mapping[str, Any], path: str, depth: int) -> str:
        declared = schema.get("type")
        if declared is None:  # any type will do; a string honours any string keywords
            return "object" if "properties" in schema else "array" if "items" in schema else "any"
        types = [declared] if isinstance(declared, str) else list(declared)
        if not types or not set(types) <= set(_TYPES):
            raise UnsupportedSchema(f"{path}: unknown type {declared!r}")
        if depth >= _DEEP:
            return min(types, key=_TYPES.index)
        real = [t for t in types if t != "null"]
        if not real or (len(real) < len(types) and self.rng.random() < 0.25):
            return "null"
        return self.rng.choice(real)

    def _object(self, schema: Mapping[str, Any], path: str, depth: int) -> dict[str, Any]:
        props: Mapping[str, Any] = schema.get("properties", {})
        required = list(dict.fromkeys(schema.get("required", ())))
        extra = schema.get("additionalProperties", True)
        chosen = {
            n for n in props if depth < _DEEP and props[n] is not False and self.rng.random() < 0.5
        }
        out: dict[str, Any] = {}
        for name in [*(n for n in props if n in required or n in chosen), *required]:
            if name in out:
                continue
            if name in props:
                pointer = name.replace("~", "~0").replace("/", "~1")
                sub, sub_path = props[name], f"{path}/properties/{pointer}"
            elif extra is False:
                raise UnsupportedSchema(f"{path}: required {name!r} is not among the properties")
            else:
                sub, sub_path = extra, f"{path}/additionalProperties"
            out[name] = self.value(sub, sub_path, depth + 1, 0)
        return out

    def _array(self, schema: Mapping[str, Any], path: str, depth: int) -> list[Any]:
        prefix, items = schema.get("prefixItems", []), schema.get("items", True)
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        if high is not None and low > high:
            raise UnsupportedSchema(f"{path}: minItems {low} exceeds maxItems {high}")
        if items is False:
            if low > len(prefix):
                raise UnsupportedSchema(f"{path}: minItems {low} exceeds the prefixItems")
            high = len(prefix) if high is None else min(high, len(prefix))
        cap = high if high is not None else max(low, len(prefix), 3)
        start = max(low, min(max(len(prefix), 1), cap))  # all of prefixItems when allowed
        count = low if depth >= _DEEP else self.rng.randint(start, max(start, min(3, cap)))
        unique = schema.get("uniqueItems") is True
        out: list[Any] = []
        for i in range(count):
            at_prefix = i < len(prefix)
            sub = prefix[i] if at_prefix else items
            sub_path = f"{path}/prefixItems/{i}" if at_prefix else f"{path}/items"
            for _ in range(12 if unique else 1):
                item = self.value(sub, sub_path, depth + 1, 0)
                if not unique or not any(_equal(item, seen) for seen in out):
                    out.append(item)
                    break
            else:  # uniqueItems and the draws keep repeating: stop if already long enough
                if i >= low:
                    break
                raise UnsupportedSchema(f"{path}: cannot find {low} distinct items")
        return out

    def _number(self, schema: Mapping[str, Any], path: str, *, integer: bool) -> float:
        bounds = _bounds(schema)
        lo, hi = bounds[0], bounds[2]
        if lo is not None and hi is not None and lo > hi:
            raise UnsupportedSchema(f"{path}: minimum {lo} exceeds maximum {hi}")
        step = schema.get("multipleOf")
        if step is not None and (isinstance(step, bool) or not step > 0):
            raise UnsupportedSchema(f"{path}: multipleOf {step!r} is not a positive number")
        # k * p/q is whole only when q divides k, so integers step by the numerator p.
        grain = (Fraction(str(step)).numerator if step else 1) if integer else step
        span = 100 * (grain or 1)  # an open side gets a window of 100 steps: small, readable values
        low = lo if lo is not None else (hi - span if hi is not None else 0)
        high = hi if hi is not None else low + span
        first, last = (
            (0, 0) if grain is None else (math.ceil(low / grain), math.floor(high / grain))
        )
        for attempt in range(24 if first <= last else 0):
            if grain is None:
                raw = self.rng.uniform(low, high)
                value = round(raw, 2) if _admits(round(raw, 2), bounds) else raw
            else:  # k * 0.1 may be 0.30000000000000004: try the tidy decimal product first
                k = self.rng.randint(first, last)
                tidy = isinstance(step, float) and not integer and attempt < 16
                value = float(Decimal(str(step)) * k) if tidy else k * grain
            if _admits(value, bounds) and (step is None or _multiple(value, step)):
                return value
        what = "integer" if integer else "number"
        raise UnsupportedSchema(f"{path}: no {what} fits the bounds ({lo}, {hi}) and multipleOf")

    def _string(self, schema: Mapping[str, Any], path: str) -> str:
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if high is not None and low > high:
            raise UnsupportedSchema(f"{path}: minLength {low} exceeds maxLength {high}")
        pattern, make = schema.get("pattern"), _FORMATS.get(schema.get("format", ""))
        try:
            regex = None if pattern is None else re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise UnsupportedSchema(f"{path}: invalid pattern {pattern!r}") from exc
        # Drawn lazily: usually the first candidate fits and the rest are never made.
        if make is not None:
            candidates: Iterator[str] = (make(self.rng) for _ in range(3))
        else:  # strings sampled from the pattern first, the plain words as the fallback
            samples = _regex_samples(pattern, self.rng, low, high) if pattern else iter(())
            candidates = chain(samples, (self._words(low, high) for _ in range(2)))
        for text in candidates:
            fits = low <= len(text) <= (len(text) if high is None else high)
            if fits and (regex is None or regex.search(text)):
                return text
        what = f"pattern {pattern!r}" if make is None else f"format {schema['format']!r}"
        raise UnsupportedSchema(f"{path}: no generated string fits {what} and the length limits")

    def _words(self, low: int, high: int | None) -> str:
        text = " ".join(self._word() for _ in range(self.rng.randint(1, 2)))
        while len(text) < low:
            text += " " + self._word()
        if high is not None and len(text) > high:
            text = text[:high]
            text = text[:-1] + "s" if text.endswith(" ") else text  # no dangling space
        return text

    def _word(self) -> str:
        return self.rng.choice(_WORDS)

    def _may_match(self, schema: Any, value: Any, hops: int = 0) -> bool:
        """False only when `value` surely fails `schema`: keeps oneOf exclusive, enums honest."""
        if not isinstance(schema, Mapping) or hops > _LIMIT:
            return schema is not False
        kind, declared = _kind(value), schema.get("type", [])
        types = [declared] if isinstance(declared, str) else declared
        props = schema.get("properties", {}) if kind == "object" else {}
        pattern = schema.get("pattern") if kind == "string" else None
        extra = schema.get("additionalProperties")
        fails = (
            ("const" in schema and not _equal(schema["const"], value))
            or ("enum" in schema and not any(_equal(e, value) for e in schema["enum"]))
            or (types and kind not in types and not (kind == "integer" and "number" in types))
            or (kind in ("integer", "number") and not _admits(value, _bounds(schema)))
            or (kind == "string" and not schema.get("minLength", 0) <= len(value))
            or (kind == "string" and len(value) > schema.get("maxLength", len(value)))
            or (isinstance(pattern, str) and re.search(pattern, value) is None)
            or any(name not in value for name in schema.get("required", ()) if kind == "object")
            or (extra is False and kind == "object" and not value.keys() <= props.keys())
            or any(k in value and not self._may_match(props[k], value[k]) for k in props)
        )
        subs = [*schema.get("allOf", ())]
        if "$ref" in schema:
            subs.append(self._resolve(schema["$ref"], "#")[0])
        alternatives = [schema[k] for k in ("anyOf", "oneOf") if k in schema]
        return (
            not fails
            and all(self._may_match(s, value, hops + 1) for s in subs)
            and all(any(self._may_match(s, value, hops + 1) for s in a) for a in alternatives)
        )


def _check(schema: Any, path: str) -> None:
    if not isinstance(schema, Mapping):
        why = "false admits no value" if schema is False else f"{schema!r} is not a schema"
        raise UnsupportedSchema(f"{path}: {why}")
    if not _UNSUPPORTED.isdisjoint(schema):
        keyword = min(_UNSUPPORTED.intersection(schema))
        raise UnsupportedSchema(f"{path}: keyword {keyword!r} is not supported")


def _merge(parts: _Parts, path: str) -> dict[str, Any]:
    """One schema that demands what all `parts` demand (allOf, or $ref with siblings)."""
    merged: dict[str, Any] = {}
    props: dict[str, list[Any]] = {}
    closed: set[str] | None = None  # the names every additionalProperties: false part allows
    for part, _ in parts:
        for key, val in part.items():
            if key == "properties":
                for name, sub in val.items():
                    props.setdefault(name, []).append(sub)
            elif key not in merged or key in _ANNOTATIONS:
                merged[key] = val
            elif key in _COMBINE:
                merged[key] = _COMBINE[key](merged[key], val)
            elif not _equal(merged[key], val):
                raise UnsupportedSchema(f"{path}: allOf branches disagree on {key!r}")
        if part.get("additionalProperties") is False:
            names = set(part.get("properties", ()))
            closed = names if closed is None else closed & names
    if merged.get("type") == []:
        raise UnsupportedSchema(f"{path}: allOf branches share no type")
    if props:
        merged["properties"] = {
            name: subs[0] if len(subs) == 1 else {"allOf": subs}
            for name, subs in props.items()
            if closed is None or name in closed
        }
    if closed is not None and not closed.issuperset(merged.get("required", ())):
        raise UnsupportedSchema(f"{path}: allOf requires a property additionalProperties bars")
    return merged


def _both(a: Any, b: Any) -> Any:
    """Two item (or extra property) schemas from different allOf branches, as one."""
    if a is False or b is False:
        return False
    if a is True or _equal(a, b):
        return b
    return a if b is True else {"allOf": [a, b]}


def _common_types(a: Any, b: Any) -> list[str]:
    first, second = ([t] if isinstance(t, str) else list(t) for t in (a, b))
    wide = [{*ts, *(["integer"] if "number" in ts else [])} for ts in (first, second)]
    return [t for t in dict.fromkeys([*first, *second, "integer"]) if t in wide[0] & wide[1]]


_COMBINE: dict[str, Callable[[Any, Any], Any]] = {
    **dict.fromkeys(_LOWER, max),
    **dict.fromkeys(_UPPER, min),
    "required": lambda a, b: [*a, *b],
    "enum": lambda a, b: [v for v in a if any(_equal(v, u) for u in b)],
    "type": _common_types,
    "items": _both,
    "additionalProperties": _both,
}


def _bounds(schema: Mapping[str, Any]) -> _Bounds:
    def side(
        inclusive: str, exclusive: str, tighter: Callable[[Any, Any], Any]
    ) -> tuple[Any, bool]:
        inc, exc = schema.get(inclusive), schema.get(exclusive)
        if isinstance(exc, bool):  # draft 4: a flag on the inclusive bound
            return inc, exc and inc is not None
        if exc is None or inc is None:
            return (inc, False) if exc is None else (exc, True)
        best = tighter(inc, exc)
        return best, best == exc

    return (*side("minimum", "exclusiveMinimum", max), *side("maximum", "exclusiveMaximum", min))


def _admits(value: float, bounds: _Bounds) -> bool:
    lo, lo_x, hi, hi_x = bounds
    above = lo is None or value > lo or (value == lo and not lo_x)
    return above and (hi is None or value < hi or (value == hi and not hi_x))


def _multiple(value: float, step: Any) -> bool:
    # Validators test a float step by whether the quotient comes out whole; so do we.
    return bool(value % step == 0) if isinstance(step, int) else (value / step).is_integer()


def _cost(branch: Any) -> int:
    if isinstance(branch, Mapping) and branch.get("type") == "null":
        return 0
    return 2 if isinstance(branch, Mapping) and not _NESTS.isdisjoint(branch) else 1


def _kind(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "boolean" if value is not None else "null"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "?")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 equals 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    numbers = isinstance(a, int | float) and isinstance(b, int | float)
    return bool(a == b) if numbers or type(a) is type(b) else False


# A small sampler for `pattern`: literals, classes, \d \w \s, groups, alternation, quantifiers.
# Lookarounds, back references and flags are left out; the words are tried for those instead.
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_ESCAPES = {"d": "0123456789", "w": _ALNUM + "_", "s": " ", "D": "x", "W": "-", "S": "x"}
_ESCAPES |= {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
_QUANTIFIER = re.compile(r"(?:([*+?])|\{(\d*)(,?)(\d*)\})[?+]?")


class _RegexUnsupported(Exception):
    pass


def _regex_samples(pattern: str, rng: random.Random, low: int, high: int | None) -> Iterator[str]:
    top = min(max(low, 8) + 16, high if high is not None else low + 16)  # keeps samples short
    for attempt in range(9):  # free-running tries first, then ones aimed at a length
        target = None if attempt < 3 and not low else rng.randint(low, top)
        try:
            yield _Sampler(pattern, rng, target).alternation(0, 0)[0]
        except (_RegexUnsupported, IndexError, ValueError):
            return


class _Sampler:
    """Random strings for a regex. Open repeats run up to 3 extra times or, given a target
    length, until the string reaches it: that is how a minLength beside a pattern gets met."""

    def __init__(self, pattern: str, rng: random.Random, target: int | None) -> None:
        self.p, self.rng, self.target = pattern, rng, target

    def alternation(self, i: int, used: int) -> tuple[str, int]:
        """A string for the alternation at p[i:] (after `used` characters), and its end."""
        p, branches = self.p, [""]
        while i < len(p) and p[i] != ")":
            if p[i] == "|":
                branches.append("")
                i += 1
                continue
            start = i
            text, i = self.atom(i, used + len(branches[-1]))
            quantifier = _QUANTIFIER.match(p, i)
            if quantifier:
                i = quantifier.end()
                text = self.repeat(start, *_repeats(quantifier), used + len(branches[-1]))
            branches[-1] += text
        return self.rng.choice(branches), i

    def repeat(self, start: int, least: int, most: int | None, used: int) -> str:
        most = min(most if most is not None else 256, least + 3 if self.target is None else 256)
        count = self.rng.randint(least, most) if self.target is None else most
        pieces: list[str] = []
        # Each repeat is drawn afresh, so [a-z]{3} gives "kqa" rather than "kkk".
        while len(pieces) < least or (
            len(pieces) < count and (self.target is None or used < self.target)
        ):
            pieces.append(self.atom(start, used)[0])
            used += len(pieces[-1])
        return "".join(pieces)

    def atom(self, i: int, used: int) -> tuple[str, int]:
        p, c, rng = self.p, self.p[i], self.rng
        if c == "(":
            if p.startswith("?", i + 1) and not p.startswith("?:", i + 1):
                raise _RegexUnsupported  # lookarounds, named groups, flags
            text, end = self.alternation(i + 3 if p.startswith("?:", i + 1) else i + 1, used)
            return text, end + 1
        if c == "[":
            end = i + 1 + p.startswith("^", i + 1)
            end += p[end] == "]"  # a "]" that opens the class is a member, not its end
            while p[end] != "]":
                end += 2 if p[end] == "\\" else 1
            return rng.choice(_char_class(p[i + 1 : end])), end + 1
        if c == "\\":
            if p[i + 1].isdigit():
                raise _RegexUnsupported  # back references
            return (
                "" if p[i + 1] in "bBAZ" else rng.choice(_ESCAPES.get(p[i + 1], p[i + 1]))
            ), i + 2
        return ("" if c in "^$" else rng.choice(_ALNUM) if c == "." else c), i + 1


def _repeats(quantifier: re.Match[str]) -> tuple[int, int | None]:
    symbol, low, comma, high = quantifier.groups()
    if symbol:
        return {"*": (0, None), "+": (1, None), "?": (0, 1)}[symbol]
    return int(low or 0), int(high) if high else None if comma else int(low)


@lru_cache(maxsize=256)  # samples re-read the same class once per character drawn
def _char_class(body: str) -> str:
    negate = body.startswith("^")
    members, i = "", int(negate)
    while i < len(body):
        first = _ESCAPES.get(body[i + 1], body[i + 1]) if body[i] == "\\" else body[i]
        i += 2 if body[i] == "\\" else 1
        if len(first) == 1 and body[i : i + 1] == "-" and i + 1 < len(body):
            last, i = body[i + 1], i + 2
            first = "".join(map(chr, range(ord(first), min(ord(last), ord(first) + 95) + 1)))
        members += first
    if negate:
        members = "".join(c for c in _ALNUM + " -_" if c not in members)
    if not members:
        raise _RegexUnsupported
    return members
