"""POST /v1/embeddings as OpenAI answers it: the request read and checked, deterministic vectors.

    input            a string, an array of strings, an array of tokens or of token arrays:
                     1..2048 inputs, none empty, each at most 8192 tokens, 300,000 in all
    dimensions       text-embedding-3-* only, 1..the model's own size
    encoding_format  "float" (lists of numbers) or "base64" (little-endian float32 bytes), the
                     SDK's default

A vector is a unit vector drawn from a seed made of the model and the input, so the same input
always embeds the same way (a few thousand floats per input: cheap enough for tests).
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from laneway.emulator.validation import one_of, reject_unknown, required_string
from laneway.wire.errors import ApiError, invalid_request, invalid_type, invalid_value

MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
MAX_TOTAL_TOKENS = 300_000
# The size of each model's vectors (OpenAI's model pages); `dimensions` may only shorten them,
# and only on the text-embedding-3 models.
NATIVE_DIMENSIONS: Mapping[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_KNOWN = frozenset({"input", "model", "dimensions", "encoding_format", "user"})
_DEFAULT_DIMENSIONS = 1536

Input = str | list[int]


@dataclass(frozen=True, slots=True)
class EmbeddingsRequest:
    model: str
    inputs: tuple[Input, ...]
    dimensions: int | None
    base64: bool


def parse_embeddings_request(body: Mapping[str, Any]) -> EmbeddingsRequest:
    reject_unknown(body, _KNOWN)
    model = required_string(body, "model")
    if "input" not in body or body["input"] is None:
        raise ApiError(400, "Missing required parameter: 'input'.", param="input")
    inputs = _inputs(body["input"])
    dimensions = body.get("dimensions")
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int)):
        raise invalid_type("dimensions", "an integer", dimensions)
    encoding = body.get("encoding_format")
    if encoding is not None and not isinstance(encoding, str):
        raise invalid_type("encoding_format", "a string", encoding)
    one_of(encoding, ("float", "base64"), "encoding_format")
    return EmbeddingsRequest(model, inputs, dimensions, encoding == "base64")


def _inputs(value: object) -> tuple[Input, ...]:
    """The inputs as a tuple, each a string or a token list; OpenAI's 400 for any other shape."""
    if isinstance(value, str):
        items: list[object] = [value]
    elif isinstance(value, list):
        if not value:
            raise invalid_value("input", "'$.input' is invalid: an array must not be empty.")
        # All integers: one input given as its tokens.
        items = [value] if all(_is_token(item) for item in value) else value
    else:
        raise invalid_type("input", "a string or an array", value)
    if len(items) > MAX_INPUTS:
        raise invalid_value(
            "input",
            f"'$.input' is invalid: an array must have at most {MAX_INPUTS} items, but it has "
            f"{len(items)}.",
        )
    inputs: list[Input] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            if not item:
                raise invalid_value("input", f"'$.input[{index}]' is invalid: it is empty.")
            inputs.append(item)
        elif isinstance(item, list) and item and all(_is_token(token) for token in item):
            inputs.append(item)
        else:
            raise invalid_request(
                f"'$.input[{index}]' is invalid. Please check the API reference: "
                "https://platform.openai.com/docs/api-reference.",
                param="input",
            )
    return tuple(inputs)


def _is_token(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_sizes(model: str, counts: Sequence[int]) -> None:
    """OpenAI's 400s for an input over the per-input or the per-request token limit."""
    for count in counts:
        if count > MAX_INPUT_TOKENS:
            raise ApiError(
                400,
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however you "
                f"requested {count} tokens in your input. Please reduce your input.",
                param="input",
                code="context_length_exceeded",
            )
    total = sum(counts)
    if total > MAX_TOTAL_TOKENS:
        raise ApiError(
            400,
            f"Requested {total} tokens, max {MAX_TOTAL_TOKENS} tokens per request for {model}.",
            param="input",
            code="max_tokens_per_request",
        )


def dimensions_of(model: str, requested: int | None) -> int:
    native = NATIVE_DIMENSIONS.get(model, _DEFAULT_DIMENSIONS)
    if requested is None:
        return native
    if not model.startswith("text-embedding-3"):
        raise invalid_request(
            "This model does not support specifying dimensions.", param="dimensions"
        )
    if not 1 <= requested <= native:
        raise invalid_value(
            "dimensions",
            f"Invalid 'dimensions': expected a value between 1 and {native}, but got {requested}.",
        )
    return requested


def vector(seed: int, model: str, item: Input, dimensions: int) -> list[float]:
    """A unit vector of `dimensions` floats, the same for the same seed, model and input."""
    text = item if isinstance(item, str) else ",".join(map(str, item))
    digest = hashlib.blake2b(f"{seed}\0{model}\0{text}".encode(), digest_size=8).digest()
    draw = random.Random(int.from_bytes(digest, "big"))  # noqa: S311 - test vectors
    raw = [draw.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def embedding_list(
    request: EmbeddingsRequest, model_name: str, vectors: Sequence[list[float]], tokens: int
) -> dict[str, Any]:
    """The `list` object OpenAI answers with."""
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": _encoded(values) if request.base64 else values,
        }
        for index, values in enumerate(vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": model_name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _encoded(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")
