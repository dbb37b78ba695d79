"""What the emulated model answers: deterministic text, JSON or a function call, with usage.

Answers are a function of (seed, model, rendered prompt, choice index) only (a task of the
skill model is answered in laneway.emulator.skill_answers, with these helpers). Visible text is
built from words that are each exactly one o200k_base token, so its length in tokens is known
by construction (the tests check it against the tokenizer). Reasoning tokens grow with effort
(none gives 0) and count against `max_output_tokens` before any visible token, as OpenAI's do.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from laneway.emulator.config import OutputLength
from laneway.emulator.determinism import rng, units
from laneway.emulator.schema_values import UnsupportedSchema, value_for_schema
from laneway.tokens import count_tokens, decode_tokens, encode_tokens
from laneway.wire.errors import ApiError

# Each is one o200k_base token as "word", " word", "Word" and " Word" (checked by the tests).
WORDS: tuple[str, ...] = (
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "from",
    "at",
    "or",
    "have",
    "an",
    "they",
    "which",
    "one",
    "you",
    "were",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "time",
    "about",
    "up",
    "out",
    "them",
    "then",
    "she",
    "many",
    "some",
    "these",
    "two",
    "like",
    "other",
    "could",
    "into",
    "than",
    "only",
    "its",
    "also",
    "new",
    "after",
    "first",
    "any",
    "may",
    "most",
    "over",
    "such",
    "where",
    "those",
    "even",
    "because",
    "how",
    "through",
    "each",
    "well",
    "our",
    "much",
    "own",
    "just",
    "both",
    "good",
    "under",
    "same",
    "while",
    "last",
    "great",
    "since",
    "against",
    "right",
    "three",
    "during",
    "without",
    "again",
    "place",
    "around",
    "however",
    "small",
    "found",
    "still",
    "between",
    "life",
    "never",
    "world",
    "fact",
    "another",
    "system",
    "case",
    "point",
    "group",
    "number",
    "part",
    "work",
    "year",
    "state",
    "day",
    "week",
    "data",
    "model",
    "lane",
    "request",
    "answer",
    "report",
    "value",
    "level",
    "plan",
    "cost",
    "price",
    "token",
    "cache",
    "stream",
    "route",
    "reason",
    "result",
    "order",
    "market",
    "team",
    "project",
    "service",
)

# Reasoning tokens per unit of a request's base effort; "none" reasons not at all.
EFFORT_FACTOR: dict[str, float] = {
    "none": 0.0,
    "minimal": 0.25,
    "low": 1.0,
    "medium": 2.5,
    "high": 5.0,
    "xhigh": 10.0,
    "max": 16.0,
}
_REASONING_BASE = (64, 256)  # a request's base effort, drawn per request from this range


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class FunctionTool:
    name: str
    parameters: Mapping[str, Any]


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class Prompted:
    """What a request asks of the model, independent of which API carried it."""

    model: str
    prompt: str  # the rendered conversation; answers depend on it
    effort: str
    max_output_tokens: int | None
    json_schema: Mapping[str, Any] | None = None
    json_object: bool = False
    functions: Sequence[FunctionTool] = ()
    tool_choice: str | None = None  # "auto" | "none" | "required" | a function's name
    last_user_text: str = ""
    answering_tool_output: bool = False  # the conversation ends with a tool's result
    choice: int = 0  # Chat's n: each choice is a different draw
    repeat: int = 0  # x-emulator-repeat: a skill task's fresh draw (plain answers ignore it)


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class FunctionCall:
    name: str
    call_id: str
    arguments: str


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class Generation:
    text: str | None  # the message (plain text or JSON); None when the answer is a call
    call: FunctionCall | None
    visible_tokens: int
    reasoning_tokens: int
    incomplete: bool  # stopped by max_output_tokens

    @property
    def output_tokens(self) -> int:
        return self.visible_tokens + self.reasoning_tokens


def _draws(seed: int, ask: Prompted) -> tuple[float, float, float]:
    """(reasoning, length, text) draws for this ask: one hash, not one per decision."""
    reasoning, length, text = units(seed, 3, ask.model, ask.prompt, ask.choice)
    return reasoning, length, text


def _reasoning_tokens(effort: str, draw: float) -> int:
    low, high = _REASONING_BASE
    return int((low + int(draw * (high - low))) * EFFORT_FACTOR.get(effort, 1.0))


def _chosen_function(ask: Prompted) -> FunctionTool | None:
    if not ask.functions or ask.tool_choice == "none" or ask.answering_tool_output:
        return None
    if ask.tool_choice not in (None, "auto", "required"):
        return next((f for f in ask.functions if f.name == ask.tool_choice), None)
    mentioned = [f for f in ask.functions if f.name in ask.last_user_text]
    if mentioned:
        return mentioned[0]
    return ask.functions[0] if ask.tool_choice == "required" else None


def _build_corpus() -> tuple[tuple[str, ...], tuple[int, ...]]:
    """A fixed text of one-token pieces (" Word", " word", ".") and where its sentences start.

    Answers are slices of it: joining a slice is far cheaper than drawing word by word, and a
    slice of n pieces is exactly n tokens.
    """
    draw = random.Random(0x1A9E)  # noqa: S311 - a fixed text, part of the emulator
    pieces: list[str] = []
    starts: list[int] = []
    sentence = 0
    while len(pieces) < _CORPUS_PIECES:
        if sentence == 0:
            starts.append(len(pieces))
            pieces.append(" " + draw.choice(WORDS).capitalize())
            sentence = 1
        elif sentence > 8 and draw.random() < 0.25:
            pieces.append(".")  # never two in a row: ".." would be one token
            sentence = 0
        else:
            pieces.append(" " + draw.choice(WORDS))
            sentence += 1
    if pieces[-1] == ".":
        pieces[-1] = " " + WORDS[0]  # the text may wrap to its start, which follows a word
    return tuple(pieces), tuple(starts)


_CORPUS_PIECES = 1 << 14
_PIECES, _SENTENCE_STARTS = _build_corpus()


def _words(draw: float, n: int) -> str:
    """n tokens of text starting at a sentence chosen by `draw`; a prefix of any longer one."""
    start = _SENTENCE_STARTS[int(draw * len(_SENTENCE_STARTS))]
    chosen = _PIECES[start : start + n]
    while len(chosen) < n:  # longer than the rest of the corpus: wrap around
        chosen += _PIECES[: n - len(chosen)]
    return "".join(chosen)[1:]  # "Word" without its leading space is one token as well


def _cut(text: str, tokens: int) -> str:
    return decode_tokens(encode_tokens(text)[:tokens])


def _schema_value(schema: Mapping[str, Any], seed: int, ask: Prompted, what: str) -> str:
    try:
        value = value_for_schema(schema, rng(seed, "json", ask.model, ask.prompt, ask.choice))
    except UnsupportedSchema as exc:
        raise ApiError(400, f"Invalid schema for {what}: {exc}", param=None) from exc
    return orjson.dumps(value).decode()


def thinking_tokens(seed: int, ask: Prompted) -> int:
    """The reasoning tokens `ask` spends before any visible token."""
    return _reasoning_tokens(ask.effort, _draws(seed, ask)[0])


def out_of_budget(ask: Prompted, thinking: int) -> Generation | None:
    """The answer when reasoning alone reaches max_output_tokens: nothing visible, incomplete."""
    budget = ask.max_output_tokens
    if budget is not None and thinking >= budget:
        return Generation(None, None, 0, budget, incomplete=True)
    return None


def _room(ask: Prompted, thinking: int) -> int | None:
    return None if ask.max_output_tokens is None else ask.max_output_tokens - thinking


def call_generation(
    seed: int, ask: Prompted, name: str, arguments: str, thinking: int
) -> Generation:
    """A call of `name` with `arguments` (JSON text), if it fits in what reasoning left."""
    call_id = "call_" + rng(seed, "call", ask.prompt, ask.choice).randbytes(12).hex()
    size = count_tokens(name) + count_tokens(arguments)
    room = _room(ask, thinking)
    if room is not None and size > room:
        return Generation(None, None, 0, thinking + room, incomplete=True)
    return Generation(None, FunctionCall(name, call_id, arguments), size, thinking, False)


def text_generation(ask: Prompted, text: str, thinking: int) -> Generation:
    """`text` as the answer, cut at max_output_tokens (then incomplete)."""
    size = count_tokens(text)
    room = _room(ask, thinking)
    if room is not None and size > room:
        return Generation(_cut(text, room), None, room, thinking, incomplete=True)
    return Generation(text, None, size, thinking, incomplete=False)


def generate(seed: int, ask: Prompted, lengths: OutputLength) -> Generation:
    """The model's answer to `ask`; truncated (incomplete) when max_output_tokens is reached."""
    reasoning_draw, length_draw, text_draw = _draws(seed, ask)
    thinking = _reasoning_tokens(ask.effort, reasoning_draw)
    spent = out_of_budget(ask, thinking)
    if spent is not None:
        return spent
    room = _room(ask, thinking)

    function = _chosen_function(ask)
    if function is not None:
        arguments = _schema_value(function.parameters, seed, ask, f"function '{function.name}'")
        return call_generation(seed, ask, function.name, arguments, thinking)

    plain = ask.json_schema is None and not ask.json_object
    if ask.json_schema is not None:
        text = _schema_value(ask.json_schema, seed, ask, "text.format")
        size = count_tokens(text)
    else:
        low, high = lengths.min, lengths.max
        size = low + int(length_draw * (high - low + 1))
        if ask.json_object:
            text = orjson.dumps({"answer": _words(text_draw, max(size - 6, 1))}).decode()
            size = count_tokens(text)
        else:
            text = _words(text_draw, size)
    if room is not None and size > room:
        cut = _words(text_draw, room) if plain else _cut(text, room)
        return Generation(cut, None, room, thinking, incomplete=True)
    return Generation(text, None, size, thinking, incomplete=False)
