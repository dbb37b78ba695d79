"""Counts shared between workers: merged counts equal one observer's, a snapshot reads back
exactly, counters never go backwards when scrapes alternate between workers (two workers'
`SharedCounts` over one directory, no processes), and a damaged snapshot is skipped."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import CollectorRegistry

from laneway.ledger.record import Attempt, LedgerRecord
from laneway.telemetry.metrics_collector import MetricsCollector
from laneway.telemetry.metrics_counts import Counts, MetricsObserver
from laneway.telemetry.metrics_sharing import SharedCounts, publishing, snapshot_name
from laneway.telemetry.metrics_snapshot import SnapshotError, dump, load, merge
from laneway.usage import Usage
from tests.telemetry.metrics_samples import samples, total
from tests.telemetry.test_metrics_counts import KNOWN, record

PRICE = Decimal("0.000000123457")  # catalog-like: 12 decimals, so sums are exact in any order


def varied(n: int) -> list[LedgerRecord]:
    """Every kind of count: keys, models, lanes, streams, refusals, shadows, unknown costs,
    retries and fallbacks, token counts past the last bucket. Durations are whole ms, so float
    sums are exact in any order."""
    kinds = [
        lambda i: record(key_id=f"vk_{i % 3}", latency_ms=float(10 + i),
                         cost_usd=Decimal(i) * PRICE),
        lambda i: record(stream=True, ttfb_ms=float(i % 50), usage=Usage(4**14 + i, i)),
        lambda i: record(status="refused", http_status=429, refusal="budget", usage=None,
                         cost_usd=None, answering_model=None, attempts=()),
        lambda i: record(shadow=True, lane="coding", cost_usd=Decimal("0.000000000001") * i),
        lambda i: record(answering_model="gpt-5.4", cost_usd=None, usage=None),
        lambda i: record(lane="coding", requested_model="lane:coding", attempts=(
            Attempt("emu", "gpt-5.4", 503, 20.0), Attempt("emu", "gpt-5.4", None, 30.0, "failed"),
            Attempt("emu", "gpt-5.4-mini", 200, float(i)))),
        lambda i: record(status="error", http_status=502, usage=None, cost_usd=None,
                         answering_model=None,
                         attempts=(Attempt("emu", "x", None, 5.0, "no answer: cut"),)),
    ]  # fmt: skip
    return [kinds[i % len(kinds)](i) for i in range(n)]


def observe(counts: Counts, records: list[LedgerRecord]) -> Counts:
    observer = MetricsObserver(counts, KNOWN)
    for each in records:
        observer.count(each)
    return counts


def exposition(counts: Counts) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(counts, lambda: None))
    return generate_latest(registry).decode()


def lines(counts: Counts) -> list[str]:
    """The exposition's lines, in an order of their own: series come in the order their routes
    were first counted, which differs between one observer and merged parts."""
    return sorted(exposition(counts).splitlines())


def test_merged_counts_equal_one_observer_fed_all() -> None:
    records = varied(700)
    whole = observe(Counts(20), records)
    first = observe(Counts(20), records[::2])
    second = observe(Counts(20), records[1::2])
    assert lines(merge([first, second])) == lines(whole)
    # The same through snapshots, in either order of the parts.
    assert lines(merge([load(dump(first)), load(dump(second))])) == lines(whole)
    assert lines(merge([second, first])) == lines(whole)
    assert lines(first) != lines(whole)  # merging did something
    found = samples(exposition(merge([first, second])))
    assert total(found, "laneway_requests_total") == 600  # shadows apart


def test_a_snapshot_round_trips_exactly() -> None:
    counts = observe(Counts(20), varied(300))
    cost = Decimal("0.123456789012345678901234567")  # more digits than any float holds
    next(iter(counts.routes.values())).cost += cost
    data = dump(counts)
    again = load(data)
    assert dump(again) == data
    assert exposition(again) == exposition(counts)
    for labels, route in counts.routes.items():
        assert again.routes[labels].cost == route.cost
        assert str(again.routes[labels].cost) == str(route.cost)
        assert again.routes[labels].duration == route.duration
        assert [type(v) for v in again.routes[labels].duration] == [type(v) for v in route.duration]
    assert again.shadow_pico == counts.shadow_pico
    assert again.attempts == counts.attempts


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b'{"version": 1, "routes": [',  # cut short mid-write
        b"[]",
        b'{"version": 2}',
        b'{"version": 1, "routes": [[["chat"], {"ok": "1"}]]}',
        b'{"version": 1, "routes": [], "shadow_requests": [[["a"], -1]], "shadow_pico": [],'
        b' "retries": [], "fallbacks": [], "attempts": []}',
        b'{"version": 1, "routes": [], "shadow_requests": [], "shadow_pico": [],'
        b' "retries": [], "fallbacks": [], "attempts": [[["chat"], [1, 2]]]}',
    ],
)
def test_what_is_not_a_snapshot_is_refused(data: bytes) -> None:
    with pytest.raises(SnapshotError):
        load(data)


def test_a_bad_cost_is_refused() -> None:
    plain = orjson.loads(dump(observe(Counts(20), varied(1))))
    for bad in ("NaN", "Infinity", "x", 1, None):
        plain["routes"][0][1]["cost"] = bad
        with pytest.raises(SnapshotError):
            load(orjson.dumps(plain))


def counters(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a counter or histogram: each must never decrease."""
    return {key: value for key, value in samples(text).items() if not key[0].endswith("_created")}


