"""Token counts are exactly o200k_base's: checked against OpenAI's tiktoken itself."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from laneway.tokens import NEWER_UNICODE_RANGES, _fast, count_tokens, encode_tokens
from tests.reference_tokenizer import ReferenceEncoding


def test_known_counts() -> None:
    # Counts as OpenAI's tokenizer gives them for o200k_base (GPT-4o and the GPT-5 family).
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("Explain quantum entanglement in simple terms") == 8
    assert count_tokens("The quick brown fox jumps over the lazy dog.") == 10


def test_reference_tokenizer_agrees_on_known_counts(tiktoken_o200k: ReferenceEncoding) -> None:
    # Guards the fixture itself: the reference must be the real o200k_base, not a lookalike.
    assert tiktoken_o200k.encode_ordinary("hello world") == [24912, 2375]


SAMPLES = [
    "The quick brown fox jumps over the lazy dog.",
    "def f(x):\n    return x ** 2  # square\n\n\n",
    "日本語のテキストと絵文字 🎉🚀 Ünïcödé",
    "   leading and trailing whitespace   \r\n\t",
    "<|endoftext|> special-token text is counted as ordinary text",
    '{"model": "gpt-5.2", "input": [{"role": "user", "content": "hi"}]}',
    "a" * 10_000,
    "1234567890" * 500,
]


def test_samples_match_tiktoken(tiktoken_o200k: ReferenceEncoding) -> None:
    for text in SAMPLES:
        assert count_tokens(text) == len(tiktoken_o200k.encode_ordinary(text)), text[:40]


def test_lone_surrogates_count_as_tiktoken_counts_them(tiktoken_o200k: ReferenceEncoding) -> None:
    # JSON may carry "\ud800"; such text is not UTF-8 and must still be counted, not crash.
    text = "before \ud800 after \udfff"
    assert count_tokens(text) == len(tiktoken_o200k.encode_ordinary(text))


def test_seed_document_matches_tiktoken(tiktoken_o200k: ReferenceEncoding) -> None:
    from tests.paths import SEEDS  # noqa: PLC0415

    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        assert count_tokens(text) == len(tiktoken_o200k.encode_ordinary(text)), path.name


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_matches_tiktoken(tiktoken_o200k: ReferenceEncoding, text: str) -> None:
    assert count_tokens(text) == len(tiktoken_o200k.encode_ordinary(text))


CONTEXTS = ("{c}:A", "a{c}b", " {c}{c}1", "{c}'s x", "X{c}")


def test_newer_unicode_is_counted_by_the_reference(tiktoken_o200k: ReferenceEncoding) -> None:
    # Characters added after Unicode 14, which the fast counter reads as unassigned.
    for low, high in NEWER_UNICODE_RANGES:
        for code_point in {low, (low + high) // 2, high}:
            for context in CONTEXTS:
                text = context.format(c=chr(code_point))
                assert count_tokens(text) == len(tiktoken_o200k.encode_ordinary(text)), hex(
                    code_point
                )
                assert encode_tokens(text) == tiktoken_o200k.encode_ordinary(text)


def test_the_fast_counter_really_misreads_those_characters(
    tiktoken_o200k: ReferenceEncoding,
) -> None:
    # If quicktok ever agrees here, the fallback (and its cost) can go.
    text = "\U000323b0:A"
    assert _fast().count(text) != len(tiktoken_o200k.encode_ordinary(text))


def test_code_points_outside_the_table_need_no_fallback(
    tiktoken_o200k: ReferenceEncoding,
) -> None:
    # A seeded sample of the whole code space, through the fast counter alone (the full scan of
    # all 1.1M code points that found the table takes ~30 s; this keeps it honest cheaply).
    draw = random.Random(20261122)
    newer = {cp for low, high in NEWER_UNICODE_RANGES for cp in range(low, high + 1)}
    checked = 0
    while checked < 3000:
        code_point = draw.randrange(0x110000)
        if 0xD800 <= code_point <= 0xDFFF or code_point in newer:
            continue
        text = draw.choice(CONTEXTS).format(c=chr(code_point))
        assert _fast().count(text) == len(tiktoken_o200k.encode_ordinary(text)), hex(code_point)
        checked += 1
