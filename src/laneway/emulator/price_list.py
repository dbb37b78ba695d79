"""The emulator's own price list (`prices.toml`) and the arithmetic it bills with.

This deliberately shares nothing with `laneway.pricing`: if the emulator priced with laneway's
catalog and cost engine, reconciling laneway's ledger against the emulator's bill could never
catch a pricing bug in laneway. So the provider stand-in keeps its own books:

    charge = uncached input x input + cached input x cached_input + output x output,
             USD per 1M tokens; a batch request pays every part x (1 - batch_discount)

Cache-write tokens are uncached input (writing the cache costs nothing extra) and reasoning
tokens are output. Every figure is a `Decimal` read from a string and every product is exact.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import MAX_PREC, Decimal, localcontext
from importlib.resources import files
from pathlib import Path
from typing import Any

from laneway.errors import LanewayError
from laneway.usage import Usage

SHIPPED_PRICES = Path(str(files("laneway.emulator").joinpath("prices.toml")))
PRICE_FIELDS = ("input", "cached_input", "output", "batch_discount")
_MODEL_KEYS = (*PRICE_FIELDS, "emulated")
# Plain decimals only: Decimal() alone would also take "NaN", "1e3", " 2", "1_0" and "٣".
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_ONE = Decimal(1)
_MILLIONTH = -6  # Decimal.scaleb exponent: an exact division by 1,000,000


class PriceListError(LanewayError):
    """The emulator's price file is malformed; the message lists every problem, each located."""


@dataclass(frozen=True, slots=True)
class Charge:
    """What one model's usage costs, per part, in USD (exact)."""

    uncached_input: Decimal
    cached_input: Decimal
    output: Decimal

    @property
    def parts(self) -> tuple[Decimal, Decimal, Decimal]:
        """Uncached input, cached input, output: the order of an invoice's lines."""
        return self.uncached_input, self.cached_input, self.output

    @property
    def total(self) -> Decimal:
        with localcontext(prec=MAX_PREC):
            return self.uncached_input + self.cached_input + self.output


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """One model's prices, USD per 1M tokens; `emulated` names the figures no source publishes."""

    model: str
    input: Decimal
    cached_input: Decimal
    output: Decimal
    batch_discount: Decimal  # the fraction taken off for Batch API requests
    emulated: frozenset[str] = frozenset()

    def charge(self, usage: Usage, *, batch: bool = False) -> Charge:
        scale = _ONE - self.batch_discount if batch else _ONE
        # The full precision: an amount is never rounded, however many tokens were summed.
        with localcontext(prec=MAX_PREC):
            return Charge(
                uncached_input=_amount(usage.uncached_input_tokens, self.input, scale),
                cached_input=_amount(usage.cached_input_tokens, self.cached_input, scale),
                output=_amount(usage.output_tokens, self.output, scale),
            )


def _amount(tokens: int, per_million: Decimal, scale: Decimal) -> Decimal:
    return (tokens * per_million * scale).scaleb(_MILLIONTH)


class PriceList:
    """Every model the emulator bills for, by model id."""

    def __init__(self, models: Mapping[str, ModelPrices]) -> None:
        self._models = dict(models)

    @classmethod
    def load(cls, path: Path = SHIPPED_PRICES) -> PriceList:
        """Read a price file; `PriceListError` naming every problem if it is malformed."""
        return cls(_parse(path, _read(path)))

    def find(self, model: str) -> ModelPrices | None:
        """The prices of a model id; None when the emulator has no price for it."""
        return self._models.get(model)

    def __iter__(self) -> Iterator[ModelPrices]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)


@functools.cache
def shipped_prices() -> PriceList:
    """The price list the emulator ships with, read once per process."""
    return PriceList.load()


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceListError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise PriceListError(f"{path}: is not UTF-8 text") from exc
    try:
        # parse_float=Decimal: a bare number never exists as a float, even before it is refused.
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise PriceListError(f"{path}: is not valid TOML: {exc}") from exc


def _parse(path: Path, raw: dict[str, Any]) -> dict[str, ModelPrices]:
    problems = [f"unknown key {key!r} (only 'models')" for key in raw if key != "models"]
    tables = raw.get("models")
    if not isinstance(tables, dict) or not tables:
        problems.append("'models' must be a table with at least one model")
        tables = {}
    models: dict[str, ModelPrices] = {}
    for model, table in tables.items():
        found: list[str] = []
        prices = _model(model, table, found)
        problems += [f"model {model!r}, {problem}" for problem in found]
        if prices is not None:
            models[model] = prices
    if problems:
        listed = "; ".join(f"{path}: {problem}" for problem in problems)
        raise PriceListError(f"invalid emulator price list: {listed}")
    return models


def _model(model: str, table: object, problems: list[str]) -> ModelPrices | None:
    """One model's table, or None with its problems appended."""
    if not isinstance(table, dict):
        problems.append("must be a table of prices")
        return None
    problems += [f"unknown key {key!r}" for key in table if key not in _MODEL_KEYS]
    problems += [f"field {key!r} is missing" for key in _MODEL_KEYS if key not in table]
    figures = {key: _figure(key, table[key], problems) for key in PRICE_FIELDS if key in table}
    discount = figures.get("batch_discount")
    if discount is not None and discount >= _ONE:
        problems.append(f"field 'batch_discount': {discount} is not below 1 (a fraction taken off)")
    emulated = _emulated(table.get("emulated", []), problems)
    if problems:
        return None
    known = {key: figure for key, figure in figures.items() if figure is not None}
    return ModelPrices(
        model,
        input=known["input"],
        cached_input=known["cached_input"],
        output=known["output"],
        batch_discount=known["batch_discount"],
        emulated=emulated,
    )


def _figure(key: str, value: object, problems: list[str]) -> Decimal | None:
    where = f"field {key!r}"
    if value == "unknown":
        problems.append(
            f"{where}: a provider always knows its price; give a figure of the emulator's own "
            "and name the field in 'emulated'"
        )
    elif not isinstance(value, str):
        problems.append(f'{where}: write the figure as a decimal string, e.g. "1.75"')
    elif not _DECIMAL.fullmatch(value):
        problems.append(f"{where}: {value!r} is not a plain non-negative decimal number")
    else:
        return Decimal(value)
    return None


def _emulated(value: object, problems: list[str]) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        problems.append("field 'emulated': must be a list of price field names")
        return frozenset()
    for name in value:
        if name not in PRICE_FIELDS:
            problems.append(f"field 'emulated': {name!r} is not one of {', '.join(PRICE_FIELDS)}")
    if len(set(value)) != len(value):
        problems.append("field 'emulated': names a field twice")
    return frozenset(value)
