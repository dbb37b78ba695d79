"""Fault injection: configured rules and the per-request `x-emulator-fault` header.

A rule with `share` s fires on request n (counted per rule) when unit(seed, rule, n) < s, so a
sequence of requests meets the same faults on every run with the same seed.

Header syntax (one fault, optional share):  status=503 | hang | cut=5 | slow_first_byte=1.5
| echo_key=400, followed by an optional ";share=0.25".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from typing import Literal

from laneway.emulator.config import FaultKind, FaultRule
from laneway.emulator.determinism import unit
from laneway.wire.errors import ApiError, invalid_request

FAULT_HEADER = "x-emulator-fault"

Endpoint = Literal["responses", "chat"]


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    status: int | None = None
    after_events: int | None = None
    delay_s: float | None = None


def _header_error(value: str, why: str) -> ApiError:
    return invalid_request(
        f"Invalid {FAULT_HEADER} header {value!r}: {why}. Use status=503, hang, cut=5, "
        "slow_first_byte=1.5 or echo_key=400, optionally followed by ;share=0.25.",
        param=FAULT_HEADER,
    )


def parse_fault_header(value: str) -> tuple[Fault, float]:
    """The fault a header asks for and its share; ApiError 400 when malformed."""
    head, *options = [part.strip() for part in value.split(";")]
    name, _, arg = head.partition("=")
    share = 1.0
    for option in options:
        key, _, raw = option.partition("=")
        if key != "share":
            raise _header_error(value, f"unknown option {key!r}")
        try:
            share = float(raw)
        except ValueError:
            raise _header_error(value, "share is not a number") from None
        if not 0 <= share <= 1:
            raise _header_error(value, "share must be between 0 and 1")
    try:
        if name in ("status", "echo_key"):
            status = int(arg)
            if not 400 <= status <= 599:
                raise _header_error(value, f"{name} must be 400-599")
            return Fault("status" if name == "status" else "echo_key", status=status), share
        if name == "hang" and not arg:
            return Fault("hang"), share
        if name == "cut":
            events = int(arg)
            if events < 0:
                raise _header_error(value, "cut needs a count of events >= 0")
            return Fault("cut", after_events=events), share
        if name == "slow_first_byte":
            delay = float(arg)
            if not 0 <= delay <= 3600:
                raise _header_error(value, "slow_first_byte needs 0-3600 seconds")
            return Fault("slow_first_byte", delay_s=delay), share
    except ValueError:
        raise _header_error(value, f"{name} needs a number") from None
    raise _header_error(value, f"unknown fault {name!r}")


class FaultPlan:
    """Decides, per request, which fault (if any) to inject."""

    def __init__(self, seed: int, rules: Sequence[FaultRule]) -> None:
        self._seed = seed
        self._rules = tuple(rules)
        self._counters = [count() for _ in self._rules]
        self._header_counters: dict[str, count[int]] = {}

    def pick(self, endpoint: Endpoint, model: str, header: str | None) -> Fault | None:
        if header is not None:
            fault, share = parse_fault_header(header)
            counter = self._header_counters.setdefault(header, count())
            if unit(self._seed, "header", header, next(counter)) < share:
                return fault
            return None
        for index, rule in enumerate(self._rules):
            if rule.models is not None and model not in rule.models:
                continue
            if rule.endpoints is not None and endpoint not in rule.endpoints:
                continue
            if unit(self._seed, "rule", index, next(self._counters[index])) < rule.share:
                return Fault(rule.kind, rule.status, rule.after_events, rule.delay_s)
        return None


class EchoedKey(ApiError):
    """The echo_key fault, raised by the engine (which never holds a key) and given the key
    the request carried by the layer that has it (`quoting`)."""

    status: int

    def quoting(self, authorization: bytes | None) -> ApiError:
        key = (authorization or b"").decode("latin-1").removeprefix("Bearer ").strip()
        return ApiError(
            self.status,
            f"Your request was refused; the API key it carried was {key}. (injected fault)",
            type=self.type,
        )


def injected_error(status: int, model: str) -> ApiError:
    """The body OpenAI sends for `status`, so clients see what they would see in production."""
    if status == 429:
        return ApiError(
            429,
            f"Rate limit reached for {model} in organization org-emulator on requests per min "
            "(RPM): Limit 1, Used 1, Requested 1. Please try again in 1s. (injected fault)",
            type="requests",
            code="rate_limit_exceeded",
            headers={"retry-after": "1", "retry-after-ms": "1000"},
        )
    messages = {
        500: ("The server had an error while processing your request. Sorry about that!", None),
        502: ("Bad gateway.", None),
        503: ("The engine is currently overloaded, please try again later.", None),
        504: ("Gateway timeout.", None),
    }
    message, code = messages.get(status, (f"Injected error {status}.", None))
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return ApiError(status, message, type=kind, code=code)
