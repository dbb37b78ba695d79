"""Microseconds per admit + settle pair in each quota state, as the gateway would ask them.

    .venv/bin/python -m bench.bench_quota [--pairs 20000] [--redis-pairs 3000] [--repeat 3]
        [--redis-url redis://127.0.0.1:6379/0] [--concurrency 32]

Each ask carries a key's rpm and tpm limits and three budgets (key/day, lane/month,
global/lifetime), and is settled at once with a smaller cost and token count. Times advance
1 ms per pair, so nothing is refused. Reported: the best of --repeat runs of
- memory: pairs one after another on one uvloop loop, in process CPU time;
- redis, sequential: one pair at a time (a round trip each for admit and for settle);
- redis, concurrent: --concurrency pairs in flight at once (throughput per pair).
and, as yardsticks for a shared machine, one PING round trip through the same kind of client and
the server's own time per EVALSHA (INFO commandstats, over the Redis runs). Redis keys go under a
fresh namespace, deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import redis
import uvloop

from laneway.quota.memory import MemoryQuota
from laneway.quota.redis_pipeline import redis_client
from laneway.quota.redis_state import RedisQuota
from laneway.quota.state import Ask, BudgetCharge, QuotaState, RateLimit

START = 1_795_305_600.0  # 2026-11-22T00:00:00Z
RATES = (
    RateLimit("key:vk_bench:rpm", 10_000_000, 1),
    RateLimit("key:vk_bench:tpm", 100_000_000, 1_200, tokens=True),
)
BUDGETS = (
    BudgetCharge("key:vk_bench:day", "day", 8 * 10**15, 6 * 10**15),
    BudgetCharge("lane:bench:month", "month", 8 * 10**15, None),
    BudgetCharge("global:lifetime", "lifetime", 8 * 10**15, None),
)


def asks(run: int, pairs: int) -> list[Ask]:
    return [Ask(f"b{run}-{i}", "lw_vk_bench", RATES, BUDGETS, 50_000) for i in range(pairs)]


async def sequential(
    state: QuotaState, batch: list[Ask], clock: Callable[[], float] = time.perf_counter
) -> float:
    started = clock()
    now = START
    for ask in batch:
        now += 0.001
        if await state.admit(ask, now) is not None:
            raise RuntimeError("refused: the benchmark's limits are too small")
        await state.settle(ask.reservation_id, 31_000, 700, now)
    return clock() - started


async def cpu_sequential(state: QuotaState, batch: list[Ask]) -> float:
    """`sequential` in this process's CPU time: memory never waits, and the machine may be
    shared, so CPU time is the steadier measure."""
    return await sequential(state, batch, time.process_time)


async def concurrent(state: QuotaState, batch: list[Ask], width: int) -> float:
    queue = iter(enumerate(batch))

    async def worker() -> None:
        for i, ask in queue:
            now = START + i * 0.001
            if await state.admit(ask, now) is not None:
                raise RuntimeError("refused: the benchmark's limits are too small")
            await state.settle(ask.reservation_id, 31_000, 700, now)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(width)))
    return time.perf_counter() - started


def best_us(
    make: Callable[[], QuotaState],
    measure: Callable[[QuotaState, list[Ask]], Awaitable[float]],
    pairs: int,
    repeat: int,
) -> float:
    """Best time per pair over `repeat` runs, each on a fresh state after a short warm-up."""

    async def one(run: int) -> float:
        state = make()
        try:
            await measure(state, asks(-run - 1, min(pairs, 500)))  # connections, scripts, caches
            return await measure(state, asks(run, pairs)) / pairs
        finally:
            await state.close()

    return min(uvloop.run(one(run)) for run in range(repeat)) * 1e6


def ping_us(url: str, count: int, repeat: int) -> float:
    """Best time per PING round trip, one at a time, through a client as RedisQuota makes."""

    async def one() -> float:
        client = redis_client(url, 5.0)
        try:
            for _ in range(100):
                await client.ping()
            started = time.perf_counter()
            for _ in range(count):
                await client.ping()
            return (time.perf_counter() - started) / count
        finally:
            await client.aclose()

    return min(uvloop.run(one()) for _ in range(repeat)) * 1e6


def evalsha_stats(client: redis.Redis) -> tuple[int, int]:
    """Calls and server microseconds of EVALSHA so far."""
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20_000, help="pairs per memory run")
    parser.add_argument("--redis-pairs", type=int, default=3_000, help="pairs per Redis run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    memory = best_us(MemoryQuota, cpu_sequential, args.pairs, args.repeat)
    print(f"memory                      {memory:8.2f} µs per admit+settle pair (CPU)")

    namespace = "lwbench:" + uuid.uuid4().hex[:12]
    client = redis.Redis.from_url(args.redis_url)
    try:
        ping = ping_us(args.redis_url, args.redis_pairs, args.repeat)
        print(f"redis PING round trip       {ping:8.2f} µs (yardstick)")
        calls_before, usec_before = evalsha_stats(client)
        for label, measure in (
            ("redis, sequential", sequential),
            (
                f"redis, {args.concurrency} in flight",
                lambda state, batch: concurrent(state, batch, args.concurrency),
            ),
        ):
            micros = best_us(
                lambda: RedisQuota(args.redis_url, namespace, timeout_s=5.0),
                measure,
                args.redis_pairs,
                args.repeat,
            )
            print(f"{label:<28}{micros:8.2f} µs per admit+settle pair")
        calls, usec = evalsha_stats(client)
        if calls > calls_before:
            server = (usec - usec_before) / (calls - calls_before)
            print(f"redis server, per EVALSHA   {server:8.2f} µs (admit or settle script)")
    finally:
        keys = list(client.scan_iter(match=namespace + ":*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


if __name__ == "__main__":
    main()
