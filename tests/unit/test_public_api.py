"""The library surface is deliberate: everything exported is listed, everything listed exists."""

from __future__ import annotations

from decimal import Decimal

import laneway


def test_exported_members_are_exactly_all() -> None:
    public = {name for name in vars(laneway) if not name.startswith("_")}
    # Submodules imported for their members show up as attributes; they are not the API.
    modules = {"errors", "pricing", "tokens", "usage", "wire"}
    assert public - modules == set(laneway.__all__)
    assert sorted(laneway.__all__) == laneway.__all__


def test_docstring_example_holds() -> None:
    cost = laneway.cost_of(
        laneway.Catalog.load().get("gpt-5.2"),
        laneway.Usage(input_tokens=10_000, output_tokens=2_000),
    )
    assert cost.total == Decimal("0.0455")
    assert str(cost.total.normalize()) == "0.0455"


def test_errors_share_one_base() -> None:
    for error in (laneway.CatalogError, laneway.UnknownModelError, laneway.UsageError):
        assert issubclass(error, laneway.LanewayError)
