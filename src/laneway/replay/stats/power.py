"""How many more workload lines would likely settle an inconclusive verdict, by the normal
approximation on the per-line differences: if the observed mean difference d and spread s were
the truth, a one-sided test at level alpha reaches `power` with

    n = ((z(1 - alpha) + z(power)) * s / distance)^2

lines, where distance is d + m toward non-inferior (d above -m) or -m - d toward worse (d below
-m). The answer is n less the lines already run. It is a planning figure, not a promise: d and s
are themselves estimates, and a d right on -m can be settled by no finite number of lines.
"""

from __future__ import annotations

import math
from typing import Final

from scipy import special

from laneway.replay.stats.results import MoreLines, Verdict

POWER: Final = 0.8


def more_lines(
    estimate: float,
    spread: float,
    lines: int,
    margin: float,
    alpha: float,
    power: float = POWER,
) -> MoreLines:
    distance = estimate + margin
    toward: Verdict = "non-inferior" if distance > 0 else "worse"
    if distance == 0:
        return MoreLines(None, None, power, "the observed difference sits on the margin")
    if spread == 0:
        return MoreLines(None, toward, power, "the lines' differences do not vary: no spread")
    z = float(special.ndtri(1 - alpha) + special.ndtri(power))
    needed = math.ceil((z * spread / abs(distance)) ** 2)
    more = max(needed - lines, 1)
    note = (
        f"about {more} more line(s) would settle it as {toward} with {power:.0%} power, "
        f"if the observed difference ({estimate:+.4f}) and spread ({spread:.4f}) hold"
    )
    return MoreLines(more, toward, power, note)
