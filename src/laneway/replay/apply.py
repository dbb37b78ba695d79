"""The lanes-config change that enacts a recommendation: the lane's candidates and effort, or a
`split` canary with the new model at a small share first, as a unified diff of the user's own
config file, and written into it with its comments and layout kept (tomlkit).

    edit = lane_edit(text, path, "legacy", "gpt-5.4-mini", "low", canary=0.05)
    print(edit.diff())
    check_unchanged(path, manifest)          # ApplyError when the file changed since the run
    path.write_text(edit.after)

The new model becomes the lane's one candidate; the models it served before go first among its
fallbacks (still there if the new one fails). A lane the file does not configure is the shipped
one (routing/lanes.toml): it is written whole into the file, since a configured lane replaces
the shipped one of its name whole. The changed lane is checked as the gateway checks it at load.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import tomlkit
from pydantic import ValidationError
from tomlkit.items import Table

from laneway.config_problems import problems
from laneway.errors import LanewayError
from laneway.pricing.model_spec import REASONING_EFFORTS
from laneway.replay.run_dir import RunManifest
from laneway.replay.run_setup import CONFIG_HASH, file_sha256
from laneway.routing.lane_config import LaneConfig
from laneway.routing.lanes import SHIPPED_LANES

CANARY_TOTAL: Final = 100  # split weights are out of 100: a share is whole percents


class ApplyError(LanewayError):
    """A recommendation cannot be applied to this config file as asked."""


@dataclass(frozen=True, slots=True)
class LaneEdit:
    path: Path
    lane: str
    before: str
    after: str
    notes: tuple[str, ...]

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"{self.path} (now)",
            tofile=f"{self.path} (applied)",
        )
        return "".join(lines)


def check_unchanged(path: Path, manifest: RunManifest) -> None:
    """ApplyError unless `path` is byte for byte the config file the run was given."""
    recorded = manifest.extra.get(CONFIG_HASH)
    if recorded is None:
        raise ApplyError(
            f"run {manifest.run_id} was given no config file, so whether {path} changed since "
            "cannot be told: run the replay with --config"
        )
    if file_sha256(path) != recorded:
        raise ApplyError(
            f"{path} changed since run {manifest.run_id}: replay again against it, or apply by hand"
        )


def lane_edit(
    text: str, path: Path, lane: str, model: str, effort: str | None, canary: float | None = None
) -> LaneEdit:
    """The file's text with `lane` moved to `model` at `effort` (None: the lane's unchanged);
    with `canary`, a split giving the new model that share of the lane's requests."""
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ApplyError(f"{path}: not TOML ({exc})") from None
    table, notes = _lane_table(doc, lane, path)
    old = [_model_of(item) for item in table["candidates"]]
    written = list(table["candidates"])
    others = [m for m in old if m != model]
    fallbacks = [str(f) for f in table.get("fallbacks", [])]
    table["fallbacks"] = list(dict.fromkeys(f for f in [*others, *fallbacks] if f != model))
    if canary is None:
        table["candidates"] = [model]
        if table.get("policy") == "split":
            table["policy"] = "ordered"
    else:
        current = written[0]
        table["candidates"] = _split(model, current, canary)
        table["fallbacks"] = [f for f in table["fallbacks"] if f != _model_of(current)]
        table["policy"] = "split"
        notes.append("the lane's effort applies to both arms of the split")
    if not table["fallbacks"]:
        del table["fallbacks"]
    notes += _set_effort(table, effort)
    after = tomlkit.dumps(doc)
    _check(after, lane, path)
    return LaneEdit(path, lane, text, after, tuple(notes))


def _lane_table(doc: tomlkit.TOMLDocument, lane: str, path: Path) -> tuple[Table, list[str]]:
    lanes = doc.get("lanes")
    if lanes is not None and lane in lanes:
        found = lanes[lane]
        if not isinstance(found, Table) or "candidates" not in found:
            raise ApplyError(f"{path}: lanes.{lane} is not a lane table with candidates")
        return found, []
    shipped = tomllib.loads(SHIPPED_LANES.read_text()).get("lanes", {}).get(lane)
    if shipped is None:
        raise ApplyError(f"lane {lane!r} is neither in {path} nor one of the shipped lanes")
    if lanes is None:
        lanes = tomlkit.table(is_super_table=True)
        doc["lanes"] = lanes
    table = tomlkit.table()
    for key, value in shipped.items():
        table[key] = value
    lanes[lane] = table
    note = f"lane {lane} is the shipped one: written whole into {path}, where it replaces it"
    return table, [note]


def _model_of(item: Any) -> str:
    return str(item["model"]) if isinstance(item, dict) else str(item)


def _split(model: str, current: Any, canary: float) -> list[Any]:
    weight = round(canary * CANARY_TOTAL)
    if not 1 <= weight < CANARY_TOTAL:
        raise ApplyError(f"--canary {canary:g}: a share from 0.01 to 0.99 (whole percents)")
    if _model_of(current) == model:
        raise ApplyError(f"the lane already serves {model}: a canary splits between two models")
    new = tomlkit.inline_table()
    new.update({"model": model, "weight": weight})
    old = tomlkit.inline_table()
    old.update(dict(current) if isinstance(current, dict) else {"model": str(current)})
    old["weight"] = CANARY_TOTAL - weight
    return [new, old]


def _set_effort(table: Table, effort: str | None) -> list[str]:
    if effort is None:  # the cell sent each line's own effort: the lane's stays as it is
        return []
    table["effort"] = effort
    ceiling = table.get("max_effort")
    rank = REASONING_EFFORTS.index
    if ceiling is not None and rank(effort) > rank(str(ceiling)):
        table["max_effort"] = effort
        return [f"max_effort raised from {ceiling} to {effort}, so the effort can be sent"]
    return []


def _check(after: str, lane: str, path: Path) -> None:
    """The changed lane as the gateway checks it when the config loads."""
    try:
        LaneConfig.model_validate(tomllib.loads(after)["lanes"][lane])
    except ValidationError as exc:
        raise ApplyError(f"{path}: the change would not load: {'; '.join(problems(exc))}") from None
