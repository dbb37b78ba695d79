"""A revoked key prefix is refused before any limit is looked at, in both states; in Redis the
revoked set is `<namespace>:revoked`, which laneway's CLI writes with a plain SADD."""

from __future__ import annotations

import redis
import uvloop

from laneway.quota.redis_state import RedisQuota
from laneway.quota.state import REVOKED, Ask, BudgetCharge, QuotaState, RateLimit, Spend
from tests.quota.conftest import START, Backend
from tests.services import REDIS_URL

DAY = BudgetCharge("key:vk_1:day", "day", 1_000, None)
RPM = RateLimit("key:vk_1:rpm", 1, 1)


def key_ask(rid: str, prefix: str | None) -> Ask:
    return Ask(rid, prefix, (RPM,), (DAY,), 100)


def test_a_revoked_prefix_is_refused_and_charged_nothing(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(key_ask("r1", "lw_vk_other"), START) is None
        await state.revoke("lw_vk_1")
        assert await state.admit(key_ask("r2", "lw_vk_1"), START + 60) == REVOKED
        assert await state.spend([DAY], START) == [Spend(0, 100)]
        # The refusal took nothing from the rate limit: another key's request fits it.
        assert await state.admit(key_ask("r3", "lw_vk_other"), START + 60) is None
        # Asks that name no prefix are not checked; other prefixes are not revoked.
        assert await state.admit(key_ask("r4", None), START + 120) is None
        assert await state.admit(key_ask("r5", "lw_vk_12"), START + 180) is None

    backend.run(body)


def test_a_plain_sadd_to_the_revoked_set_revokes_on_every_replica(redis_namespace: str) -> None:
    async def main() -> None:
        replicas = [RedisQuota(REDIS_URL, redis_namespace) for _ in range(2)]
        try:
            for i, replica in enumerate(replicas):
                assert await replica.admit(key_ask(f"a{i}", "lw_vk_1"), START + 60 * i) is None
            cli = redis.Redis.from_url(REDIS_URL)
            try:
                cli.sadd(f"{redis_namespace}:revoked", "lw_vk_1")
            finally:
                cli.close()
            for i, replica in enumerate(replicas):
                assert await replica.admit(key_ask(f"b{i}", "lw_vk_1"), START + 600) == REVOKED
        finally:
            for replica in replicas:
                await replica.close()

    uvloop.run(main())
