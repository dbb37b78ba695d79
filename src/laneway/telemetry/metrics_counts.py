"""What the metrics count per request, and the observer that counts it.

The request path pays for plain Python: each settled or refused record finds its `Route` (one
dict lookup by the record's own endpoint, lane, model names and key id; labels are worked out
once per such combination) and bumps numbers in it; a histogram observation is a bisect into
fixed bounds. No prometheus-client object is touched per request:
`metrics_collector` turns the routes into metric families when /metrics is scraped.

Money is exact: a route's costs are summed as the records' Decimals (exact while the sum holds
28 significant digits: every cost of catalog prices has at most 12 decimals, so up to 10**16
USD), made whole pico-USD (1e-12 USD) at the scrape, and shown as USD only in the exposition.
A Decimal addition per request costs about a quarter of converting each cost to an integer.

Labels are bounded: a model is a known name (the catalog's, one a provider lists, a lane), else
"other"; a lane is a configured one; a key is its id (never its secret) for the first `top_keys`
keys seen, "other" for the rest (`KeyLabels`). No request id and no string a client wrote ever
becomes a label.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from decimal import Decimal

from laneway.gateway.observers import Bodies, Exchange, Observer, RecordOnly
from laneway.ledger.record import Attempt, LedgerRecord

OTHER = "other"

# OpenTelemetry GenAI's advised bucket boundaries (semantic conventions, gen-ai-metrics.md):
# gen_ai.client.operation.duration, gen_ai.server.time_to_first_token, gen_ai.client.token.usage.
DURATION_BUCKETS_S = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TTFT_BUCKETS_S = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
TOKEN_BUCKETS = tuple(4**i for i in range(14))  # 1, 4, 16, ... 67,108,864
# Records carry milliseconds: bisected against these, summed in ms, shown in seconds.
DURATION_MS = tuple(bound * 1000 for bound in DURATION_BUCKETS_S)
TTFT_MS = tuple(bound * 1000 for bound in TTFT_BUCKETS_S)
_DURATION_SUM = len(DURATION_MS) + 1  # where a histogram row keeps its sum (after +Inf)
_TTFT_SUM = len(TTFT_MS) + 1

# gen_ai.operation.name per laneway endpoint: both text endpoints are chat-style generation.
OPERATIONS = {"chat": "chat", "responses": "chat", "embeddings": "embeddings"}
# What an attempt that got no HTTP status ended with (the prefix of its error, a closed set).
_NO_STATUS = ("not sent", "no answer", "body broken", "circuit open", "failed")
_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
OK = ("ok", "2xx", "")  # the outcome of an answer: status, status class, refusal
PICO_PER_USD = 10**12
_SEEN_MAX = 4096
_USAGE_SLOTS = 34
# A token histogram's slot is the least i with tokens <= 4**i (past the last bound: +Inf,
# folded at the scrape); counts below _SLOTTED find it in a table.
_SLOTTED = 4**7
_SLOTS = (0, *(((tokens - 1).bit_length() + 1) >> 1 for tokens in range(1, _SLOTTED)))

Labels = tuple[str, ...]


class Route:
    """What one (endpoint, lane, requested model, model, key) has counted. Histograms are
    bucket counts (not cumulative; the last is +Inf), then the sum where it is not kept apart;
    a token histogram's sum is the route's token count."""

    __slots__ = (
        "cache_read",
        "cache_write",
        "calls",
        "cost",
        "duration",
        "input",
        "input_usage",
        "ok",
        "outcomes",
        "output",
        "output_usage",
        "reasoning",
        "ttft",
        "unknown",
    )

    def __init__(self) -> None:
        self.ok = 0  # answered 200: the outcome OK
        self.outcomes: dict[Labels, int] = {}  # any other (status, status class, refusal)
        self.input = self.cache_read = self.cache_write = self.output = self.reasoning = 0
        self.cost = Decimal(0)  # exact: see `pico`
        self.unknown = 0  # answered, cost unknown
        self.duration = _histogram(DURATION_MS)
        self.ttft = _histogram(TTFT_MS)
        # Long enough for any count below 2**64: the extra slots are +Inf.
        self.input_usage = [0] * _USAGE_SLOTS
        self.output_usage = [0] * _USAGE_SLOTS
        # Answered at the first attempt: provider -> that attempt's duration buckets and sum.
        self.calls: dict[str, list[float]] = {}

    @property
    def pico(self) -> int:
        """The cost counted, in whole pico-USD."""
        return _pico(self.cost)


class KeyLabels:
    """A key's label: its id for the first `top` keys seen (in this process, until it restarts),
    "other" for every later one. A slot is never taken back: a counter's series must never lose
    what it counted."""

    __slots__ = ("slots", "top")

    def __init__(self, top: int) -> None:
        self.top = top
        self.slots: dict[str, str] = {}

    def of(self, key_id: str | None) -> str:
        if key_id is None:
            return ""
        label = self.slots.get(key_id)
        if label is not None:
            return label
        if len(self.slots) < self.top:
            self.slots[key_id] = key_id
            return key_id
        return OTHER


class Counts:
    """Every count the observer keeps (see docs/observability.md)."""

    def __init__(self, top_keys: int) -> None:
        self.keys = KeyLabels(top_keys)
        self.routes: dict[Labels, Route] = {}  # endpoint, lane, requested model, model, key
        self.shadow_requests: dict[Labels, int] = {}  # lane, model, status
        self.shadow_pico: dict[Labels, int] = {}  # lane, model
        self.retries: dict[Labels, int] = {}  # provider, model
        self.fallbacks: dict[Labels, int] = {}  # lane, from model, to model
        # endpoint, provider, model, error type -> duration buckets and sum (ms)
        self.attempts: dict[Labels, list[float]] = {}


class MetricsObserver(Observer):
    """Counts each record as it settles, or as it is refused."""

    def __init__(self, counts: Counts, known_models: Iterable[str]) -> None:
        self.counts = counts
        self._known = frozenset(known_models)
        # The record's own (endpoint, lane, requested, answering model, key id) -> its Route:
        # labels are worked out once per combination. Raw names may be a client's, so this
        # cache is bounded and cleared when full (the routes themselves stay).
        self._seen: dict[tuple[str | None, ...], Route] = {}

    def refused(self, record: LedgerRecord) -> None:
        self.settled(RecordOnly(record), None)

    count = refused  # a record, settled or refused

    # Runs for every request: plain attribute and list work, in one frame.
    def settled(self, exchange: Exchange | RecordOnly, bodies: Bodies | None) -> None:
        record = exchange.record
        if record.shadow:
            self._shadow(record)
            return
        seen = (
            record.endpoint,
            record.lane,
            record.requested_model,
            record.answering_model,
            record.key_id,
        )
        route = self._seen.get(seen) or self._route(seen)
        status = record.status
        if status == "ok" and record.http_status == 200:
            route.ok += 1
        else:
            outcome = _outcome(record)
            route.outcomes[outcome] = route.outcomes.get(outcome, 0) + 1
            if status == "refused":
                return
        latency = record.latency_ms
        if latency is not None:
            duration = route.duration
            duration[bisect_left(DURATION_MS, latency)] += 1
            duration[_DURATION_SUM] += latency  # a positive index: Python's fast path
        if record.stream and record.ttfb_ms is not None:
            ttft = route.ttft
            ttft[bisect_left(TTFT_MS, record.ttfb_ms)] += 1
            ttft[_TTFT_SUM] += record.ttfb_ms
        usage = record.usage
        if usage is not None:
            tokens = usage.input_tokens
            route.input += tokens
            slot = _SLOTS[tokens] if tokens < _SLOTTED else ((tokens - 1).bit_length() + 1) >> 1
            route.input_usage[slot] += 1
            tokens = usage.output_tokens
            route.output += tokens
            slot = _SLOTS[tokens] if tokens < _SLOTTED else ((tokens - 1).bit_length() + 1) >> 1
            route.output_usage[slot] += 1
            route.cache_read += usage.cached_input_tokens
            route.cache_write += usage.cache_write_tokens
            route.reasoning += usage.reasoning_tokens
        cost = record.cost_usd
        if cost is not None:
            route.cost += cost
        elif status != "error":  # an answer came and its cost is unknown (never 0)
            route.unknown += 1
        attempts = record.attempts
        if (
            len(attempts) == 1
            and (first := attempts[0]).status is not None
            and first.status < 400
            and record.answering_model is not None
        ):  # answered at the first attempt, by the route's model: the common case
            calls = route.calls.get(first.provider) or _calls(route, first.provider)
            calls[bisect_left(DURATION_MS, first.latency_ms)] += 1
            calls[_DURATION_SUM] += first.latency_ms
        elif attempts:
            self._attempts(record.endpoint, record.lane or "", attempts)

    def _route(self, seen: tuple[str | None, ...]) -> Route:
        endpoint, lane, requested, answering, key_id = seen
        known = self._known
        asked = requested if requested in known else OTHER
        # A provider that serves any name answers under the name the client wrote: bounded too.
        model = asked if answering is None else answering if answering in known else OTHER
        counts = self.counts
        name = (str(endpoint), lane or "", asked, model, counts.keys.of(key_id))
        route = counts.routes.get(name)
        if route is None:
            route = counts.routes[name] = Route()
        if len(self._seen) >= _SEEN_MAX:
            self._seen.clear()
        self._seen[seen] = route
        return route

    def _attempts(self, endpoint: str, lane: str, attempts: tuple[Attempt, ...]) -> None:
        counts = self.counts
        known = self._known
        previous: tuple[str, str] | None = None  # the attempt before: provider, model
        before = ""  # its model's label
        for attempt in attempts:
            provider, model = attempt.provider, attempt.model
            if model not in known:
                model = OTHER
            if attempt.latency_ms > 0:  # it was sent
                status = attempt.status
                error = "" if status is not None and status < 400 else _error_type(attempt)
                labels = (endpoint, provider, model, error)
                row = counts.attempts.get(labels)
                if row is None:
                    row = counts.attempts[labels] = _histogram(DURATION_MS)
                row[bisect_left(DURATION_MS, attempt.latency_ms)] += 1
                row[-1] += attempt.latency_ms
            if previous is not None:
                if previous == (provider, attempt.model):
                    retries = counts.retries
                    retries[provider, model] = retries.get((provider, model), 0) + 1
                else:
                    moved = (lane, before, model)
                    counts.fallbacks[moved] = counts.fallbacks.get(moved, 0) + 1
            previous, before = (provider, attempt.model), model

    def _shadow(self, record: LedgerRecord) -> None:
        counts = self.counts
        known = self._known
        lane = record.lane or ""
        model = record.answering_model or record.requested_model
        shadow = (lane, model if model in known else OTHER, record.status)
        counts.shadow_requests[shadow] = counts.shadow_requests.get(shadow, 0) + 1
        cost = record.cost_usd
        if cost is not None:
            spent = counts.shadow_pico
            spent[shadow[:2]] = spent.get(shadow[:2], 0) + _pico(cost)


def _histogram(bounds: tuple[float, ...]) -> list[float]:
    """Bucket counts as ints, the sum a float: each `+=` then stays within one type (Python
    adds int to int and float to float on a fast path, mixed types on a slow one)."""
    return [*([0] * (len(bounds) + 1)), 0.0]


def _calls(route: Route, provider: str) -> list[float]:
    """The route's first-attempt durations at `provider`, made on first use."""
    calls = route.calls[provider] = _histogram(DURATION_MS)
    return calls


def _outcome(record: LedgerRecord) -> Labels:
    http = record.http_status
    kind = "" if http is None else _CLASSES.get(http // 100, "")
    return (record.status, kind, record.refusal or "")


def _error_type(attempt: Attempt) -> str:
    """OpenTelemetry's error.type: the status code, or how an attempt without one failed."""
    status = attempt.status
    if status is not None:
        return str(status)
    kind = (attempt.error or "").partition(":")[0]
    return kind if kind in _NO_STATUS else "_OTHER"


def _pico(cost: Decimal) -> int:
    """USD as whole pico-USD: exact for any cost of catalog prices (six decimals per 1M)."""
    return int(cost.scaleb(12))
