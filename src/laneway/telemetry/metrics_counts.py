"""What the metrics count per request, and the observer that counts it.

The request path pays for plain Python: each settled or refused record bumps ints in dicts keyed
by label tuples, and a histogram observation is one bisect into fixed bounds. No
prometheus-client object is touched per request; `metrics_collector` turns these dicts into
metric families when /metrics is scraped. Money is summed in integer pico-USD (1e-12 USD, exact
for every catalog price) and shown as USD only at exposition.

Labels are bounded: a model is a known name (the catalog's, one a provider lists, a lane), else
"other"; a lane is a configured one; a key is its id (never its
secret) for the first `top_keys` keys seen, "other" for the rest (`KeyLabels`). No request id and
no string a client wrote ever becomes a label.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from decimal import Decimal

from laneway.gateway.observers import Bodies, Exchange, Observer
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

# gen_ai.operation.name per laneway endpoint: both text endpoints are chat-style generation.
OPERATIONS = {"chat": "chat", "responses": "chat", "embeddings": "embeddings"}
# gen_ai.provider.name: every upstream laneway calls speaks OpenAI's API.
PROVIDER_FLAVOUR = "openai"
# What an attempt that got no HTTP status ended with (the prefix of its error, a closed set).
_NO_STATUS = ("not sent", "no answer", "body broken", "circuit open", "failed")
_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
PICO_PER_USD = 10**12

Labels = tuple[str, ...]
# Token kinds, in the order a `tokens` row keeps them.
TOKEN_KINDS = ("input", "cache_read", "cache_write", "output", "reasoning")


class Histogram:
    """Bucket counts (not cumulative; the last is +Inf) and the sum, per label tuple. Values are
    observed in the record's unit (`scale` of the exposed one: ms for seconds)."""

    __slots__ = ("bounds", "scale", "series")

    def __init__(self, bounds: Iterable[float], scale: float = 1.0) -> None:
        self.scale = scale
        self.bounds = tuple(bound * scale for bound in bounds)
        self.series: dict[Labels, list[float]] = {}

    def observe(self, labels: Labels, value: float) -> None:
        row = self.series.get(labels)
        if row is None:
            row = self.series[labels] = [0.0] * (len(self.bounds) + 2)
        row[bisect_left(self.bounds, value)] += 1
        row[-1] += value


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
    """Every counter and histogram the observer keeps (see docs/observability.md)."""

    def __init__(self, top_keys: int) -> None:
        self.keys = KeyLabels(top_keys)
        # endpoint, lane, model, key, status, status_class, refusal
        self.requests: dict[Labels, int] = {}
        self.shadow_requests: dict[Labels, int] = {}  # lane, model, status
        self.tokens: dict[Labels, list[int]] = {}  # key, lane, model -> TOKEN_KINDS
        self.cost_pico: dict[Labels, int] = {}  # key, lane, model
        self.shadow_cost_pico: dict[Labels, int] = {}  # lane, model
        self.cost_unknown: dict[Labels, int] = {}  # key, lane, model
        self.retries: dict[Labels, int] = {}  # provider, model
        self.fallbacks: dict[Labels, int] = {}  # lane, from_model, to_model
        self.duration = Histogram(DURATION_BUCKETS_S, 1000.0)  # endpoint, lane, model
        self.ttft = Histogram(TTFT_BUCKETS_S, 1000.0)  # endpoint, lane, model
        # gen_ai: operation, provider flavour, request model, response model, token type
        self.token_usage = Histogram(TOKEN_BUCKETS)
        # gen_ai: operation, provider flavour, request model, error type; laneway: provider
        self.attempt_duration = Histogram(DURATION_BUCKETS_S, 1000.0)


