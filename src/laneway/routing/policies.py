"""A lane's policy: the order its candidates are tried in. A closed set, by name:

    ordered    as written
    cheapest   by expected cost (an unknown cost ranks last; equal costs keep the written order)
    split      a weighted arm first, sticky by user (safety_identifier or user) or else by key,
               random with neither; then the other arms' candidates as written

Each class checks the part of a lane's config only it cares about (split weights) and orders the
candidates routing kept. The lane's fallbacks always follow, as written, whatever the policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol, TypeVar

from laneway.routing.explain import Route


class Arm(Protocol):
    """What a policy reads of a lane's option (`laneway.routing.lanes.Option`)."""

    @property
    def arm(self) -> int: ...

    @property
    def model(self) -> str: ...


class Lane(Protocol):
    """What a policy reads of a lane (`laneway.routing.lanes.Lane`, which holds its policy:
    described here, not imported, so the two modules do not import each other)."""

    @property
    def name(self) -> str: ...

    @property
    def weights(self) -> tuple[int, ...]: ...

    @property
    def options(self) -> Sequence[Arm]: ...


# A kept candidate as routing ranks it: (rank, position among the options, option, ...).
E = TypeVar("E", bound=tuple[object, ...])


class Policy:
    """The written order, unchanged (the `ordered` policy, and the base of the others)."""

    name: ClassVar[str] = "ordered"
    # Its candidates carry weights (one arm each).
    weighted: ClassVar[bool] = False
    # Candidates are ranked by their expected cost, so routing must price each one.
    priced: ClassVar[bool] = False
    # Said of a kept candidate whose expected cost is unknown.
    unknown_cost: ClassVar[str] = ""

    def check(self, weights: Sequence[int | None]) -> None:
        """Raise ValueError when the candidates' weights do not suit this policy."""
        if any(weight is not None for weight in weights):
            raise ValueError("weight applies only to policy = 'split'")

    def order(
        self,
        lane: Lane,
        kept: list[E],
        user: str | None,
        key_id: str | None,
        route: Route,
        draw: Callable[[], float],
    ) -> list[E]:
        """`kept`: (rank, position, option, ...) tuples in the written order; `user` is the
        request's safety_identifier or user, `key_id` its key's; `draw` gives a random number
        in [0, 1)."""
        return kept

    def __str__(self) -> str:
        return self.name


class Cheapest(Policy):
    name = "cheapest"
    priced = True
    unknown_cost = "price unknown: ranked last"

    def order(
        self,
        lane: Lane,
        kept: list[E],
        user: str | None,
        key_id: str | None,
        route: Route,
        draw: Callable[[], float],
    ) -> list[E]:
        kept.sort()  # by (expected cost, position): numbers, never the options
        return kept


class Split(Policy):
    name = "split"
    weighted = True

    def check(self, weights: Sequence[int | None]) -> None:
        if any(weight is None for weight in weights):
            raise ValueError("a split lane needs a weight on every candidate")
        if not sum(weight or 0 for weight in weights):
            raise ValueError("a split lane needs at least one candidate with weight > 0")

    def order(
        self,
        lane: Lane,
        kept: list[E],
        user: str | None,
        key_id: str | None,
        route: Route,
        draw: Callable[[], float],
    ) -> list[E]:
        """The kept options of the arm this request falls in first, then the others."""
        identity = user or key_id
        if identity:
            seed = f"{lane.name}\x00{identity}".encode()
            point = int.from_bytes(hashlib.blake2b(seed, digest_size=8).digest()) / 2**64
            how = "sticky by " + ("user" if user else "key")
        else:
            point = draw()
            how = "random: no user, safety_identifier or key"
        weights = lane.weights
        total = sum(weights)
        arm, edge = len(weights) - 1, 0.0
        for index, weight in enumerate(weights):
            edge += weight / total
            if point < edge:
                arm = index
                break
        chosen = [entry for entry in kept if _option(entry).arm == arm]
        label = next(option.model for option in lane.options if option.arm == arm)
        route.notes.append(f"split arm {label} ({weights[arm]}/{total}, {how})")
        if not chosen:
            route.notes.append(f"arm {label} cannot serve this request; the others follow")
        return chosen + [entry for entry in kept if _option(entry).arm != arm]


def _option(entry: tuple[object, ...]) -> Arm:
    return entry[2]  # type: ignore[return-value]  # routing's entries hold the option third


POLICIES: dict[str, type[Policy]] = {policy.name: policy for policy in (Policy, Cheapest, Split)}
"""Every policy, by the name a lane's config gives."""
