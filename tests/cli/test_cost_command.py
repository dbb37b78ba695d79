"""`laneway cost`: the seeds' examples end to end, JSON, comparison, batch and every user error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Run, assert_one_line_error


def test_issue_example_table(run: Run) -> None:
    result = run(
        "cost", "--model", "gpt-5.2", "--input", "300000", "--cached", "300000", "--output", "10000"
    )
    assert result.code == 0
    assert result.err == ""
    rows = {line.split("│")[1].strip(): line for line in result.out.splitlines() if "│" in line}
    assert "$0.0525" in rows["cached input"]
    assert "$0.14" in rows["output"]
    assert "$0.1925" in rows["total"]
    assert "300,000" in rows["cached input"]


def test_json_has_the_documented_fields(run: Run) -> None:
    result = run("cost", "-m", "gpt-5.2", "--input", "10k", "--output", "2k", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["model"] == "gpt-5.2"
    assert (data["input_tokens"], data["cached_tokens"], data["output_tokens"]) == (
        10_000,
        0,
        2_000,
    )
    # Money is a decimal string, exact; never a float.
    assert data["total_usd"] == "0.0455"
    assert data["uncached_input_usd"] == "0.0175"
    assert data["output_usd"] == "0.028"
    assert data["cached_input_usd"] == "0"
    assert data["prices_per_million_usd"] == {
        "input": "1.75",
        "cached_input": "0.175",
        "output": "14",
    }
    assert data["unknown"] == []


def test_snapshot_names_work(run: Run) -> None:
    result = run("cost", "-m", "gpt-5.4-mini-2026-03-17", "--input", "1M", "--json")
    assert json.loads(result.out)["total_usd"] == "0.75"


def test_batch_applies_the_discount(run: Run) -> None:
    result = run("cost", "-m", "gpt-5.2", "--input", "300k", "--output", "10k", "--batch", "--json")
    data = json.loads(result.out)
    assert data["batch"] is True
    assert data["batch_discount"] == "0.5"
    assert data["total_usd"] == "0.3325"
    table = run("cost", "-m", "gpt-5.2", "--input", "300k", "--output", "10k", "--batch")
    assert "gpt-5.2 (batch, 50% off)" in table.out
    assert "$0.3325" in table.out


def test_reasoning_share(run: Run) -> None:
    data = json.loads(
        run("cost", "-m", "gpt-5.4", "--output", "10k", "--reasoning", "8k", "--json").out
    )
    assert (data["output_usd"], data["reasoning_usd"], data["total_usd"]) == (
        "0.15",
        "0.12",
        "0.15",
    )


def test_unknown_total_is_null_with_a_warning(run: Run) -> None:
    result = run("cost", "-m", "gpt-5.4-nano", "--input", "10k", "--output", "2k", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["total_usd"] is None
    assert data["output_usd"] is None
    assert data["uncached_input_usd"] == "0.001"
    assert data["unknown"] == ["output price is unknown"]
    assert "warning: gpt-5.4-nano: output price is unknown" in result.err
    table = run("cost", "-m", "gpt-5.4-nano", "--input", "10k", "--output", "2k")
    assert "unknown" in table.out
    assert "$0.00 " not in table.out.split("total")[1]


def test_compare_orders_cheapest_first_unknown_last(run: Run) -> None:
    result = run("cost", "--compare", "--input", "10000", "--output", "2000")
    assert result.code == 0
    order = [line.split("│")[1].strip() for line in result.out.splitlines() if line.startswith("│")]
    assert order == ["gpt-5.4-mini", "gpt-5.2", "gpt-5.4", "gpt-5.4-nano"]
    nano = next(line for line in result.out.splitlines() if "gpt-5.4-nano" in line)
    assert "unknown*" in nano
    assert "never read it as zero" in result.out
    assert "unknown total for gpt-5.4-nano" in result.err


def test_compare_json(run: Run) -> None:
    data = json.loads(run("cost", "--compare", "--input", "10k", "--output", "2k", "--json").out)
    assert [(d["model"], d["total_usd"]) for d in data] == [
        ("gpt-5.4-mini", "0.0165"),
        ("gpt-5.2", "0.0455"),
        ("gpt-5.4", "0.055"),
        ("gpt-5.4-nano", None),
    ]


def test_catalog_override_from_the_environment(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    override = tmp_path / "prices.toml"
    override.write_text('[models."gpt-5.4-nano".prices]\noutput = "0.40"\n', encoding="utf-8")
    monkeypatch.setenv("LANEWAY_CATALOG", str(override))
    data = json.loads(
        run("cost", "-m", "gpt-5.4-nano", "--input", "10k", "--output", "2k", "--json").out
    )
    assert data["total_usd"] == "0.0018"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["-m", "gpt-5.3", "--input", "5"],
            ["unknown model 'gpt-5.3'", "did you mean", "'gpt-5.2'"],
        ),
        (["-m", "gpt-5.2", "--input", "-5"], ["--input", "cannot be negative"]),
        (["-m", "gpt-5.2", "--output", "lots"], ["--output", "'lots' is not a token count"]),
        (["-m", "gpt-5.2", "--input", "1.5"], ["--input", "not a whole number"]),
        (["-m", "gpt-5.2", "--input", "5", "--cached", "6"], ["--cached (6) exceeds --input (5)"]),
        (
            ["-m", "gpt-5.2", "--output", "5", "--reasoning", "6"],
            ["--reasoning (6) exceeds --output (5)"],
        ),
        (["--input", "5"], ["give either --model MODEL or --compare"]),
        (["-m", "gpt-5.2", "--compare"], ["give either --model MODEL or --compare"]),
        (["-m", "gpt-5.2", "--bogus"], ["No such option", "--bogus"]),
        (["-m"], ["requires an argument"]),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    run: Run, args: list[str], fragments: list[str]
) -> None:
    assert_one_line_error(run("cost", *args), *fragments)


def test_a_broken_catalog_is_one_line_naming_the_file(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[models."gpt-5.2".prices]\ninput = "-1"\n', encoding="utf-8")
    assert_one_line_error(
        run("cost", "-m", "gpt-5.2", "--input", "1", "--catalog", str(bad)),
        str(bad),
        "'gpt-5.2'",
        "'prices.input'",
    )


def test_compare_leaves_embedding_models_out_when_output_is_asked(run: Run) -> None:
    # They write nothing: with output, they are no answer; without, they are compared too.
    with_output = json.loads(
        run("cost", "--compare", "--input", "1k", "--output", "1", "--json").out
    )
    assert not [d for d in with_output if d["model"].startswith("text-embedding")]
    input_only = json.loads(run("cost", "--compare", "--input", "1M", "--json").out)
    assert input_only[0] == {
        **input_only[0],
        "model": "text-embedding-3-small",
        "total_usd": "0.02",
    }


def test_a_case_variant_name_resolves_and_a_typo_is_suggested(run: Run) -> None:
    data = json.loads(run("cost", "-m", "GPT-5.4-Mini", "--input", "1k", "--json").out)
    assert data["model"] == "gpt-5.4-mini"
    assert_one_line_error(
        run("cost", "-m", "gpt-5.4-minii", "--input", "5"), "did you mean", "'gpt-5.4-mini'"
    )


def test_counts_beyond_the_context_window_are_warned_about(run: Run) -> None:
    # gpt-5.2 holds 400K tokens of context; 2M input cannot be sent, but is priced on request.
    one = run("cost", "-m", "gpt-5.2", "--input", "2M", "--json")
    assert one.code == 0
    assert json.loads(one.out)["total_usd"] is not None
    assert "gpt-5.2: 2,000,000 input + 0 output tokens exceed its context window of 400,000" in (
        " ".join(one.err.split())
    )
    assert "no such request can be sent" in " ".join(one.err.split())
    fits = run("cost", "-m", "gpt-5.2", "--input", "10k", "--output", "2k")
    assert "warning" not in fits.err
    compared = run("cost", "--compare", "--input", "2M", "--json")
    assert "beyond the context window or output limit of" in " ".join(compared.err.split())
    assert "gpt-5.2" in compared.err


def test_no_counts_is_a_usage_error_not_a_table_of_zeros(run: Run) -> None:
    assert_one_line_error(run("cost", "--compare"), "no token counts", "--input")
    assert_one_line_error(run("cost", "-m", "gpt-5.2"), "no token counts")
