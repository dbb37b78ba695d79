"""The prices a run used: its catalog.toml's entries for the models its cells ran (and, for an
as-written baseline, the model its lines name), per 1M tokens. A model the catalog lacks is
listed as unknown, never priced at 0."""

from __future__ import annotations

from collections.abc import Iterable

from laneway.errors import CatalogError
from laneway.pricing.catalog import Catalog
from laneway.replay.report.model import ModelPrices
from laneway.replay.run_dir import CATALOG, RunDir, RunDirError


def run_prices(run: RunDir, models: Iterable[str]) -> tuple[tuple[ModelPrices, ...], str | None]:
    """The prices, and a note when the run kept no catalog (the shipped one's are shown)."""
    path = run.file(CATALOG)
    note = None
    try:
        if path.exists():
            catalog = Catalog.load(path, include_shipped=False)
        else:
            catalog = Catalog.load()
            note = f"no {CATALOG} in the run: the prices shown are the shipped catalog's"
    except CatalogError as exc:
        raise RunDirError(f"{path}: damaged ({exc})") from None
    found = []
    for model in dict.fromkeys(models):
        spec = catalog.find(model)
        if spec is None:
            found.append(ModelPrices(model, None, None, None, False))
            continue
        prices = spec.prices
        found.append(ModelPrices(spec.id, prices.input, prices.cached_input, prices.output, True))
    return tuple(found), note
