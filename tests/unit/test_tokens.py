"""Token counts are exactly o200k_base's: checked against OpenAI's tiktoken itself."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from laneway.tokens import count_tokens
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
