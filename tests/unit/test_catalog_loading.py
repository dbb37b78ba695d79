"""User catalogs extend or override the shipped one; bad ones name the file, entry and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from laneway.errors import CatalogError
from laneway.pricing.catalog import SHIPPED_CATALOG, Catalog

NEW_MODEL = """
[models."house-llm"]
snapshot = "house-llm-2026-10-01"
aliases = ["house", "house-latest"]
lifecycle = "current"
context_window = 32_768
max_output_tokens = 4_096
knowledge_cutoff = "unknown"
reasoning_efforts = ["none", "low"]
batch_discount = "unknown"

[models."house-llm".prices]
input = 0.20
cached_input = "0.02"
output = "unknown"

[models."house-llm".capabilities]
computer_use = false
tool_search = false
mcp = false
web_search = false
file_search = false
code_interpreter = false
image_generation = false
hosted_shell = false
apply_patch = false
skills = "unknown"

[models."house-llm".rate_limits]
tier-1 = { rpm = 60, tpm = 100_000 }
"""


def write(tmp_path: Path, text: str, name: str = "catalog.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(*paths: Path, shipped: bool = True) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        Catalog.load(*paths, include_shipped=shipped)
    return info.value


def test_extend_with_a_new_model(tmp_path: Path) -> None:
    catalog = Catalog.load(write(tmp_path, NEW_MODEL))
    spec = catalog.get("house")
    assert spec.id == "house-llm"
    assert catalog.get("house-llm-2026-10-01") is spec
    # A TOML float is read as an exact decimal, never through binary floating point.
    assert spec.prices.input == Decimal("0.20")
    assert spec.prices.output is None
    assert len(catalog) == 8


def test_override_changes_only_what_it_names(tmp_path: Path) -> None:
    override = write(tmp_path, '[models."gpt-5.4".prices]\ninput = "2.00"\n')
    spec = Catalog.load(override).get("gpt-5.4")
    assert spec.prices.input == Decimal("2.00")
    assert spec.prices.output == Decimal("15.00")
    assert spec.context_window == 1_050_000


def test_override_can_fill_an_unknown(tmp_path: Path) -> None:
    override = write(tmp_path, '[models."gpt-5.4-nano".prices]\noutput = "0.40"\n')
    assert Catalog.load(override).get("gpt-5.4-nano").prices.output == Decimal("0.40")


def test_error_names_file_entry_and_field(tmp_path: Path) -> None:
    bad = write(tmp_path, NEW_MODEL.replace('cached_input = "0.02"', 'cached_input = "-0.02"'))
    error = load_error(bad)
    [problem] = error.problems
    assert problem.file == bad
    assert problem.entry == "house-llm"
    assert problem.field == "prices.cached_input"
    assert "must not be negative" in problem.message
    assert str(bad) in str(error)
    assert "'house-llm'" in str(error)
    assert "'prices.cached_input'" in str(error)


def test_override_error_blames_the_override_not_the_shipped_file(tmp_path: Path) -> None:
    override = write(tmp_path, '[models."gpt-5.2".prices]\noutput = "fourteen"\n')
    [problem] = load_error(override).problems
    assert problem.file == override
    assert (problem.entry, problem.field) == ("gpt-5.2", "prices.output")
    assert "'fourteen' is not a decimal number" in problem.message


def test_missing_figures_are_errors_not_zero(tmp_path: Path) -> None:
    # Leaving a price out is not the same as writing "unknown": it fails, naming the field.
    bad = write(tmp_path, NEW_MODEL.replace('output = "unknown"\n', ""))
    [problem] = load_error(bad).problems
    assert (problem.file, problem.entry, problem.field) == (bad, "house-llm", "prices.output")
    assert problem.message == "Field required"


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("context_window = 32_768", "context_window = 0", "context_window", "greater than 0"),
        ("context_window = 32_768", 'context_window = "32768"', "context_window", "integer"),
        ('lifecycle = "current"', 'lifecycle = "retired"', "lifecycle", "'current' or 'legacy'"),
        ("computer_use = false", 'computer_use = "yes"', "capabilities.computer_use", "boolean"),
        ('["none", "low"]', '["none", "extreme"]', "reasoning_efforts.1", "'none'"),
        ('["none", "low"]', '["low", "low"]', "reasoning_efforts", "twice"),
        ('["none", "low"]', "[]", "reasoning_efforts", "at least one"),
        ('batch_discount = "unknown"', 'batch_discount = "1.5"', "batch_discount", "fraction"),
        ('batch_discount = "unknown"', 'batch_discount = "NaN"', "batch_discount", "finite"),
        ("input = 0.20", "input = true", "prices.input", "not a boolean"),
        ("tier-1 =", "tier-9 =", "rate_limits.tier-9", "tier-1"),
        ("rpm = 60", "rpm = 0", "rate_limits.tier-1.rpm", "greater than 0"),
        ("{ rpm = 60, tpm = 100_000 }", '"none"', "rate_limits.tier-1", "valid dictionary"),
        ("mcp = false", "mcp = false\nmpc = true", "capabilities.mpc", "Extra inputs"),
        ('lifecycle = "current"', 'lifecycle = "current"\nsuccessor = "gpt-5.4"', None, "legacy"),
    ],
)
def test_each_malformation_is_named(
    tmp_path: Path, old: str, new: str, field: str | None, message: str
) -> None:
    assert old in NEW_MODEL
    bad = write(tmp_path, NEW_MODEL.replace(old, new, 1))
    [problem] = load_error(bad).problems
    assert (problem.file, problem.entry, problem.field) == (bad, "house-llm", field)
    assert message in problem.message


def test_cross_entry_rules(tmp_path: Path) -> None:
    clash = write(tmp_path, NEW_MODEL.replace('["house", "house-latest"]', '["house", "gpt-5.4"]'))
    [problem] = load_error(clash).problems
    assert (problem.entry, problem.field) == ("house-llm", "aliases")
    assert "already belongs to model 'gpt-5.4'" in problem.message

    orphan = write(
        tmp_path,
        NEW_MODEL.replace('lifecycle = "current"', 'lifecycle = "legacy"\nsuccessor = "gpt-9"'),
        "orphan.toml",
    )
    [problem] = load_error(orphan).problems
    assert (problem.file, problem.field) == (orphan, "successor")
    assert "'gpt-9', which is not in the catalog" in problem.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models = [", "is not valid TOML"),
        ("model = {}\n", "unknown top-level key(s): model"),
        ('models = "all"\n', "must be a table of models"),
        ('[models]\n"x" = 3\n', "must be a table"),
        ('[models."x"]\nid = "y"\n', "taken from the table name"),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, message: str) -> None:
    bad = write(tmp_path, text)
    error = load_error(bad)
    assert error.problems[0].file == bad
    assert message in str(error)


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    assert "cannot read" in str(load_error(tmp_path / "missing.toml"))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "is not UTF-8" in str(load_error(binary))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        NEW_MODEL.replace("context_window = 32_768", "context_window = -1").replace(
            "input = 0.20", 'input = "x"'
        ),
    )
    error = load_error(bad)
    assert {p.field for p in error.problems} == {"context_window", "prices.input"}
    assert "(and 1 more:" in str(error)


def test_shipped_catalog_alone_is_valid() -> None:
    assert len(Catalog.load(SHIPPED_CATALOG, include_shipped=False)) == 7


def test_an_embedding_model_writes_no_output_price_nor_output_cap(tmp_path: Path) -> None:
    bad = tmp_path / "embed.toml"
    bad.write_text(
        '[models."house-embed"]\nkind = "embedding"\nsnapshot = "unknown"\naliases = []\n'
        'lifecycle = "current"\ncontext_window = 8192\nbatch_discount = "unknown"\n'
        'max_output_tokens = 10\nprices = { input = "0.01", output = "0.02" }\n'
        "rate_limits = {}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as info:
        Catalog.load(bad)
    assert "max_output_tokens, prices.output" in str(info.value)
    bad.write_text(
        bad.read_text(encoding="utf-8")
        .replace("max_output_tokens = 10\n", "")
        .replace(', output = "0.02"', ""),
        encoding="utf-8",
    )
    spec = Catalog.load(bad).get("house-embed")
    assert (spec.kind, spec.prices.input, spec.prices.output) == (
        "embedding",
        Decimal("0.01"),
        None,
    )
