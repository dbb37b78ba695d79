"""The `--catalog` option every catalog-reading command shares."""

from __future__ import annotations

from pathlib import Path

import click

from laneway.pricing.catalog import Catalog

catalog_option = click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="LANEWAY_CATALOG",
    default=None,
    help="A catalog file that extends or overrides the shipped one (merged key by key). "
    "Also LANEWAY_CATALOG.",
)


def load_catalog(path: Path | None) -> Catalog:
    return Catalog.load(path) if path is not None else Catalog.load()
