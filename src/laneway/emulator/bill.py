"""The emulator's own bill, served through OpenAI's admin Usage and Costs APIs.

Every request the emulator serves is recorded once as a `BillEntry`; `Bill.completions_usage`
and `Bill.costs` answer `GET /v1/organization/usage/completions` and `GET /v1/organization/costs`
from those entries, so the gateway's ledger can be reconciled against "the provider's numbers".
Costs come from the emulator's own price list (`price_list.py`), not laneway's catalog: two
separately kept books, so a wrong price on laneway's side shows up as a difference.

Recording is on the hot path and only appends. Queries scan: they parse the query string the
way the spec's parameter descriptions say, cut the range into UTC-aligned buckets, page through
them with an opaque cursor and aggregate. Money stays `Decimal` in the payload; `dumps` writes
it as an exact JSON number.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import MAX_PREC, Decimal, localcontext
from operator import attrgetter
from typing import Any

import orjson

from laneway.clock import Clock, SystemClock
from laneway.emulator.price_list import ModelPrices, PriceList, shipped_prices
from laneway.pricing.catalog import Catalog
from laneway.usage import Usage
from laneway.wire.errors import ApiError, invalid_value, missing_parameter

_WIDTHS = {"1m": 60, "1h": 3_600, "1d": 86_400}
# (default, maximum) number of buckets per page, from the spec's `limit` descriptions.
_USAGE_LIMITS = {"1m": (60, 1_440), "1h": (24, 168), "1d": (7, 31)}
_COSTS_LIMITS = {"1d": (7, 180)}
_USAGE_GROUPS = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
_COSTS_GROUPS = ("project_id", "line_item", "api_key_id")
_INTEGER = re.compile(r"-?[0-9]+")  # not int(): that also takes " 7", "1_000" and "٣"
_CURSOR_PREFIX = "page_"
# The emulator serves text only: these counts are always 0.
_NON_TEXT = (
    "input_audio_tokens",
    "input_cached_audio_tokens",
    "output_audio_tokens",
    "input_image_tokens",
    "input_cached_image_tokens",
    "output_image_tokens",
)
_ZERO = Decimal(0)


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class BillEntry:
    """One served request as the provider would bill it."""

    at: float  # unix seconds when the request was served
    model: str  # the catalog model id that served it, e.g. "gpt-5.2"
    api_key_id: str  # an opaque id derived from the key, never the secret itself
    project_id: str
    batch: bool
    usage: Usage
    # Optional so the brief's seven-field constructor keeps working; the API can group by both.
    user_id: str | None = None
    service_tier: str | None = None
    request_id: str | None = None  # the answer's x-request-id, for the journal


@dataclass(slots=True)
class BillRow:
    """Every request served in one second that shares all the attributes the API can group by.

    The bill keeps rows, not requests: the API's finest resolution is a second, so summing per
    second loses nothing, and memory (and the garbage collector's work) stays bounded by
    seconds x groups however many requests are served.
    """

    at: int
    model: str
    api_key_id: str
    project_id: str
    batch: bool
    user_id: str | None
    service_tier: str | None
    requests: int = 0
    input: int = 0
    cached: int = 0
    cache_write: int = 0
    output: int = 0


_RowKey = tuple[int, str, str, str, bool, str | None, str | None]


@dataclass(frozen=True, slots=True)
class _Page:
    """The parsed time range and the buckets of the page asked for."""

    start: int  # the query's range, [start, end)
    end: int
    width: int
    buckets: range  # bucket start times on this page
    next_page: str | None


class _Tally:
    """Running sums for one group in one bucket."""

    __slots__ = ("cache_write", "cached", "input", "output", "requests")

    def __init__(self) -> None:
        self.requests = self.input = self.cached = self.cache_write = self.output = 0

    def add(self, row: BillRow) -> None:
        self.requests += row.requests
        self.input += row.input
        self.cached += row.cached
        self.cache_write += row.cache_write
        self.output += row.output

    def usage(self) -> Usage:
        return Usage(self.input, self.output, self.cached, self.cache_write)


_Groups = dict[tuple[object, ...], _Tally]  # a bucket's tallies by group


class Bill:
    """An append-only record of what the emulator served, queryable like OpenAI's admin API."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        clock: Clock | None = None,
        prices: PriceList | None = None,
        journal: int = 0,
    ) -> None:
        # The catalog only resolves snapshot names in filters; money comes from the emulator's
        # own price list, never from laneway's catalog (see price_list.py for why).
        self._catalog = catalog
        self._prices = prices or shipped_prices()
        self._clock: Clock = clock or SystemClock()
        self._rows: dict[_RowKey, BillRow] = {}
        # The last `journal` entries by request id (0: none kept): what each call was billed,
        # for a reconciliation that must name the difference request by request.
        self._journal_size = journal
        self._journal: OrderedDict[str, BillEntry] = OrderedDict()

    def record(self, entry: BillEntry) -> None:
        """Add one served request to its second's row: O(1), no per-request allocation kept."""
        key = (
            math.floor(entry.at),
            entry.model,
            entry.api_key_id,
            entry.project_id,
            entry.batch,
            entry.user_id,
            entry.service_tier,
        )
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = BillRow(*key)
        usage = entry.usage
        row.requests += 1
        row.input += usage.input_tokens
        row.cached += usage.cached_input_tokens
        row.cache_write += usage.cache_write_tokens
        row.output += usage.output_tokens
        if self._journal_size and entry.request_id is not None:
            self._journal[entry.request_id] = entry
            if len(self._journal) > self._journal_size:
                self._journal.popitem(last=False)

    def journal(self) -> dict[str, BillEntry]:
        """A copy of the journal: request id to what that call was billed, oldest first."""
        return dict(self._journal)

    def billed(self, request_id: str) -> BillEntry | None:
        """What the call answered under `request_id` was billed, when the journal still holds
        it (None: not billed, or not kept)."""
        return self._journal.get(request_id)

    def rows(self) -> Sequence[BillRow]:
        """A snapshot of the rows (copies: later requests do not change it)."""
        return tuple(replace(row) for row in self._rows.values())

    def completions_usage(self, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """`GET /v1/organization/usage/completions`; `params` as from `parse_qs`."""
        page = self._page(params, "usage", _USAGE_LIMITS)
        group = _group_by(params, _USAGE_GROUPS)
        filters = [
            *self._string_filters(params, ("project_ids", "user_ids", "api_key_ids", "models")),
            *_batch_filter(params),
        ]
        tallies = self._tally(page, filters, _key(group))
        data: list[tuple[int, list[dict[str, Any]]]] = []
        for start, groups in tallies:
            results = []
            for key, tally in _sorted(groups):
                uncached = tally.input - tally.cached - tally.cache_write
                results.append(
                    {
                        "object": "organization.usage.completions.result",
                        "input_tokens": tally.input,
                        "input_cached_tokens": tally.cached,
                        "input_cache_write_tokens": tally.cache_write,
                        "input_uncached_tokens": uncached,
                        "output_tokens": tally.output,
                        # The emulator serves text only, so every token is a text token.
                        "input_text_tokens": uncached,
                        "output_text_tokens": tally.output,
                        "input_cached_text_tokens": tally.cached,
                        **dict.fromkeys(_NON_TEXT, 0),
                        "num_model_requests": tally.requests,
                        **dict.fromkeys(_USAGE_GROUPS),
                        **dict(zip(group, key, strict=True)),
                    }
                )
            data.append((start, results))
        return _body(page, data)

    def costs(self, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """`GET /v1/organization/costs`; `params` as from `parse_qs`.

        Amounts are priced at query time, not per request: cost is linear in tokens, so pricing
        the summed tokens of each model (batch or not) once is exact, and keeps Decimal
        arithmetic off the emulator's hot path. A model the price list lacks has a null amount;
        a line priced with an emulated figure (no published price) is labelled so."""
        page = self._page(params, "costs", _COSTS_LIMITS)
        group = _group_by(params, _COSTS_GROUPS)
        by_line = "line_item" in group
        fields = tuple(f for f in group if f != "line_item")
        filters = self._string_filters(params, ("project_ids", "api_key_ids"))
        key = _key((*fields, "model", "batch"))
        data: list[tuple[int, list[dict[str, Any]]]] = []
        # Exact sums: no amount is ever rounded to the default 28 digits.
        with localcontext(prec=MAX_PREC):
            for start, groups in self._tally(page, filters, key):
                results = []
                for named, lines in self._priced(groups, fields, by_line):
                    for line_item, value, quantity in lines:
                        results.append(
                            {
                                "object": "organization.costs.result",
                                # None -> null: the spec types it a number, but a made-up
                                # 0 for an unknown price would be a wrong bill.
                                "amount": {"value": value, "currency": "usd"},
                                "line_item": line_item,
                                "project_id": named.get("project_id"),
                                "api_key_id": named.get("api_key_id"),
                                "quantity": quantity,
                                "quantity_unit": None if quantity is None else "tokens",
                            }
                        )
                data.append((start, results))
        return _body(page, data)

    def _priced(
        self, groups: _Groups, fields: tuple[str, ...], by_line: bool
    ) -> list[tuple[dict[str, object], list[tuple[str | None, Decimal | None, int | None]]]]:
        """Per group (named by `fields`): its lines, or one line with its total."""
        priced: dict[tuple[object, ...], list[tuple[str | None, Decimal | None, int | None]]]
        priced = {}
        for values, tally in _sorted(groups):
            model, batch = str(values[-2]), bool(values[-1])
            lines = priced.setdefault(values[:-2], [])
            if by_line:
                lines.extend(self._lines(model, batch, tally))
                continue
            prices = self._prices.find(model)
            total = None if prices is None else prices.charge(tally.usage(), batch=batch).total
            if not lines:
                lines.append((None, total, None))
            else:
                _, sum_so_far, _ = lines[0]
                both = None if sum_so_far is None or total is None else sum_so_far + total
                lines[0] = (None, both, None)
        return [(dict(zip(fields, group, strict=True)), lines) for group, lines in priced.items()]

    def _lines(
        self, model: str, batch: bool, tally: _Tally
    ) -> list[tuple[str | None, Decimal | None, int | None]]:
        """The costs lines of one model, batch or not: (name, amount or None, tokens)."""
        prices = self._prices.find(model)
        charge = None if prices is None else prices.charge(tally.usage(), batch=batch)
        kind = "batch " if batch else ""
        amounts = (None, None, None) if charge is None else charge.parts
        parts = zip(
            ("input", "cached input", "output"),
            (tally.input - tally.cached, tally.cached, tally.output),
            amounts,
            strict=True,
        )
        # A kind with no tokens has no line, as on a real invoice.
        return [
            (f"{model}, {kind}{name}{_emulated_mark(prices, name, batch)}", value, n)
            for name, n, value in parts
            if n
        ]

    def _page(
        self, params: Mapping[str, Sequence[str]], endpoint: str, limits: dict[str, tuple[int, int]]
    ) -> _Page:
        start = _integer(params, "start_time")
        if start is None:
            raise missing_parameter("start_time")
        _in_range("start_time", start, 0)
        end = _integer(params, "end_time")
        if end is None:  # open-ended: up to and including the current second
            end = max(start, math.floor(self._clock.time()) + 1)
        elif end <= start:
            raise invalid_value(
                "end_time",
                f"Invalid 'end_time': must be greater than 'start_time' ({start}), "
                f"but got {end} instead.",
            )
        width_name = _scalar(params, "bucket_width")
        width_name = "1d" if width_name is None else width_name
        if width_name not in limits:
            raise _unsupported("bucket_width", width_name, tuple(limits))
        width = _WIDTHS[width_name]
        default, maximum = limits[width_name]
        limit = _integer(params, "limit")
        limit = default if limit is None else limit
        _in_range("limit", limit, 1, maximum)
        first = start - start % width
        stop = end + (-end) % width if end > start else first  # the end of end - 1's bucket
        page_from = first
        cursor = _scalar(params, "page")
        if cursor is not None:
            page_from = _decode_cursor(cursor, f"{endpoint}:{width}")
            if not (first <= page_from < stop and (page_from - first) % width == 0):
                raise _bad_cursor(cursor)
        page_to = min(page_from + limit * width, stop)
        next_page = None
        if page_to < stop:
            token = f"{endpoint}:{width}:{page_to}".encode()
            next_page = _CURSOR_PREFIX + base64.urlsafe_b64encode(token).decode().rstrip("=")
        return _Page(start, end, width, range(page_from, page_to, width), next_page)

    def _string_filters(
        self, params: Mapping[str, Sequence[str]], names: Iterable[str]
    ) -> list[tuple[str, frozenset[object]]]:
        """(entry attribute, allowed values) for each filter given; `models` also matches a
        snapshot or alias of the catalog model an entry names."""
        filters: list[tuple[str, frozenset[object]]] = []
        for name in names:
            wanted = _array(params, name)
            if not wanted:
                continue
            if name == "models":
                resolved = (self._catalog.find(m) for m in wanted)
                wanted += [spec.id for spec in resolved if spec is not None]
            filters.append((name.removesuffix("s"), frozenset(wanted)))
        return filters

    def _tally(
        self,
        page: _Page,
        filters: Sequence[tuple[str, frozenset[object]]],
        key: Callable[[BillRow], tuple[object, ...]],
    ) -> list[tuple[int, _Groups]]:
        """Each bucket of the page, in time order, with its groups' tallies."""
        if not page.buckets:
            return []
        width = page.width
        lo = max(page.start, page.buckets[0])
        hi = min(page.end, page.buckets[-1] + width)
        buckets: dict[int, _Groups] = {b: {} for b in page.buckets}
        for row in self._rows.values():
            if not lo <= row.at < hi:
                continue
            if not filters or all(getattr(row, a) in allowed for a, allowed in filters):
                groups = buckets[row.at - row.at % width]
                group = key(row)
                tally = groups.get(group)
                if tally is None:
                    tally = groups[group] = _Tally()
                tally.add(row)
        return list(buckets.items())


def _emulated_mark(prices: ModelPrices | None, part: str, batch: bool) -> str:
    """A line priced with a figure no source publishes says so: it is the emulator's own."""
    if prices is None:
        return ""
    used = {part.replace(" ", "_"), "batch_discount"} if batch else {part.replace(" ", "_")}
    return " (emulated price)" if used & prices.emulated else ""


def dumps(payload: dict[str, Any]) -> bytes:
    """JSON bytes with every `Decimal` written as its exact value, never through a float."""
    return orjson.dumps(payload, default=_exact_number)


def _exact_number(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        text = format(value, "f")  # plain notation; format() never rounds
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return orjson.Fragment(b"0" if text == "-0" else text.encode())
    raise TypeError(f"cannot serialise {type(value).__name__} {value!r} as JSON")


def _key(fields: Sequence[str]) -> Callable[[BillRow], tuple[object, ...]]:
    """An entry's group: its values of `fields`, always as a tuple."""
    if not fields:
        return lambda _: ()
    get = attrgetter(*fields)
    return get if len(fields) > 1 else lambda entry: (get(entry),)


def _sorted(groups: _Groups) -> list[tuple[tuple[object, ...], _Tally]]:
    # A stable order across calls and pages; None (ungrouped or unknown) first.
    return sorted(groups.items(), key=lambda kv: [(v is not None, str(v)) for v in kv[0]])


def _body(page: _Page, buckets: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    data = [
        {"object": "bucket", "start_time": start, "end_time": start + page.width, "results": r}
        for start, r in buckets
    ]
    return {
        "object": "page",
        "data": data,
        "has_more": page.next_page is not None,
        "next_page": page.next_page,
    }


def _scalar(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None  # a repeated scalar: the last one wins


def _array(params: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """Both spellings: `name=a&name=b` and `name[]=a&name[]=b`."""
    return [*params.get(name, ()), *params.get(f"{name}[]", ())]


def _integer(params: Mapping[str, Sequence[str]], name: str) -> int | None:
    raw = _scalar(params, name)
    if raw is None:
        return None
    if not _INTEGER.fullmatch(raw):
        raise _wrong_type(name, "an integer", raw)
    return int(raw)


def _in_range(name: str, value: int, minimum: int, maximum: int | None = None) -> None:
    if value < minimum:
        code, why = "integer_below_min_value", f"below minimum value. Expected a value >= {minimum}"
    elif maximum is not None and value > maximum:
        code, why = "integer_above_max_value", f"above maximum value. Expected a value <= {maximum}"
    else:
        return
    raise _bad(name, code, f"Invalid '{name}': integer {why}, but got {value} instead.")


def _wrong_type(name: str, expected: str, raw: str) -> ApiError:
    # Not errors.invalid_type: a query value is always a string, so name the text instead.
    message = f"Invalid type for '{name}': expected {expected}, but got '{raw}' instead."
    return _bad(name, "invalid_type", message)


def _bad(param: str, code: str, message: str) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def _unsupported(name: str, value: str, allowed: Sequence[str]) -> ApiError:
    quoted = [f"'{a}'" for a in allowed]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])}, and {quoted[-1]}"
    return invalid_value(name, f"Invalid value: '{value}'. Supported values are: {listed}.")


def _group_by(params: Mapping[str, Sequence[str]], allowed: Sequence[str]) -> tuple[str, ...]:
    """The fields asked for, in the spec's order, each once."""
    asked = _array(params, "group_by")
    for field in asked:
        if field not in allowed:
            raise _unsupported("group_by", field, allowed)
    return tuple(f for f in allowed if f in asked)


def _batch_filter(params: Mapping[str, Sequence[str]]) -> list[tuple[str, frozenset[object]]]:
    raw = _scalar(params, "batch")
    if raw is None:
        return []
    if raw.lower() not in ("true", "false"):
        raise _wrong_type("batch", "a boolean", raw)
    return [("batch", frozenset({raw.lower() == "true"}))]


def _decode_cursor(cursor: str, scope: str) -> int:
    """The bucket start a cursor points at; it must come from the same endpoint and width."""
    if cursor.startswith(_CURSOR_PREFIX):
        body = cursor.removeprefix(_CURSOR_PREFIX)
        try:
            text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise _bad_cursor(cursor) from None
        found, _, at = text.rpartition(":")
        if found == scope and _INTEGER.fullmatch(at):
            return int(at)
    raise _bad_cursor(cursor)


def _bad_cursor(cursor: str) -> ApiError:
    return invalid_value(
        "page", f"Invalid 'page': '{cursor}' is not a cursor this endpoint returned for the query."
    )
