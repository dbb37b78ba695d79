"""The model catalog: the shipped data file, optionally extended or overridden by the user's.

Loading is: parse each TOML file (floats as Decimal, so prices stay exact), merge the raw tables
key by key in order (later files win), validate each merged entry, then check the cross-entry
rules (successors exist, names are unique). Every problem is reported with the file, the model
and the field, and loading fails as a whole: a half-loaded price list is worse than none.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from laneway.errors import CatalogError, CatalogProblem, UnknownModelError
from laneway.pricing.model_spec import ModelSpec
from laneway.pricing.names import ModelNames

SHIPPED_CATALOG = Path(str(files("laneway.pricing").joinpath("models.toml")))

_RawTable = dict[str, Any]
# Tags pydantic puts in an error's location (union branches, "a dict key was wrong"); they
# are not fields a user wrote.
_UNION_TAGS = frozenset({"limits", "unsupported", "[key]"})


class Catalog:
    """An immutable set of models, looked up by id, snapshot or alias."""

    def __init__(self, models: Sequence[ModelSpec]) -> None:
        self._models: dict[str, ModelSpec] = {m.id: m for m in models}
        self._by_name: dict[str, ModelSpec] = {}
        for model in models:
            for name in model.names:
                self._by_name[name] = model
        self.names = ModelNames(self._by_name)

    @classmethod
    def load(cls, *overrides: Path, include_shipped: bool = True) -> Catalog:
        """The shipped catalog merged with `overrides` (later files win, key by key)."""
        paths = ([SHIPPED_CATALOG] if include_shipped else []) + list(overrides)
        return cls(_load_models(paths))

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def find(self, name: str) -> ModelSpec | None:
        """The model `name` is exactly (the hot path's lookup), or None."""
        return self._by_name.get(name)

    def get(self, name: str) -> ModelSpec:
        """The model `name` resolves to, ignoring case where that is unambiguous;
        `UnknownModelError` with close matches otherwise."""
        resolved = self.names.resolve(name)
        if resolved is None:
            raise UnknownModelError(name, self.names.suggest(name))
        return self._by_name[resolved]


def _read_toml(path: Path) -> _RawTable:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(
            [CatalogProblem(path, None, None, f"cannot read: {exc.strerror}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise CatalogError([CatalogProblem(path, None, None, "is not UTF-8 text")]) from exc
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError([CatalogProblem(path, None, None, f"is not valid TOML: {exc}")]) from exc


def _merge(base: _RawTable, top: Mapping[str, Any]) -> _RawTable:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _source_of(entry_id: str, loc: Sequence[str], layers: Sequence[tuple[Path, _RawTable]]) -> Path:
    """The file that set the deepest existing part of `loc` in `entry_id`; on a tie the later
    file, since its value is the one that won the merge."""

    def depth(raw: _RawTable) -> int:
        node: Any = raw.get(entry_id)
        if node is None:
            return -1
        found = 0
        for key in loc:
            if not isinstance(node, Mapping) or key not in node:
                break
            node = node[key]
            found += 1
        return found

    best_path, best_depth = layers[0][0], -2
    for path, raw in layers:
        here = depth(raw)
        if here >= best_depth:
            best_path, best_depth = path, here
    return best_path


def _load_models(paths: Sequence[Path]) -> list[ModelSpec]:
    layers: list[tuple[Path, _RawTable]] = []
    problems: list[CatalogProblem] = []
    merged: _RawTable = {}
    for path in paths:
        document = _read_toml(path)
        unexpected = sorted(set(document) - {"models"})
        if unexpected:
            problems.append(
                CatalogProblem(
                    path, None, None, f"unknown top-level key(s): {', '.join(unexpected)}"
                )
            )
        models = document.get("models", {})
        if not isinstance(models, Mapping):
            problems.append(CatalogProblem(path, None, "models", "must be a table of models"))
            continue
        entries: _RawTable = {}
        for entry_id, raw in models.items():
            if not isinstance(raw, Mapping):
                problems.append(CatalogProblem(path, entry_id, None, "must be a table"))
                continue
            if "id" in raw:
                problems.append(
                    CatalogProblem(path, entry_id, "id", "is taken from the table name; remove it")
                )
                continue
            entries[entry_id] = dict(raw)
        layers.append((path, entries))
        merged = _merge(merged, entries)
    if problems:
        raise CatalogError(problems)

    specs: list[ModelSpec] = []
    for entry_id, raw in merged.items():
        try:
            specs.append(ModelSpec.model_validate({"id": entry_id, **raw}))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc = [str(part) for part in error["loc"]]
                field_path = [part for part in loc if part not in _UNION_TAGS]
                problems.append(
                    CatalogProblem(
                        file=_source_of(entry_id, field_path, layers),
                        entry=entry_id,
                        field=".".join(field_path) or None,
                        message=error["msg"],
                    )
                )
    problems.extend(_cross_entry_problems(specs, layers))
    if problems:
        raise CatalogError(_dedupe(problems))
    return specs


def _cross_entry_problems(
    specs: Sequence[ModelSpec], layers: Sequence[tuple[Path, _RawTable]]
) -> list[CatalogProblem]:
    problems: list[CatalogProblem] = []
    owner: dict[str, str] = {}
    ids = {spec.id for spec in specs}
    for spec in specs:
        for field, name in [("snapshot", spec.snapshot), *(("aliases", a) for a in spec.aliases)]:
            if name is None:
                continue
            other = owner.get(name)
            if (name in ids and name != spec.id) or (other is not None and other != spec.id):
                clash = name if name in ids else other
                problems.append(
                    CatalogProblem(
                        _source_of(spec.id, [field], layers),
                        spec.id,
                        field,
                        f"name {name!r} already belongs to model {clash!r}",
                    )
                )
            owner[name] = spec.id
        if spec.successor is not None and spec.successor not in ids:
            problems.append(
                CatalogProblem(
                    _source_of(spec.id, ["successor"], layers),
                    spec.id,
                    "successor",
                    f"names {spec.successor!r}, which is not in the catalog",
                )
            )
    return problems


def _dedupe(problems: Sequence[CatalogProblem]) -> list[CatalogProblem]:
    return list(dict.fromkeys(problems))
