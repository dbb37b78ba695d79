"""Smaller workloads from a bigger one, reproducibly (a seed):

    sample   n lines, stratified: each group (a lane, or a metadata field's value) keeps its
             share of the file, by largest remainders; lines drawn at random within a group
    split    a train/holdout split: a `holdout` share of the lines, drawn at random, to test

Outputs keep the file's order and its lines' bytes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from laneway.errors import LanewayError
from laneway.workloads.lines import Line
from laneway.workloads.stats import NONE

LANE = "lane"
_METADATA = "metadata."


class SampleError(LanewayError):
    """A sample or split that cannot be made as asked."""


def group_key(by: str | None, line: Line) -> str:
    """The line's group: its lane (captured lines), or a metadata field's value (the body's
    `metadata`, else the captured facts'); NONE when it has none."""
    if by is None:
        return ""
    facts: Any = line.line.laneway if isinstance(line.line.laneway, dict) else {}
    if by == LANE:
        value = facts.get("lane")
    else:
        field = by[len(_METADATA) :]
        metadata = line.line.body.get("metadata")
        if not isinstance(metadata, dict):
            metadata = facts.get("metadata")
        value = metadata.get(field) if isinstance(metadata, dict) else None
    return NONE if value is None else str(value)


def check_by(by: str | None) -> None:
    if by is None or by == LANE or (by.startswith(_METADATA) and len(by) > len(_METADATA)):
        return
    raise SampleError(f"--by {by!r}: write lane or metadata.FIELD")


def sample(lines: Sequence[Line], n: int, by: str | None, seed: int) -> list[Line]:
    check_by(by)
    if n < 1:
        raise SampleError(f"--n {n}: a sample needs at least one line")
    if n >= len(lines):
        return list(lines)
    groups: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        groups.setdefault(group_key(by, line), []).append(index)
    draw = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    chosen: list[int] = []
    for key, size in _allocation(groups, n, len(lines)).items():
        chosen += draw.sample(groups[key], size)
    return [lines[index] for index in sorted(chosen)]


def _allocation(groups: dict[str, list[int]], n: int, total: int) -> dict[str, int]:
    """Each group's lines, proportional to its size, summing to n (largest remainders; ties
    to the larger group, then by name)."""
    shares = {key: n * len(members) / total for key, members in groups.items()}
    sizes = {key: math.floor(share) for key, share in shares.items()}
    left = n - sum(sizes.values())
    order = sorted(groups, key=lambda k: (-(shares[k] - sizes[k]), -len(groups[k]), k))
    for key in order[:left]:
        sizes[key] += 1
    return {key: size for key, size in sorted(sizes.items()) if size}


def split(lines: Sequence[Line], holdout: float, seed: int) -> tuple[list[Line], list[Line]]:
    """(train, test): round(holdout x lines) lines drawn to test, at least one each side."""
    if not 0 < holdout < 1:
        raise SampleError(f"--holdout {holdout}: a share strictly between 0 and 1")
    if len(lines) < 2:
        raise SampleError("a split needs at least two lines")
    size = min(max(round(holdout * len(lines)), 1), len(lines) - 1)
    draw = random.Random(seed)  # noqa: S311
    test = set(draw.sample(range(len(lines)), size))
    train = [line for index, line in enumerate(lines) if index not in test]
    return train, [line for index, line in enumerate(lines) if index in test]
