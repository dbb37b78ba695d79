"""Helpers for the judges' tests: an emulator in a thread whose judge errs as told, a gateway
in-process routing to it (as a run's is), and seeded pairs of answers to tasks of the emulator's
families, one answer right and one wrong."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import laneway
from laneway.config import GatewayConfig
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.emulator.skill_tasks import FAMILIES, Answer
from laneway.emulator.skills import JudgeSkill, SkillsConfig
from laneway.gateway.core import Gateway
from laneway.wire.answers import AnswerView, ToolCall

EMU_KEY = "sk-judges-tests-0123456789"
JUDGE = "gpt-5.4"
ASKED = "gpt-5.4-mini"


@contextmanager
def judging_emulator(**judge: Any) -> Iterator[EmulatorServer]:
    skills = SkillsConfig(judge=JudgeSkill(**judge))
    with EmulatorServer(EmulatorConfig(seed=11, speed=0, tier="none", skills=skills)) as server:
        yield server


def gateway_config(emulator: EmulatorServer, tmp_path: Path) -> GatewayConfig:
    provider = {"kind": "openai-compatible", "base_url": emulator.base_url, "api_key_env": "EMU"}
    return GatewayConfig.model_validate(
        {"providers": {"emu": provider}, "ledger": {"path": str(tmp_path / "ledger.db")}}
    )


@asynccontextmanager
async def gateway_to(emulator: EmulatorServer, tmp_path: Path) -> AsyncIterator[Gateway]:
    async with laneway.build_gateway(gateway_config(emulator, tmp_path), {"EMU": EMU_KEY}) as gw:
        yield gw


def view(answer: Answer) -> AnswerView:
    if answer.call_name is not None:
        return AnswerView("", (ToolCall(answer.call_name, answer.call_arguments or ""),))
    return AnswerView(answer.text or "")


@dataclass(frozen=True, slots=True)
class Pair:
    request: dict[str, Any]  # a Responses body
    right: AnswerView
    wrong: AnswerView


def pairs(count: int, seed: int) -> list[Pair]:
    """`count` tasks of the emulator's families, by turns, each with a right and a wrong answer."""
    draw = random.Random(seed)
    families = list(FAMILIES.values())
    made = []
    for index in range(count):
        family = families[index % len(families)]
        sample = family.sample(draw)
        found = family.recognise(sample.text)
        assert found is not None
        request: dict[str, Any] = {"model": ASKED, "input": sample.text}
        if sample.functions:
            request["tools"] = [{"type": "function", **f} for f in sample.functions]
        made.append(Pair(request, view(family.solve(found)), view(family.wrong(found, draw))))
    return made


def binomial_quantile(trials: int, share: float, level: float) -> int:
    """The least k with P(X <= k) >= level for X ~ Binomial(trials, share), exactly."""
    total = 0.0
    for k in range(trials + 1):
        total += math.comb(trials, k) * share**k * (1 - share) ** (trials - k)
        if total >= level:
            return k
    return trials
