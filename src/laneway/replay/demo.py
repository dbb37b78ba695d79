"""The demo workload: a few hundred graded lines drawn from the emulator's task families, so a
new user sees a real replay report offline in one command.

Each line is an OpenAI Batch line for the legacy lane being migrated (gpt-5.2, no reasoning
effort), mostly Responses and some Chat Completions, with laneway's `expect` beside it: the
answer the emulator's skill model counts as right (laneway.emulator.skill_tasks). Against the
emulator the grades measure its EMULATED skills, never a real model's.

The shipped file (laneway/replay/data/demo.jsonl) is this module's output for DEMO_SEED and
DEMO_LINES, held equal by a test. After changing a family or this module, regenerate it:

    python -m laneway.replay.demo > src/laneway/replay/data/demo.jsonl
"""

from __future__ import annotations

import random
import sys
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson

from laneway.emulator.skill_tasks import FAMILIES, Answer, Sample, recognise

DEMO_SEED = 19
DEMO_LINES = 300
DEMO_MODEL = "gpt-5.2"
DEMO_WORKLOAD = Path(str(files("laneway.replay").joinpath("data/demo.jsonl")))
# How often each family is drawn; a share of lines asks through Chat Completions.
_WEIGHTS = {
    "arithmetic": 3,
    "extraction": 2,
    "classification": 3,
    "passage_qa": 2,
    "tool_call": 2,
}
_CHAT_SHARE = 0.25
_INSTRUCTED_SHARE = 0.3
_INSTRUCTIONS = "You are a careful assistant. Follow the user's answer format exactly."
# Room for the answer after reasoning at any effort a replay may try (xhigh reasons up to
# ~2,600 tokens in the emulator): caps as a legacy lane's requests carry them.
_CAPS = (4096, 8192, 16384)


def expectation(family: str, right: Answer) -> dict[str, Any]:
    """What laneway's graders check for a right answer of `family`."""
    if family == "tool_call":
        arguments = orjson.loads(right.call_arguments or "{}")
        return {"tool_call": {"name": right.call_name, "arguments": arguments}}
    text = right.text or ""
    if family == "arithmetic":
        return {"numeric": int(text)}
    if family == "extraction":
        return {"json_fields": orjson.loads(text)}
    if family == "classification":
        return {"exact": text}
    return {"contains": text}


def _responses_body(sample: Sample, cap: int, instructed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": DEMO_MODEL, "input": sample.text}
    if instructed:
        body["instructions"] = _INSTRUCTIONS
    if sample.functions:
        body["tools"] = [{"type": "function", **f, "strict": True} for f in sample.functions]
    if sample.json_schema is not None:
        schema = {"type": "json_schema", "name": "record", "schema": sample.json_schema}
        body["text"] = {"format": {**schema, "strict": True}}
    body["max_output_tokens"] = cap
    return body


def _chat_body(sample: Sample, cap: int, instructed: bool) -> dict[str, Any]:
    system = [{"role": "system", "content": _INSTRUCTIONS}] if instructed else []
    messages = [*system, {"role": "user", "content": sample.text}]
    body: dict[str, Any] = {"model": DEMO_MODEL, "messages": messages}
    if sample.functions:
        body["tools"] = [
            {"type": "function", "function": {**f, "strict": True}} for f in sample.functions
        ]
    if sample.json_schema is not None:
        schema = {"name": "record", "schema": sample.json_schema, "strict": True}
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    body["max_completion_tokens"] = cap
    return body


def _line(number: int, draw: random.Random) -> Mapping[str, Any]:
    family = draw.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()))[0]
    sample = FAMILIES[family].sample(draw)
    found = recognise(sample.text)
    if found is None:  # a family that cannot read its own task: a bug, not a line to ship
        raise AssertionError(f"the {family} family does not recognise {sample.text!r}")
    right = found[0].solve(found[1])
    cap, instructed = draw.choice(_CAPS), draw.random() < _INSTRUCTED_SHARE
    chat = draw.random() < _CHAT_SHARE
    return {
        "custom_id": f"demo-{number:03d}-{family}",
        "method": "POST",
        "url": "/v1/chat/completions" if chat else "/v1/responses",
        "body": (_chat_body if chat else _responses_body)(sample, cap, instructed),
        "expect": expectation(family, right),
    }


def demo_jsonl(seed: int = DEMO_SEED, lines: int = DEMO_LINES) -> bytes:
    """The demo workload as JSONL: the same bytes for the same seed and count."""
    draw = random.Random(seed)  # noqa: S311 - a reproducible workload, nothing secret
    return b"".join(
        orjson.dumps(_line(number, draw), option=orjson.OPT_APPEND_NEWLINE)
        for number in range(1, lines + 1)
    )


def main() -> None:
    sys.stdout.buffer.write(demo_jsonl())


if __name__ == "__main__":
    main()
