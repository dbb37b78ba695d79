"""The observer seam: what telemetry, capture, replay and Batch watch, without touching the
request path's code.

Each request (and each shadow copy) is an `Exchange`. Observers are told, in order:

    request_started(exchange)           routed and admitted; its record is about to be reserved
    attempt_started(exchange, target)   before each attempt at an upstream
    attempt_ended(exchange, attempt)    after it, with its outcome as the record keeps it
    settled(exchange, bodies)           the record is complete and about to be written

A request laneway refuses before opening its record (bad input, no such model, a lane or model
the key may not use, a budget or rate limit, a revoked key) is no exchange: observers are told
only `refused(record)`, with its complete record (status "refused", `refusal` its origin, see
laneway.gateway.refusals), about to be written. A request that ends on a refusal after its record
was opened (a 429 from upstream, or from laneway's pacer) is settled as usual, its record's
`refusal` set. Unauthenticated requests have no record and reach no observer.

`request_started` and `settled` run before the record is written, so an observer may annotate
it there (`exchange.annotate`, e.g. a trace id): annotations are stored with the record and
carried on the answer's metadata. `bodies` (the request's and the answer's bytes) is given only
to observers that set `wants_bodies`, and a stream's body is only gathered when one does: metrics
never pay for it. An observer that also sets `bodies_per_exchange` wants them only for the
exchanges it asks for (`exchange.want_bodies()` in `request_started`, e.g. a sample): the others'
bodies are not gathered for it, and it is given None for them. An observer that sets
`follows_per_exchange` is told of a request's attempts and settlement only when it followed it
(`exchange.follow(observer)` in `request_started`, e.g. a sample): the others cost it no call
at all. An observer that raises is counted and logged, and never fails the request.

Hooks run on the event loop, inside the request: they must be quick and must not block. An
observer need implement only the hooks it wants; subclassing `Observer` gives no-ops for the
rest, and a hook left as the no-op is never called.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from laneway.gateway.admission import Hold
from laneway.gateway.answer import AnswerMeta
from laneway.gateway.client import Client
from laneway.ledger.record import Attempt, LedgerRecord
from laneway.routing.router import Plan
from laneway.upstream.providers import Candidate
from laneway.wire.request import ApiRequest

log = logging.getLogger(__name__)

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_LOGGED_EVERY = 1000  # after the first failure of an observer's hook, one log line per this many


@dataclass(frozen=True, slots=True)
class Bodies:
    """A request's body and its answer's (a stream's events as relayed), for observers that
    asked for them."""

    request: bytes
    answer: bytes


@dataclass(slots=True, eq=False)
class Exchange:
    """One request on its way through the gateway: what observers see of it."""

    request: ApiRequest
    client: Client
    plan: Plan
    record: LedgerRecord
    started: float  # monotonic seconds
    meta: AnswerMeta  # the answer's metadata: a view of the record
    hold: Hold | None = None  # the budget reservation to settle with the real cost
    attempts: list[Attempt] = field(default_factory=list)
    response_id: str | None = None  # a Responses answer's id, once read
    chunks: list[bytes] | None = None  # a stream's relayed bytes, gathered for `bodies` only
    gather: bool = False  # whether the answer's bytes are gathered (for `bodies`)
    # Observers that follow this exchange (`follow`), None while none does.
    followers: list[object] | None = None

    def want_bodies(self) -> None:
        """Gather this exchange's bodies (from `request_started`, by an observer that sets
        `bodies_per_exchange`)."""
        self.gather = True

    def follow(self, observer: object) -> None:
        """Tell `observer` (one that sets `follows_per_exchange`) of this exchange's attempts
        and settlement (from its `request_started`)."""
        if self.followers is None:
            self.followers = [observer]
        else:
            self.followers.append(observer)

    def annotate(self, name: str, value: str) -> None:
        """Attach `name = value` to the record and the answer's metadata (the server sends it
        as `x-laneway-<name>`). Names are lower-case letters, digits and dashes; values are
        printable ASCII, so either can go into a header as it is."""
        if _NAME.fullmatch(name) is None:
            raise ValueError(f"annotation name {name!r}: lower-case letters, digits and dashes")
        if not (value.isascii() and value.isprintable()):
            raise ValueError(f"annotation {name!r}: the value must be printable ASCII")
        record = self.record
        if record.annotations is None:
            record.annotations = {}
        record.annotations[name] = value


class RecordOnly:
    """A refused request's record in place of an exchange, for an observer whose `settled`
    reads nothing but `exchange.record`: its `refused` can then run the same frame
    (`settled(RecordOnly(record), None)`), one call less per settled request than both
    calling a third method."""

    __slots__ = ("record",)

    def __init__(self, record: LedgerRecord) -> None:
        self.record = record


class Observer(Protocol):
    """What the gateway tells about each request. Every hook is optional."""

    wants_bodies: ClassVar[bool] = False
    # With wants_bodies: only the exchanges this observer asks for (`Exchange.want_bodies`).
    bodies_per_exchange: ClassVar[bool] = False
    # The caller's `traceparent` header, read into `ApiRequest.traceparent` (else left None),
    # and given to `refused` as a second argument (a refusal may have no ApiRequest).
    wants_traceparent: ClassVar[bool] = False
    # Its attempt_started, attempt_ended and settled hooks are called only for the exchanges
    # it follows (`Exchange.follow`).
    follows_per_exchange: ClassVar[bool] = False

    def request_started(self, exchange: Exchange) -> None:
        """Routed and admitted; its record is about to be reserved."""
        return

    def attempt_started(self, exchange: Exchange, target: Candidate) -> None:
        """An attempt at `target` is about to be sent."""
        return

    def attempt_ended(self, exchange: Exchange, attempt: Attempt) -> None:
        """An attempt ended (answered, failed or was not sent)."""
        return

    def settled(self, exchange: Exchange, bodies: Bodies | None) -> None:
        """The record is complete and about to be written. `bodies` is None unless this
        observer `wants_bodies`."""
        return

    def refused(self, record: LedgerRecord) -> None:
        """A request refused before its record was opened: the record, complete, about to be
        written. An observer that `wants_traceparent` is called `refused(record, traceparent)`
        (the header's bytes, or None)."""
        return


_HOOKS = ("request_started", "attempt_started", "attempt_ended", "settled", "refused")
# The hooks a `follows_per_exchange` observer is called by only for the exchanges it follows.
_FOLLOWED = frozenset(("attempt_started", "attempt_ended", "settled"))

Hook = tuple[str, Callable[..., None], bool]  # observer's name, the hook, its flag


class Observers:
    """The observers of one gateway, each hook called only on those that implement it."""

    def __init__(self, observers: Sequence[object] = ()) -> None:
        self.observers = tuple(observers)
        hooks: dict[str, list[Hook]] = {name: [] for name in _HOOKS}
        # A following observer -> its followed hooks by name (None: not implemented).
        self._following: dict[object, dict[str, Hook | None]] = {}
        always = False
        for observer in self.observers:
            wanted = bool(getattr(observer, "wants_bodies", False))
            always |= wanted and not getattr(observer, "bodies_per_exchange", False)
            traceparent = bool(getattr(observer, "wants_traceparent", False))
            follows = bool(getattr(observer, "follows_per_exchange", False))
            if follows:
                self._following[observer] = dict.fromkeys(_FOLLOWED)
            for name in _HOOKS:
                method = getattr(type(observer), name, None)
                if method is not None and method is not getattr(Observer, name):
                    # The flag a hook is called by: bodies for `settled`, the caller's
                    # traceparent for `refused`.
                    flag = traceparent if name == "refused" else wanted
                    hook = (_name(observer), getattr(observer, name), flag)
                    if follows and name in _FOLLOWED:
                        self._following[observer][name] = hook
                    else:
                        hooks[name].append(hook)
        self._started = [(name, hook) for name, hook, _ in hooks["request_started"]]
        self._attempt_started = [(name, hook) for name, hook, _ in hooks["attempt_started"]]
        self._attempt_ended = [(name, hook) for name, hook, _ in hooks["attempt_ended"]]
        self._settled = hooks["settled"]
        self._refused = hooks["refused"]
        # Every settled hook, followers' too.
        settling = [*self._settled, *(of["settled"] for of in self._following.values())]
        # Whether every exchange's bytes must be gathered for someone (`Exchange.gather` at
        # its start; an observer with `bodies_per_exchange` sets it on those it wants).
        self.want_bodies = always and any(hook[2] for hook in settling if hook is not None)
        # Attempts are told of when someone always wants them, or when the exchange has
        # followers (the gateway checks `Exchange.followers` too).
        self.watch_attempts = bool(self._attempt_started or self._attempt_ended)
        self.watch_starts = bool(self._started)
        self.watch_settled = any(hook is not None for hook in settling)
        self.watch_refused = bool(self._refused)
        self.want_traceparent = any(
            getattr(observer, "wants_traceparent", False) for observer in self.observers
        )
        self.failures: Counter[str] = Counter()  # "observer.hook" -> times it raised

    def request_started(self, exchange: Exchange) -> None:
        for name, hook in self._started:
            try:
                hook(exchange)
            except Exception:  # noqa: BLE001 - never the request's problem
                self._failed(name, "request_started")

    def attempt_started(self, exchange: Exchange, target: Candidate) -> None:
        for name, hook in self._attempt_started:
            try:
                hook(exchange, target)
            except Exception:  # noqa: BLE001
                self._failed(name, "attempt_started")
        if exchange.followers is not None:
            self._tell_followers(exchange, "attempt_started", target)

    def attempt_ended(self, exchange: Exchange, attempt: Attempt) -> None:
        for name, hook in self._attempt_ended:
            try:
                hook(exchange, attempt)
            except Exception:  # noqa: BLE001
                self._failed(name, "attempt_ended")
        if exchange.followers is not None:
            self._tell_followers(exchange, "attempt_ended", attempt)

    def settled(self, exchange: Exchange) -> None:
        bodies = None
        for name, hook, wanted in self._settled:
            if wanted and bodies is None and exchange.gather:
                bodies = _bodies(exchange)
            try:
                hook(exchange, bodies if wanted else None)
            except Exception:  # noqa: BLE001
                self._failed(name, "settled")
        if exchange.followers is not None:
            self._tell_followers(exchange, "settled", None)

    def refused(self, record: LedgerRecord, traceparent: bytes | None = None) -> None:
        for name, hook, wants_traceparent in self._refused:
            try:
                if wants_traceparent:
                    hook(record, traceparent)
                else:
                    hook(record)
            except Exception:  # noqa: BLE001
                self._failed(name, "refused")

    def _tell_followers(self, exchange: Exchange, event: str, argument: object) -> None:
        """`event`'s hook of each observer following the exchange (bodies for `settled`, to
        those that want them)."""
        for observer in exchange.followers or ():
            hooks = self._following.get(observer)
            found = None if hooks is None else hooks.get(event)
            if found is None:
                continue
            name, hook, wanted = found
            given = argument
            if event == "settled":
                given = _bodies(exchange) if wanted and exchange.gather else None
            try:
                hook(exchange, given)
            except Exception:  # noqa: BLE001
                self._failed(name, event)

    def _failed(self, observer: str, hook: str) -> None:
        where = f"{observer}.{hook}"
        failures = self.failures
        failures[where] += 1
        count = failures[where]
        if count == 1:
            log.exception("observer %s failed; the request goes on", where)
        elif count % _LOGGED_EVERY == 0:
            log.warning("observer %s has failed %d times", where, count)


def _name(observer: Any) -> str:
    return type(observer).__name__


def _bodies(exchange: Exchange) -> Bodies:
    chunks = exchange.chunks
    return Bodies(exchange.request.raw, b"".join(chunks) if chunks else b"")