class MetricsObserver(Observer):
    """Counts each record as it settles, or as it is refused."""

    def __init__(self, counts: Counts, known_models: Iterable[str]) -> None:
        self.counts = counts
        self._known = frozenset(known_models)

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        self.count(exchange.record)

    def refused(self, record: LedgerRecord) -> None:
        self.count(record)

    def count(self, record: LedgerRecord) -> None:
        counts = self.counts
        known = self._known
        requested = record.requested_model
        asked = requested if requested in known else OTHER
        answering = record.answering_model
        # A provider that serves any name answers under the name the client wrote: bounded too.
        model = asked if answering is None else answering if answering in known else OTHER
        lane = record.lane or ""
        status = record.status
        if record.shadow:
            shadow = (lane, model, status)
            counts.shadow_requests[shadow] = counts.shadow_requests.get(shadow, 0) + 1
            cost = record.cost_usd
            if cost is not None:
                spent = counts.shadow_cost_pico
                spent[lane, model] = spent.get((lane, model), 0) + _pico(cost)
            return
        key = counts.keys.of(record.key_id)
        http = record.http_status
        endpoint = record.endpoint
        labels = (
            endpoint,
            lane,
            model,
            key,
            status,
            "" if http is None else _CLASSES.get(http // 100, ""),
            record.refusal or "",
        )
        requests = counts.requests
        requests[labels] = requests.get(labels, 0) + 1
        if status == "refused":
            return
        short = (endpoint, lane, model)
        latency = record.latency_ms
        if latency is not None:
            counts.duration.observe(short, latency)
        if record.stream and record.ttfb_ms is not None:
            counts.ttft.observe(short, record.ttfb_ms)
        if record.attempts:
            self._attempts(record.attempts, OPERATIONS.get(endpoint, endpoint), lane)
        self._spend(record, (key, lane, model), asked)

    def _spend(self, record: LedgerRecord, labels: Labels, asked: str) -> None:
        counts = self.counts
        usage = record.usage
        if usage is not None:
            row = counts.tokens.get(labels)
            if row is None:
                row = counts.tokens[labels] = [0, 0, 0, 0, 0]
            row[0] += usage.input_tokens
            row[1] += usage.cached_input_tokens
            row[2] += usage.cache_write_tokens
            row[3] += usage.output_tokens
            row[4] += usage.reasoning_tokens
            operation = OPERATIONS.get(record.endpoint, record.endpoint)
            answered = labels[2]
            usage_of = counts.token_usage.observe
            usage_of((operation, PROVIDER_FLAVOUR, asked, answered, "input"), usage.input_tokens)
            usage_of((operation, PROVIDER_FLAVOUR, asked, answered, "output"), usage.output_tokens)
        cost = record.cost_usd
        if cost is not None:
            counts.cost_pico[labels] = counts.cost_pico.get(labels, 0) + _pico(cost)
        elif record.status != "error":  # an answer came and its cost is unknown (never 0)
            counts.cost_unknown[labels] = counts.cost_unknown.get(labels, 0) + 1

    def _attempts(self, attempts: tuple[Attempt, ...], operation: str, lane: str) -> None:
        counts = self.counts
        previous: tuple[str, str] | None = None  # the attempt before: provider, model
        before = ""  # its model's label
        known = self._known
        for attempt in attempts:
            provider, model = attempt.provider, attempt.model
            if model not in known:
                model = OTHER
            if attempt.latency_ms > 0:  # it was sent
                labels = (operation, PROVIDER_FLAVOUR, model, _error_type(attempt), provider)
                counts.attempt_duration.observe(labels, attempt.latency_ms)
            if previous is not None:
                if previous == (provider, attempt.model):
                    retries = counts.retries
                    retries[provider, model] = retries.get((provider, model), 0) + 1
                else:
                    moved = (lane, before, model)
                    counts.fallbacks[moved] = counts.fallbacks.get(moved, 0) + 1
            previous, before = (provider, attempt.model), model


def _error_type(attempt: Attempt) -> str:
    """OpenTelemetry's error.type: "" for a success, the status code, or how it failed."""
    status = attempt.status
    if status is not None:
        return "" if status < 400 else str(status)
    kind = (attempt.error or "").partition(":")[0]
    return kind if kind in _NO_STATUS else "_OTHER"


def _pico(cost: Decimal) -> int:
    """USD as whole pico-USD: exact for any cost of catalog prices (six decimals per 1M)."""
    return int(cost.scaleb(12))
