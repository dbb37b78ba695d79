"""The metric families a scrape exposes, made from the observer's counts and the state read for
this scrape, as a prometheus-client Collector (its own registry: never the global default).

Names follow Prometheus' conventions (base units, `_total` counters) and, for token counts and
upstream call durations, OpenTelemetry's GenAI metrics (`gen_ai.client.token.usage`,
`gen_ai.client.operation.duration`, dots made underscores as OpenTelemetry's Prometheus exporter
does). docs/observability.md lists every family with its labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from laneway.pricing.worst_case import NANO_PER_USD
from laneway.telemetry.metrics_counts import (
    DURATION_BUCKETS_S,
    OK,
    OPERATIONS,
    PICO_PER_USD,
    TOKEN_BUCKETS,
    TTFT_BUCKETS_S,
    Counts,
    Labels,
    Route,
)
from laneway.telemetry.metrics_state import Reading

REQUEST = ["endpoint", "lane", "model", "key", "status", "status_class", "refusal"]
ROUTE = ["endpoint", "lane", "model"]
SPEND = ["key", "lane", "model"]
GEN_AI_TOKENS = [
    "gen_ai_operation_name",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_response_model",
    "gen_ai_token_type",
]
GEN_AI_CALLS = [
    "gen_ai_operation_name",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "error_type",
    "provider",
]
BREAKER_STATES = ("closed", "open", "half-open")
TOKEN_KINDS = ("input", "cache_read", "cache_write", "output", "reasoning")
# gen_ai.provider.name: every upstream laneway calls speaks OpenAI's API.
PROVIDER_FLAVOUR = "openai"


class MetricsCollector(Collector):
    """The counts, and the state `reading()` gives (None: none read for this collection)."""

    def __init__(self, counts: Counts, reading: Callable[[], Reading | None]) -> None:
        self._counts = counts
        self._reading = reading

    def collect(self) -> Iterator[Metric]:
        yield from _requests(self._counts)
        yield from _spend(self._counts)
        yield from _histograms(self._counts)
        reading = self._reading()
        if reading is not None:
            yield from _budgets(reading)
            yield from _upstreams(reading)
            yield from _ledger(reading)


def _counter(name: str, doc: str, labels: Sequence[str], values: Mapping[Labels, float]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=labels)
    for label_values, value in values.items():
        family.add_metric(label_values, value)
    return family


def _gauge(name: str, doc: str, labels: Sequence[str], values: Mapping[Labels, float]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for label_values, value in values.items():
        family.add_metric(label_values, value)
    return family


def _requests(counts: Counts) -> Iterator[Metric]:
    requests: dict[Labels, float] = {}
    for (endpoint, lane, _, model, key), route in counts.routes.items():
        outcomes = route.outcomes.items()
        for outcome, count in (*outcomes, (OK, route.ok)) if route.ok else outcomes:
            labels: Labels = (endpoint, lane, model, key, *outcome)
            requests[labels] = requests.get(labels, 0) + count
    yield _counter(
        "laneway_requests",
        "Requests laneway recorded (answered, failed or refused; shadows apart), by outcome.",
        REQUEST,
        requests,
    )
    yield _counter(
        "laneway_shadow_requests",
        "Shadow copies of lane requests (never seen by the client), by outcome.",
        ["lane", "model", "status"],
        counts.shadow_requests,
    )
    yield _counter(
        "laneway_upstream_retries",
        "Attempts that retried the deployment the attempt before them was sent to.",
        ["provider", "model"],
        counts.retries,
    )
    yield _counter(
        "laneway_fallbacks",
        "Attempts that moved to another deployment than the attempt before them.",
        ["lane", "from_model", "to_model"],
        counts.fallbacks,
    )


def _spend(counts: Counts) -> Iterator[Metric]:
    tokens: dict[Labels, float] = {}
    pico: dict[Labels, int] = {}
    unknown: dict[Labels, float] = {}
    for (_, lane, _, model, key), route in counts.routes.items():
        labels = (key, lane, model)
        if sum(route.input_usage):
            kinds = zip(TOKEN_KINDS, _tokens(route), strict=True)
            for kind, count in kinds:
                tokens[*labels, kind] = tokens.get((*labels, kind), 0) + count
        if route.cost:
            pico[labels] = pico.get(labels, 0) + route.pico
        if route.unknown:
            unknown[labels] = unknown.get(labels, 0) + route.unknown
    yield _counter(
        "laneway_tokens",
        "Tokens by kind: cache_read is a part of input, reasoning a part of output.",
        [*SPEND, "type"],
        tokens,
    )
    yield _counter(
        "laneway_cost_usd",
        "Cost in USD of answered requests whose cost is known (the ledger is the exact record).",
        SPEND,
        {labels: value / PICO_PER_USD for labels, value in pico.items()},
    )
    yield _counter(
        "laneway_cost_unknown_requests",
        "Answered requests whose cost is unknown (no usage, or no price): never counted as 0.",
        SPEND,
        unknown,
    )
    yield _counter(
        "laneway_shadow_cost_usd",
        "Cost in USD of shadow copies.",
        ["lane", "model"],
        {labels: value / PICO_PER_USD for labels, value in counts.shadow_pico.items()},
    )


def _tokens(route: Route) -> tuple[int, ...]:
    """In TOKEN_KINDS order."""
    return (route.input, route.cache_read, route.cache_write, route.output, route.reasoning)


def _histograms(counts: Counts) -> Iterator[Metric]:
    duration: dict[Labels, list[float]] = {}
    ttft: dict[Labels, list[float]] = {}
    usage: dict[Labels, list[float]] = {}
    attempts: dict[Labels, list[float]] = {}
    for (endpoint, lane, asked, model, _), route in counts.routes.items():
        _add(duration, (endpoint, lane, model), route.duration)
        _add(ttft, (endpoint, lane, model), route.ttft)
        operation = OPERATIONS.get(endpoint, endpoint)
        gen_ai = (operation, PROVIDER_FLAVOUR, asked, model)
        _add(usage, (*gen_ai, "input"), _tokens_row(route.input_usage, route.input))
        _add(usage, (*gen_ai, "output"), _tokens_row(route.output_usage, route.output))
        for provider, row in route.calls.items():  # answered at the first attempt
            _add(attempts, (operation, PROVIDER_FLAVOUR, model, "", provider), row)
    for (endpoint, provider, model, error), row in counts.attempts.items():
        operation = OPERATIONS.get(endpoint, endpoint)
        _add(attempts, (operation, PROVIDER_FLAVOUR, model, error, provider), row)
    yield _histogram(
        "laneway_request_duration_seconds",
        "From taking the request to the answer's last byte, retries included; not refusals.",
        ROUTE,
        DURATION_BUCKETS_S,
        duration,
        1000,
    )
    yield _histogram(
        "laneway_time_to_first_token_seconds",
        "Streamed requests: from taking the request to the answer's first whole event.",
        ROUTE,
        TTFT_BUCKETS_S,
        ttft,
        1000,
    )
    yield _histogram(
        "gen_ai_client_token_usage",
        "OpenTelemetry GenAI gen_ai.client.token.usage: tokens per answered request.",
        GEN_AI_TOKENS,
        TOKEN_BUCKETS,
        usage,
    )
    yield _histogram(
        "gen_ai_client_operation_duration_seconds",
        "OpenTelemetry GenAI gen_ai.client.operation.duration: each upstream attempt sent, to "
        "its whole answer (a stream: to its first event).",
        GEN_AI_CALLS,
        DURATION_BUCKETS_S,
        attempts,
        1000,
    )


def _tokens_row(slots: list[int], tokens: int) -> list[float]:
    """A route's token histogram as TOKEN_BUCKETS' buckets: the slots past the last bound are
    +Inf; then the sum (the route's token count)."""
    last = len(TOKEN_BUCKETS)
    return [*slots[:last], sum(slots[last:]), tokens]


def _add(into: dict[Labels, list[float]], labels: Labels, row: Sequence[float]) -> None:
    """Sum `row` into the series `labels`, unless it counted nothing."""
    if not any(row[:-1]):
        return
    held = into.get(labels)
    if held is None:
        into[labels] = list(row)
    else:
        for i, value in enumerate(row):
            held[i] += value


def _histogram(
    name: str,
    doc: str,
    labels: Sequence[str],
    bounds: Sequence[float],
    series: Mapping[Labels, list[float]],
    scale: float = 1,
) -> Metric:
    """`series`: per label values, bucket counts (the last +Inf), then the sum in 1/`scale`."""
    family = HistogramMetricFamily(name, doc, labels=labels)
    edges = [_le(bound) for bound in bounds] + ["+Inf"]
    for label_values, row in series.items():
        total = 0.0
        buckets = []
        for edge, count in zip(edges, row, strict=False):
            total += count
            buckets.append((edge, total))
        family.add_metric(label_values, buckets, row[-1] / scale)
    return family


def _le(bound: float) -> str:
    return f"{bound:g}" if bound < 1e6 else str(int(bound))


def _budgets(reading: Reading) -> Iterator[Metric]:
    yield _gauge(
        "laneway_quota_state_up",
        "1 when the quota state (memory or Redis) answered this scrape, else 0.",
        [],
        {(): 1.0 if reading.quota_up else 0.0},
    )
    limit: dict[Labels, float] = {}
    spent: dict[Labels, float] = {}
    reserved: dict[Labels, float] = {}
    remaining: dict[Labels, float] = {}
    for charge, spend in reading.budgets:
        labels: Labels = (charge.id, charge.window)
        limit[labels] = charge.limit_nano / NANO_PER_USD
        spent[labels] = spend.settled_nano / NANO_PER_USD
        reserved[labels] = spend.reserved_nano / NANO_PER_USD
        left = charge.limit_nano - spend.settled_nano - spend.reserved_nano
        remaining[labels] = max(left, 0) / NANO_PER_USD
    budget = ["budget", "window"]
    yield _gauge("laneway_budget_limit_usd", "A budget's limit in its window.", budget, limit)
    yield _gauge("laneway_budget_spent_usd", "Settled spend in the current period.", budget, spent)
    yield _gauge(
        "laneway_budget_reserved_usd",
        "Worst cases reserved by requests in flight.",
        budget,
        reserved,
    )
    yield _gauge(
        "laneway_budget_remaining_usd",
        "Limit less settled and reserved spend (shared state: every replica reports the same).",
        budget,
        remaining,
    )
    rate = ["key", "limit"]
    yield _gauge(
        "laneway_key_rate_limit",
        "A key's RPM or TPM limit.",
        rate,
        {(r.key, r.limit): r.per_minute for r in reading.rates},
    )
    yield _gauge(
        "laneway_key_rate_limit_used",
        "How much of a key's RPM or TPM limit is in use now.",
        rate,
        {(r.key, r.limit): r.used for r in reading.rates},
    )


def _upstreams(reading: Reading) -> Iterator[Metric]:
    remaining: dict[Labels, float] = {}
    limits: dict[Labels, float] = {}
    for (provider, model), view in reading.headroom.items():
        for kind, left, limit in (
            ("requests", view.requests_left, view.requests_limit),
            ("tokens", view.tokens_left, view.tokens_limit),
        ):
            if left is not None:
                remaining[provider, model, kind] = left
            if limit is not None:
                limits[provider, model, kind] = limit
    labels = ["provider", "model", "kind"]
    yield _gauge(
        "laneway_upstream_ratelimit_remaining",
        "Upstream rate-limit headroom, from x-ratelimit-remaining-* (paced since).",
        labels,
        remaining,
    )
    yield _gauge(
        "laneway_upstream_ratelimit_limit",
        "Upstream rate limit, from x-ratelimit-limit-*.",
        labels,
        limits,
    )
    states: dict[Labels, float] = {
        (provider, model, state): 1.0 if status.state == state else 0.0
        for (provider, model), status in reading.breakers.items()
        for state in BREAKER_STATES
    }
    yield _gauge(
        "laneway_breaker_state",
        "1 for each deployment's breaker state (closed, open, half-open), 0 for the others.",
        ["provider", "model", "state"],
        states,
    )


def _ledger(reading: Reading) -> Iterator[Metric]:
    yield _gauge(
        "laneway_ledger_backlog",
        "Ledger writes queued in this process, not yet committed.",
        [],
        {(): reading.backlog},
    )
    if reading.unsettled is not None:
        yield _gauge(
            "laneway_ledger_unsettled_records",
            "Ledger records reserved and not settled: in flight, or lost in a crash.",
            [],
            {(): reading.unsettled},
        )
