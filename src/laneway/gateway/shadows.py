"""Shadow traffic: a sampled share of a lane's requests, sent again to another model in the
background, so two models can be compared on real traffic.

The client never waits for a shadow and never sees it: the copy starts as a task once the
primary's answer is committed, runs through the same attempts (breakers, headroom, retries) as a
whole answer, and is written to the ledger as its own record with `shadow` set and the primary's
id as `pair_id` (the primary carries the same pair id). Shadow spend is capped per lane per UTC
day; copies in flight at once are capped too, so a slow shadow model cannot pile up work. The cap
is checked against settled shadow spend: at most `max_in_flight` copies can land past it.
"""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal

from laneway.clock import Clock
from laneway.gateway.attempts import Attempts
from laneway.gateway.observers import Exchange
from laneway.gateway.settlement import Settler, read_whole
from laneway.ids import new_id
from laneway.routing.effort import effective_effort
from laneway.routing.explain import Consideration, Route
from laneway.routing.lanes import Lane
from laneway.routing.router import Plan
from laneway.upstream.providers import Candidate
from laneway.wire.errors import ApiError

_DAY_S = 86_400


@dataclass(slots=True)
class ShadowState:
    in_flight: int = 0
    day: int = -1  # UTC day number the spend belongs to
    spent_usd: Decimal = field(default_factory=Decimal)
    started: int = 0
    skipped_cap: int = 0
    skipped_busy: int = 0


class Shadows:
    def __init__(
        self, attempts: Attempts, settler: Settler, clock: Clock, rng: random.Random
    ) -> None:
        self._attempts = attempts
        self._settler = settler
        self._clock = clock
        self._rng = rng
        self._tasks: set[asyncio.Task[None]] = set()
        self.states: dict[str, ShadowState] = {}

    def maybe_start(self, primary: Exchange, lane: Lane) -> bool:
        """Sample this request for `lane`'s shadow; start the copy if it is sampled and allowed."""
        shadow = lane.shadow
        if shadow is None or self._rng.random() >= shadow.share:
            return False
        state = self._state(lane.name)
        cap = shadow.max_usd_per_day
        if cap is not None and state.spent_usd >= cap:
            state.skipped_cap += 1
            return False
        if state.in_flight >= shadow.max_in_flight:
            state.skipped_busy += 1
            return False
        request = primary.request
        option = shadow.options[0]
        effort, _ = effective_effort(
            request.effort,
            default=lane.effort,
            maximum=lane.max_effort,
            supported=option.spec.reasoning_efforts if option.spec is not None else None,
        )
        route = Route(lane.name, f"shadow of {primary.record.id}", "shadow")
        route.considered = [Consideration(o.label, True, effort=effort) for o in shadow.options]
        plan = Plan(
            lane,
            [Candidate(o.provider, o.model) for o in shadow.options],
            lane.timeouts.for_effort(effort),
            route,
            {},
        )
        exchange, reserved = self._settler.open(
            request.for_shadow(option.model, effort),
            primary.client,
            plan,
            new_id("req"),
            self._clock.monotonic(),
            pair_of=primary.record,
        )
        state.in_flight += 1
        state.started += 1
        task = asyncio.get_running_loop().create_task(self._run(exchange, reserved, state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _state(self, lane: str) -> ShadowState:
        """The lane's shadow state, its spend reset at each UTC day."""
        state = self.states.get(lane)
        if state is None:
            state = self.states[lane] = ShadowState()
        day = int(self._clock.time() // _DAY_S)
        if state.day != day:
            state.day, state.spent_usd = day, Decimal(0)
        return state

    async def _run(
        self, exchange: Exchange, reserved: Future[None] | None, state: ShadowState
    ) -> None:
        settler = self._settler
        try:
            if reserved is not None:
                await asyncio.wrap_future(reserved)
            committed = await self._attempts.run(exchange, {})
            settler.committed(exchange, committed)
            _, usage, problem = read_whole(committed.body)
            settler.answered(exchange, committed, usage, problem, status="ok")
            if exchange.record.cost_usd is not None:
                state.spent_usd += exchange.record.cost_usd
        except ApiError as error:
            settler.failed(exchange, error.status, error.message)
        except BaseException:  # shut down while the copy was out
            settler.failed(exchange, 499, "the gateway stopped before the shadow ended")
            raise
        finally:
            state.in_flight -= 1

    async def drain(self) -> None:
        """Wait for the shadows in flight (tests; a graceful stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.drain()
