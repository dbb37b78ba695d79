"""Exact o200k_base token counts, offline.

Two tokenizers, one answer:
- quicktok (a C++ BPE whose wheel carries the o200k_base vocabulary) counts almost every text,
  at ~50-140 MB/s against tiktoken's ~6-20 here.
- OpenAI's own tiktoken counts the rare text that quicktok gets wrong: quicktok's character
  tables predate Unicode 15.1, so it reads characters added since (listed below, found by
  comparing both tokenizers on every code point) as unassigned, where tiktoken's regex reads
  letters. One C-speed regex scan decides; tiktoken is loaded only when first needed.

tiktoken would download its vocabulary; instead it reads the copy the bpe-openai wheel ships,
through its own documented cache (TIKTOKEN_CACHE_DIR), and checks the file against the SHA-256
it pins before using it. Special-token text such as "<|endoftext|>" in a prompt is counted as
ordinary text, as the API does for user content.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import re
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Protocol

import quicktok

ENCODING = "o200k_base"
_O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"

# Code points quicktok 0.4 and tiktoken tokenize differently: all assigned after Unicode 14.
NEWER_UNICODE_RANGES: tuple[tuple[int, int], ...] = (
    (0x88F, 0x88F),
    (0xC5C, 0xC5C),
    (0xCDC, 0xCDC),
    (0x1ACF, 0x1ADD),
    (0x1AE0, 0x1AEB),
    (0xA7CE, 0xA7CF),
    (0xA7D2, 0xA7D2),
    (0xA7D4, 0xA7D4),
    (0xA7F1, 0xA7F1),
    (0x10940, 0x10959),
    (0x10EC5, 0x10EC7),
    (0x10EFA, 0x10EFB),
    (0x11B60, 0x11B67),
    (0x11DB0, 0x11DDB),
    (0x11DE0, 0x11DE9),
    (0x16EA0, 0x16EB8),
    (0x16EBB, 0x16ED3),
    (0x16FF2, 0x16FF6),
    (0x187F8, 0x187FF),
    (0x18D09, 0x18D1E),
    (0x18D80, 0x18DF2),
    (0x1E6C0, 0x1E6DE),
    (0x1E6E0, 0x1E6F5),
    (0x1E6FE, 0x1E6FF),
    (0x2B73A, 0x2B73F),
    (0x2CEA2, 0x2CEAD),
    (0x323B0, 0x33479),
)
_NEWER_UNICODE = re.compile(
    "[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in NEWER_UNICODE_RANGES) + "]"
)


@functools.cache
def _newer_table() -> Any:
    """One flag per code point (1.1 MB): indexing it with a text's code points is a vectorised
    membership test at hundreds of MB/s, where a regex over astral ranges manages ~20. Built,
    and numpy imported, on first need: a gateway that never counts tokens never loads them."""
    import numpy as np  # noqa: PLC0415

    table = np.zeros(0x110000, dtype=np.bool_)
    for low, high in NEWER_UNICODE_RANGES:
        table[low : high + 1] = True
    return table


_FIRST_NEWER = NEWER_UNICODE_RANGES[0][0]
_SHORT = 256  # characters; below this a regex beats numpy's per-call overhead


def _needs_reference(text: str) -> bool:
    if text.isascii():  # a C flag check: most prompts end here
        return False
    if len(text) < _SHORT:
        return _NEWER_UNICODE.search(text) is not None
    import numpy as np  # noqa: PLC0415 - cached by Python after the first import

    code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return bool(code_points.max() >= _FIRST_NEWER and _newer_table()[code_points].any())


class _Counter(Protocol):
    def count(self, text: str) -> int: ...

    def encode_ordinary(self, text: str) -> list[int]: ...

    def decode(self, tokens: list[int]) -> str: ...


class _Reference(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


def preload() -> None:
    """Load the vocabulary and lookup table now (~0.8 s), not during a first request."""
    _fast()
    _newer_table()


@functools.cache
def _fast() -> _Counter:
    # Loaded on first use (~0.8 s): commands that never count tokens do not pay for it.
    counter: _Counter = quicktok.get_encoding(ENCODING)
    return counter


def install_tiktoken_vocabulary(cache_dir: Path) -> None:
    """Put o200k_base where tiktoken's cache looks (named after the SHA-1 of its URL)."""
    spec = find_spec("bpe_openai")  # located, not imported: only its data file is wanted
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("bpe-openai is not installed; it carries the o200k_base vocabulary")
    package = Path(next(iter(spec.submodule_search_locations)))
    vocabulary = gzip.decompress((package / "data" / "o200k_base.tiktoken.gz").read_bytes())
    name = hashlib.sha1(_O200K_URL.encode(), usedforsecurity=False).hexdigest()
    target = cache_dir / name
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(vocabulary)
        partial.replace(target)  # atomic: concurrent processes never read half a file


@functools.cache
def reference_encoding() -> _Reference:
    """OpenAI's tiktoken o200k_base, offline (its cache dir is set if the user set none)."""
    import tiktoken  # noqa: PLC0415 - loaded only for the rare text that needs it

    cache = os.environ.get("TIKTOKEN_CACHE_DIR")
    if cache is None:
        cache = str(Path(tempfile.gettempdir()) / "laneway-tiktoken")
        os.environ["TIKTOKEN_CACHE_DIR"] = cache  # tiktoken reads only this; ours holds o200k
    install_tiktoken_vocabulary(Path(cache))
    encoding: _Reference = tiktoken.get_encoding(ENCODING)
    return encoding


def _clean(text: str) -> str:
    # Lone surrogates (legal in JSON "\\ud800" escapes) are not UTF-8; they become the
    # replacement character, which is what reaches the model.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def count_tokens(text: str) -> int:
    """The number of o200k_base tokens in `text`."""
    if _needs_reference(text):
        return len(reference_encoding().encode_ordinary(text))
    try:
        return _fast().count(text)
    except (TypeError, UnicodeEncodeError):
        return _fast().count(_clean(text))


def encode_tokens(text: str) -> list[int]:
    """The o200k_base token ids of `text` (special-token text encoded as ordinary text)."""
    if _needs_reference(text):
        return reference_encoding().encode_ordinary(text)
    try:
        return _fast().encode_ordinary(text)
    except (TypeError, UnicodeEncodeError):
        return _fast().encode_ordinary(_clean(text))


def decode_tokens(tokens: list[int]) -> str:
    """The text of o200k_base token ids (a cut inside a character decodes to U+FFFD)."""
    return _fast().decode(tokens)
