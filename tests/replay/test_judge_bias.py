"""The judge's position bias, and asking both orders cancelling it: against the emulator's judge
with a position bias of 0.3 and an accuracy of 0.9, through a gateway in-process, over 400 seeded
pairs in which one answer is right (the candidate's in exactly half of them).

One order (the candidate always shown first): the first-shown answer wins far more often than the
truth says (0.5 here; the judge's own accuracy is symmetric, so an unbiased judge's first-shown
answer would win half the time too): 0.3 + 0.7 x 0.5 = 0.65 expected. Both orders: a win needs
both orders to agree, a verdict that follows the order is a tie, so the candidate's wins and
losses balance as the truth says, and the flips show the bias (0.388 of pairs expected: see
_FLIP_SHARE).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from laneway.emulator.server import EmulatorServer
from laneway.replay.judges import (
    GatewayAsk,
    Judged,
    JudgeTask,
    PairwiseJudgeConfig,
    build_judge,
    position_flips,
)
from laneway.replay.judges.pairwise import LOSS, ONE_ORDER, TIE, WIN
from tests.replay.judging import JUDGE, binomial_quantile, gateway_to, judging_emulator, pairs

PAIRS = 400
BIAS, ACCURACY = 0.3, 0.9
_ALPHA = 0.001  # each bound fails a fair draw one time in a thousand
# A pair flips when the first-shown answer wins in both orders, or the second-shown in both.
# With the candidate right: first in both = (B + (1-B)A)(B + (1-B)(1-A)); second in both =
# (1-B)(1-A) x (1-B)A. The same with the candidate wrong, by symmetry.
_FIRST_RIGHT, _FIRST_WRONG = BIAS + (1 - BIAS) * ACCURACY, BIAS + (1 - BIAS) * (1 - ACCURACY)
_FLIP_SHARE = _FIRST_RIGHT * _FIRST_WRONG + (1 - _FIRST_RIGHT) * (1 - _FIRST_WRONG)


def _within(count: int, trials: int, share: float) -> bool:
    low = binomial_quantile(trials, share, _ALPHA / 2)
    return low <= count <= binomial_quantile(trials, share, 1 - _ALPHA / 2)


@pytest.fixture(scope="module")
def biased() -> Iterator[EmulatorServer]:
    with judging_emulator(accuracy=ACCURACY, position_bias=BIAS) as server:
        yield server


def _tasks() -> list[tuple[JudgeTask, bool]]:
    tasks = []
    for index, pair in enumerate(pairs(PAIRS, seed=2026)):
        candidate_right = index % 2 == 0
        answer, baseline = (pair.right, pair.wrong) if candidate_right else (pair.wrong, pair.right)
        tasks.append((JudgeTask("responses", pair.request, answer, baseline), candidate_right))
    return tasks


def _verdicts(emulator: EmulatorServer, tmp_path: Path, both_orders: bool) -> list[Judged]:
    async def judged() -> list[Judged]:
        async with gateway_to(emulator, tmp_path) as gateway:
            config = PairwiseJudgeConfig(kind="pairwise", model=JUDGE, both_orders=both_orders)
            judge = build_judge(config, GatewayAsk(gateway))
            room = asyncio.Semaphore(32)

            async def one(task: JudgeTask) -> Judged:
                async with room:
                    found = await judge.judge(task)
                assert found is not None
                return found

            return await asyncio.gather(*(one(task) for task, _ in _tasks()))

    return asyncio.run(judged())


def test_one_order_verdicts_are_skewed_toward_the_answer_shown_first(
    biased: EmulatorServer, tmp_path: Path
) -> None:
    verdicts = _verdicts(biased, tmp_path, both_orders=False)
    assert all(v.grade.error is None and len(v.calls) == 1 for v in verdicts)
    assert all(ONE_ORDER in v.grade.explanation and v.grade.flipped is None for v in verdicts)
    first_wins = sum(v.grade.value == WIN for v in verdicts)
    truth = sum(right for _, right in _tasks())
    assert truth == PAIRS // 2
    # Far more than the truth (and than an unbiased judge of this accuracy) would give...
    assert first_wins > binomial_quantile(PAIRS, truth / PAIRS, 1 - _ALPHA), first_wins
    # ...and as the bias predicts.
    assert _within(first_wins, PAIRS, BIAS + (1 - BIAS) * truth / PAIRS), first_wins


def test_two_order_verdicts_match_the_truth_and_count_the_flips(
    biased: EmulatorServer, tmp_path: Path
) -> None:
    verdicts = _verdicts(biased, tmp_path, both_orders=True)
    grades = [v.grade for v in verdicts]
    assert all(g.error is None and g.flipped is not None for g in grades)
    assert all(len(v.calls) == 2 for v in verdicts)
    wins = sum(g.value == WIN for g in grades)
    losses = sum(g.value == LOSS for g in grades)
    ties = sum(g.value == TIE for g in grades)
    assert wins + losses + ties == PAIRS
    # Flips are ties, and only ties.
    assert all(g.value == TIE for g in grades if g.flipped)
    # The candidate is right in half the pairs: its wins and losses balance, and its mean
    # score (flips as ties) is the truth's 0.5 within the bound.
    assert _within(wins, wins + losses, 0.5), (wins, losses)
    mean = sum(g.value or 0 for g in grades) / PAIRS
    assert abs(mean - 0.5) < 3.3 * (0.25 / PAIRS) ** 0.5, mean
    # The right answer still wins more often than it loses, pair by pair.
    right_first = [g for g, (_, right) in zip(grades, _tasks(), strict=True) if right]
    assert sum(g.value == WIN for g in right_first) > 3 * sum(g.value == LOSS for g in right_first)
    # The report's position bias: the share of pairs whose verdict followed the order.
    flips = position_flips(grades)[f"pairwise:{JUDGE}"]
    assert flips.pairs == PAIRS
    assert _within(flips.flips, PAIRS, _FLIP_SHARE), (flips.flips, _FLIP_SHARE)
