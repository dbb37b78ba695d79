"""Two books, kept apart: laneway's catalog and the emulator's price list agree wherever both
know a price, the emulator's stand-in figures are exactly the ones no source publishes, and the
emulator never borrows laneway's cost engine."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.emulator.price_list import PRICE_FIELDS, PriceList, shipped_prices
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import ModelSpec

SRC = Path(__file__).parents[2] / "src" / "laneway"
# The figures the seeds publish today: gpt-5.2, gpt-5.4 and gpt-5.4-mini all four, and
# gpt-5.4-nano its input price and batch discount; the three embedding models input price and
# batch discount. A new model or a newly published figure changes these on purpose.
PUBLISHED_FIGURES = 20
# gpt-5.4-nano's cached input and output; the embedding models' two that do not exist.
UNPUBLISHED_FIGURES = 8


def laneway_figure(spec: ModelSpec, field: str) -> Decimal | None:
    """A figure of laneway's catalog under the price list's field name; None when unknown."""
    if field == "batch_discount":
        return spec.batch_discount
    value: Decimal | None = getattr(spec.prices, field)
    return value


def compare(catalog: Catalog, prices: PriceList) -> tuple[int, int, list[str]]:
    """(figures compared, figures laneway does not know, disagreements)."""
    compared = skipped = 0
    disagreements = []
    for spec in catalog:
        emulator = prices.find(spec.id)
        for field in PRICE_FIELDS:
            ours = laneway_figure(spec, field)
            if ours is None:
                skipped += 1
                continue
            compared += 1
            theirs = None if emulator is None else getattr(emulator, field)
            if theirs != ours:
                disagreements.append(f"{spec.id} {field}: laneway {ours}, emulator {theirs}")
    return compared, skipped, disagreements


def test_both_price_lists_agree_wherever_both_know_a_price() -> None:
    compared, skipped, disagreements = compare(Catalog.load(), shipped_prices())
    assert disagreements == []
    assert (compared, skipped) == (PUBLISHED_FIGURES, UNPUBLISHED_FIGURES)


def test_the_comparison_catches_a_disagreement(tmp_path: Path) -> None:
    shipped = (SRC / "emulator" / "prices.toml").read_text(encoding="utf-8")
    wrong = shipped.replace('output = "4.50"', 'output = "4.05"')
    assert wrong != shipped
    path = tmp_path / "prices.toml"
    path.write_text(wrong, encoding="utf-8")
    compared, _, disagreements = compare(Catalog.load(), PriceList.load(path))
    assert compared == PUBLISHED_FIGURES
    assert disagreements == ["gpt-5.4-mini output: laneway 4.50, emulator 4.05"]


def test_the_emulator_prices_every_model_laneway_knows() -> None:
    assert {spec.id for spec in Catalog.load()} == {prices.model for prices in shipped_prices()}


def test_emulated_figures_are_exactly_the_ones_no_source_publishes() -> None:
    # Both ways: an emulated figure is never one laneway knows (it would pass a stand-in off as
    # a published price), and every figure laneway does not know is marked emulated.
    catalog = Catalog.load()
    for prices in shipped_prices():
        spec = catalog.get(prices.model)
        unknown = {f for f in PRICE_FIELDS if laneway_figure(spec, f) is None}
        assert prices.emulated == unknown, prices.model
    # Not vacuous: gpt-5.4-nano's two unpublished figures are the emulated ones.
    nano = shipped_prices().find("gpt-5.4-nano")
    assert nano is not None
    assert nano.emulated == {"cached_input", "output"}


def imports(path: Path) -> set[str]:
    """Every module and `module.name` a source file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((SRC / "emulator").glob("*.py")), ids=lambda p: p.name)
def test_the_emulator_never_uses_laneways_cost_engine(path: Path) -> None:
    borrowed = {
        name
        for name in imports(path)
        if name.startswith("laneway.pricing.cost")
        or name in ("laneway.cost_of", "laneway.CostBreakdown")
    }
    assert borrowed == set()


def test_only_the_emulator_reads_the_emulators_price_list() -> None:
    readers = [
        path.relative_to(SRC)
        for path in SRC.rglob("*.py")
        if "emulator" not in path.relative_to(SRC).parts
        and any(name.startswith("laneway.emulator.price_list") for name in imports(path))
    ]
    assert readers == []