def test_counters_never_go_backwards_when_scrapes_alternate(tmp_path: Path) -> None:
    workers = [SharedCounts(tmp_path, index, Counts(2)) for index in range(2)]
    observers = [MetricsObserver(worker.counts, KNOWN) for worker in workers]
    records = varied(420)
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for step in range(0, len(records), 7):
        for offset, each in enumerate(records[step : step + 7]):
            observers[(step + offset) % 2].count(each)  # the kernel picks a worker per request
        if step % 3 == 0:
            workers[step % 2].publish()  # its one-second tick
        now = counters(exposition(workers[step // 7 % 2].gather()))  # a scrape, alternating
        for key, value in seen.items():
            assert now.get(key, 0) >= value, key
        seen = now
    whole = observe(Counts(2), records)
    for worker in workers:
        worker.publish()
    # Both published: either worker now shows every request, its own counts at its key slots.
    for worker in workers:
        found = samples(exposition(worker.gather()))
        assert total(found, "laneway_requests_total") == 360
        assert total(found, "laneway_tokens_total", type="input") == total(
            samples(exposition(whole)), "laneway_tokens_total", type="input"
        )
    assert sorted(path.name for path in tmp_path.iterdir()) == [snapshot_name(0), snapshot_name(1)]


def test_up_to_workers_times_top_keys_key_labels(tmp_path: Path) -> None:
    workers = [SharedCounts(tmp_path, index, Counts(1)) for index in range(2)]
    for worker, key in zip(workers, ("vk_a", "vk_b"), strict=True):
        observer = MetricsObserver(worker.counts, KNOWN)
        observer.count(record(key_id=key))
        observer.count(record(key_id="vk_c"))
        worker.publish()
    found = samples(exposition(workers[0].gather()))
    assert total(found, "laneway_requests_total", key="vk_a") == 1
    assert total(found, "laneway_requests_total", key="vk_b") == 1
    assert total(found, "laneway_requests_total", key="other") == 2


def test_a_damaged_snapshot_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    worker = SharedCounts(tmp_path, 0, observe(Counts(20), varied(14)))
    (tmp_path / snapshot_name(1)).write_bytes(b'{"version": 1, "rou')  # a crash mid-write
    (tmp_path / snapshot_name(2)).write_bytes(dump(observe(Counts(20), varied(7))))
    (tmp_path / ".worker-3.tmp").write_bytes(b"half")  # never read: not a snapshot's name
    with caplog.at_level(logging.WARNING, logger="laneway.telemetry.metrics_sharing"):
        for _ in range(3):
            found = samples(exposition(worker.gather()))
            assert total(found, "laneway_requests_total") == 12 + 6
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1
    assert snapshot_name(1) in warned[0]


def test_an_unchanged_worker_does_not_write_again(tmp_path: Path) -> None:
    worker = SharedCounts(tmp_path, 0, Counts(20))
    worker.publish()
    worker.path.write_bytes(b"moved aside")  # so a second write would show
    worker.publish()
    assert worker.path.read_bytes() == b"moved aside"
    MetricsObserver(worker.counts, KNOWN).count(record())
    worker.publish()
    assert load(worker.path.read_bytes()).routes.keys() == worker.counts.routes.keys()


def requests_in(path: Path) -> int:
    return sum(route.ok for route in load(path.read_bytes()).routes.values())


def test_publishing_ticks_and_publishes_once_more_at_the_end(tmp_path: Path) -> None:
    worker = SharedCounts(tmp_path, 0, Counts(20))
    observer = MetricsObserver(worker.counts, KNOWN)
    periods: list[float] = []

    async def tick(period_s: float) -> None:
        periods.append(period_s)
        await asyncio.sleep(0)

    async def serving() -> None:
        async with publishing(worker, sleep=tick):
            observer.count(record())
            while len(periods) < 3:  # a tick has passed since the count
                await asyncio.sleep(0)
            assert requests_in(worker.path) == 1
            observer.count(record())  # no tick after it: only the last publish writes it

    asyncio.run(serving())
    assert set(periods) == {1.0}
    assert requests_in(worker.path) == 2
