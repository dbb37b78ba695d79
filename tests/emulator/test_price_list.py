"""The emulator's own price list: exact charges, the batch discount, the cached part, and a
strict loader that refuses a malformed file with every problem named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from laneway.emulator.price_list import (
    Charge,
    ModelPrices,
    PriceList,
    PriceListError,
    shipped_prices,
)
from laneway.usage import Usage

GOOD = """
[models."house-llm"]
input = "1.75"
cached_input = "0.175"
output = "14.00"
batch_discount = "0.50"
emulated = []
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    return path


def prices(tmp_path: Path, text: str = GOOD) -> ModelPrices:
    found = PriceList.load(write(tmp_path, text)).find("house-llm")
    assert found is not None
    return found


# --- charges ----------------------------------------------------------------------------------


def test_a_plain_request_is_input_and_output_exactly(tmp_path: Path) -> None:
    charge = prices(tmp_path).charge(Usage(10_000, 2_000))
    assert charge == Charge(Decimal("0.0175"), Decimal(0), Decimal("0.028"))
    assert charge.total == Decimal("0.0455")
    assert all(type(part) is Decimal for part in (*_parts(charge), charge.total))


def test_cached_input_is_billed_at_the_cached_price_and_leaves_the_input_part(
    tmp_path: Path,
) -> None:
    # 300k input of which all cached, 10k output: the seeds' worked example, $0.1925.
    charge = prices(tmp_path).charge(Usage(300_000, 10_000, cached_input_tokens=300_000))
    assert charge.uncached_input == 0
    assert charge.cached_input == Decimal("0.0525")
    assert charge.total == Decimal("0.1925")
    partly = prices(tmp_path).charge(Usage(1_000, 0, cached_input_tokens=400))
    assert partly == Charge(Decimal("0.00105"), Decimal("0.00007"), Decimal(0))


def test_cache_writes_are_input_and_reasoning_is_output(tmp_path: Path) -> None:
    usage = Usage(1_000, 500, cached_input_tokens=0, cache_write_tokens=600, reasoning_tokens=400)
    charge = prices(tmp_path).charge(usage)
    assert charge.uncached_input == Decimal("0.00175")  # all 1,000 at the input price
    assert charge.output == Decimal("0.007")  # all 500, reasoning included


def test_the_batch_discount_comes_off_every_part(tmp_path: Path) -> None:
    usage = Usage(10_000, 2_000, cached_input_tokens=4_000)
    model = prices(tmp_path)
    full, batch = model.charge(usage), model.charge(usage, batch=True)
    assert batch == Charge(Decimal("0.00525"), Decimal("0.00035"), Decimal("0.014"))
    assert batch.total * 2 == full.total == Decimal("0.0392")
    cheaper = prices(tmp_path, GOOD.replace('batch_discount = "0.50"', 'batch_discount = "0.3"'))
    assert cheaper.charge(Usage(1_000_000, 0), batch=True).total == Decimal("1.225")


def test_no_tokens_cost_nothing(tmp_path: Path) -> None:
    assert prices(tmp_path).charge(Usage(0, 0), batch=True).total == 0


def test_huge_sums_are_never_rounded(tmp_path: Path) -> None:
    odd = GOOD.replace('"1.75"', '"1.234567890123456789"')
    charge = prices(tmp_path, odd).charge(Usage(987_654_321_987_654_321, 0))
    assert charge.total == Decimal("1219326312467.611632360920590112635269")


def _parts(charge: Charge) -> tuple[Decimal, Decimal, Decimal]:
    return charge.uncached_input, charge.cached_input, charge.output


# --- the shipped list -------------------------------------------------------------------------


def test_the_shipped_list_loads_and_names_its_emulated_figures() -> None:
    shipped = shipped_prices()
    embeddings = {"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"}
    assert {m.model for m in shipped} == {
        "gpt-5.2",
        "gpt-5.4",
        "gpt-5.4-mini",
        "gpt-5.4-nano",
        *embeddings,
    }
    assert {m.model: m.emulated for m in shipped if m.emulated} == {
        name: frozenset({"cached_input", "output"}) for name in ("gpt-5.4-nano", *embeddings)
    }
    nano = shipped.find("gpt-5.4-nano")
    assert nano is not None
    assert nano.input == Decimal("0.10")  # published; the other two are the emulator's own
    assert shipped.find("gpt-4o") is None


def test_the_shipped_file_marks_each_emulated_figure_in_a_comment() -> None:
    text = Path(__file__).parents[2].joinpath("src/laneway/emulator/prices.toml").read_text()
    nano = text.split('[models."gpt-5.4-nano"]', 1)[1]
    for field in ("cached_input", "output"):
        comment = nano.split(f"\n{field} = ", 1)[0].rsplit("\n", 1)[-1]
        assert comment.startswith("# EMULATED, not published"), field


# --- malformed files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('output = "14.00"', 'output = "unknown"'), "a provider always knows its price"),
        (('output = "14.00"', "output = 14.00"), "write the figure as a decimal string"),
        (('output = "14.00"', "output = 14"), "write the figure as a decimal string"),
        (('output = "14.00"', 'output = "fourteen"'), "'fourteen' is not a plain non-negative"),
        (('output = "14.00"', 'output = "-1"'), "'-1' is not a plain non-negative"),
        (('output = "14.00"', 'output = "1e1"'), "'1e1' is not a plain non-negative"),
        (('output = "14.00"', 'output = "NaN"'), "'NaN' is not a plain non-negative"),
        (('output = "14.00"', 'output = " 14"'), "' 14' is not a plain non-negative"),
        (('output = "14.00"\n', ""), "field 'output' is missing"),
        (("emulated = []", 'emulated = []\nouput = "1"'), "unknown key 'ouput'"),
        (("emulated = []", 'emulated = ["outptu"]'), "'outptu' is not one of input"),
        (("emulated = []", 'emulated = ["output", "output"]'), "names a field twice"),
        (("emulated = []", 'emulated = "output"'), "must be a list of price field names"),
        (('batch_discount = "0.50"', 'batch_discount = "1"'), "1 is not below 1"),
    ],
)
def test_a_malformed_file_is_refused_naming_file_model_and_field(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(PriceListError) as refused:
        PriceList.load(path)
    message = str(refused.value)
    assert message.startswith(f"invalid emulator price list: {path}: model 'house-llm', ")
    assert expected in message


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = GOOD.replace('input = "1.75"', 'input = "x"').replace('output = "14.00"', "")
    with pytest.raises(PriceListError) as refused:
        PriceList.load(write(tmp_path, text + "\n[extra]\n"))
    message = str(refused.value)
    for problem in ("unknown key 'extra'", "'x' is not a plain", "field 'output' is missing"):
        assert problem in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[models", "is not valid TOML"),
        ("", "'models' must be a table with at least one model"),
        ("models = 3", "'models' must be a table with at least one model"),
        ('[models]\n"house-llm" = "1.75"', "model 'house-llm', must be a table of prices"),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PriceListError) as refused:
        PriceList.load(path)
    assert f"{path}: {expected}" in str(refused.value)


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PriceListError, match="cannot read"):
        PriceList.load(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(PriceListError, match="is not UTF-8 text"):
        PriceList.load(binary)
