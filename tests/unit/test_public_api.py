"""The library surface is deliberate: everything exported is listed, everything listed exists."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from types import ModuleType

import laneway


def test_exported_members_are_exactly_all() -> None:
    # Submodules appear as attributes once anything imports them; they are not the API. The
    # gateway's names are imported on first use, so the surface is what dir() lists.
    public = {
        name
        for name in dir(laneway)
        if not name.startswith("_") and not isinstance(getattr(laneway, name), ModuleType)
    }
    assert public == set(laneway.__all__)
    assert sorted(laneway.__all__) == laneway.__all__


def test_the_gateway_is_imported_only_when_asked_for() -> None:
    code = (
        "import sys, laneway; assert 'laneway.assembly' not in sys.modules; "
        "laneway.build_gateway; assert 'laneway.assembly' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


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
