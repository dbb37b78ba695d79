"""What pricing a workload line's calls needs, read once per line (whatever the cell), and the
run's lines' facts kept as columns: a few dozen bytes a line, never the line's body.

    table = FactsTable()
    table.append(line_facts(line))     # line after line, in run order
    table[i]                           # line i's LineFacts, made on asking
    table.models                       # the distinct models the lines name
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from laneway.wire.batch_lines import BatchLine
from laneway.wire.errors import ApiError
from laneway.wire.features import exact_input_tokens, read_features

_NO_CAP = -1  # max_output column: the line sets no cap of its own


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What a line's cost depends on."""

    input_tokens: int
    max_output: int | None  # the line's own cap
    choices: int
    extra_output: int
    readable: bool  # False: laneway cannot read the body's limits (the gateway refuses it)
    model: str  # the model the line names (the as-written baseline's)


def line_facts(line: BatchLine) -> LineFacts:
    tokens = exact_input_tokens(line.endpoint, line.body)
    model = str(line.body["model"])
    try:
        features = read_features(line.endpoint, line.body, len(orjson.dumps(line.body)))
    except ApiError:
        return LineFacts(tokens, None, 1, 0, readable=False, model=model)
    return LineFacts(
        tokens, features.max_output_tokens, features.choices, features.output_extra, True, model
    )


class FactsTable:
    """Lines' facts as columns ('q' arrays, a byte for readable, a small int for the model):
    what the run keeps per line instead of the line."""

    def __init__(self) -> None:
        self._input = array("q")
        self._max_output = array("q")
        self._choices = array("q")
        self._extra = array("q")
        self._readable = bytearray()
        self._model = array("I")  # index into _models
        self._models: list[str] = []
        self._model_index: dict[str, int] = {}

    def append(self, facts: LineFacts) -> None:
        self._input.append(facts.input_tokens)
        self._max_output.append(_NO_CAP if facts.max_output is None else facts.max_output)
        self._choices.append(facts.choices)
        self._extra.append(facts.extra_output)
        self._readable.append(facts.readable)
        index = self._model_index.setdefault(facts.model, len(self._models))
        if index == len(self._models):
            self._models.append(facts.model)
        self._model.append(index)

    def __len__(self) -> int:
        return len(self._input)

    def __getitem__(self, index: int) -> LineFacts:
        cap = self._max_output[index]
        return LineFacts(
            self._input[index],
            None if cap == _NO_CAP else cap,
            self._choices[index],
            self._extra[index],
            bool(self._readable[index]),
            self._models[self._model[index]],
        )

    def __iter__(self) -> Iterator[LineFacts]:
        return (self[index] for index in range(len(self)))

    @property
    def models(self) -> tuple[str, ...]:
        """The distinct models the lines name, in the order first named."""
        return tuple(self._models)
