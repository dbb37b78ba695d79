"""ModelNames: exact, then case-insensitive where unambiguous, then suggestions."""

from __future__ import annotations

from laneway.pricing.names import ModelNames, did_you_mean


def test_exact_then_case_folded_when_one_name_matches() -> None:
    names = ModelNames(["gpt-5.4", "gpt-5.4-mini", "Local-A", "local-a"])
    assert names.resolve("gpt-5.4") == "gpt-5.4"
    assert names.resolve("GPT-5.4-MINI") == "gpt-5.4-mini"
    # Two names differ only in case: exact names resolve, a third spelling does not.
    assert names.resolve("local-a") == "local-a"
    assert names.resolve("LOCAL-A") is None
    assert names.resolve("gpt-99") is None
    assert "GPT-5.4" not in names


def test_suggestions_ignore_case_and_read_as_a_sentence() -> None:
    names = ModelNames(["gpt-5.4", "gpt-5.4-mini", "o3"])
    assert names.suggest("GPT-5.4-MINII")[0] == "gpt-5.4-mini"
    assert names.suggest("zzzzzz") == []
    assert did_you_mean(["a", "b"]) == " Did you mean 'a' or 'b'?"
    assert did_you_mean([]) == ""
