"""The admin HTTP API under `/admin/`, guarded by the admin key ($LANEWAY_ADMIN_KEY by default).

    GET  /admin/keys                     every key: limits, status, spend in its budget windows
    POST /admin/keys                     create: {name, budgets?, rpm?, tpm?, lanes?, models?,
                                         expires?, passthrough?}; the answer holds the key, once
    PATCH /admin/keys/{ref}              change: {passthrough: true|false} (the grant)
    GET  /admin/keys/{ref}               one key (by id, prefix or name)
    POST /admin/keys/{ref}/revoke        revoke: refused at once on every replica (Redis state)
    POST /admin/keys/{ref}/rotate        a new secret, shown once; the old one stops working
    GET  /admin/budgets                  global and lane budgets: spent, reserved, soft state
    GET  /admin/reservations?older_than_s=N   reservations not settled, oldest first, with owners
    POST /admin/reservations/{id}/release     drop one without spend (an operator's decision)

The same operations as `laneway keys ...` (one `KeyService` under both). Store calls block, so
they run in a thread. Errors are OpenAI-shaped; no secret other than a newly made key is ever in
an answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from laneway.clock import Clock
from laneway.gateway.admission import Admission
from laneway.http.messages import Request, Response
from laneway.keys.model import VirtualKey
from laneway.keys.parse import parse_budgets, parse_count, parse_names, parse_span
from laneway.keys.registry import KeyRegistry
from laneway.keys.service import KeyService
from laneway.keys.store import KeyFieldError, VirtualKeyError
from laneway.pricing.money import usd_str
from laneway.pricing.worst_case import usd_of_nano
from laneway.quota.state import BudgetCharge
from laneway.wire.errors import ApiError, incorrect_api_key, invalid_request, missing_api_key

PREFIX = "/admin/"
_CREATE_FIELDS = frozenset(
    {"name", "budgets", "rpm", "tpm", "lanes", "models", "expires", "passthrough"}
)


class AdminApi:
    def __init__(
        self,
        admin_key: str | None,
        service: KeyService,
        registry: KeyRegistry,
        admission: Admission,
        clock: Clock,
    ) -> None:
        self._digest = hashlib.sha256(admin_key.encode()).digest() if admin_key else None
        self._service = service
        self._registry = registry
        self._admission = admission
        self._clock = clock

    async def handle(self, request: Request) -> Response:
        self._authorize(request.headers.get(b"authorization"))
        parts = [unquote(part) for part in request.path[len(PREFIX) :].split("/")]
        method = request.method
        answer: Response | None = None
        if parts[0] == "keys":
            answer = await self._keys_route(method, parts[1:], request.body)
        elif parts == ["budgets"] and method == b"GET":
            answer = _json(200, {"object": "list", "data": await self._budgets()})
        elif parts[0] == "reservations":
            answer = await self._reservations_route(method, parts[1:], request.query)
        if answer is None:
            raise ApiError(404, f"Invalid URL ({method.decode('latin-1')} {request.path})")
        return answer

    async def _keys_route(self, method: bytes, rest: list[str], body: bytes) -> Response | None:
        if not rest:
            if method == b"GET":
                return await self._list_keys()
            return await self._create(body) if method == b"POST" else None
        if len(rest) == 1 and method in (b"GET", b"PATCH"):
            if method == b"PATCH":
                key = await self._update(rest[0], body)
            else:
                key = await self._call(self._service.get, rest[0])
            return _json(200, await self._key_view(key))
        if len(rest) == 2 and method == b"POST":
            if rest[1] == "revoke":
                return await self._revoke(rest[0])
            if rest[1] == "rotate":
                return await self._rotate(rest[0])
        return None

    async def _reservations_route(
        self, method: bytes, rest: list[str], query: str
    ) -> Response | None:
        if not rest and method == b"GET":
            return await self._outstanding(query)
        if len(rest) == 2 and rest[1] == "release" and method == b"POST":
            if not await self._admission.state.release(rest[0]):
                raise ApiError(404, f"No outstanding reservation {rest[0]!r}.")
            return _json(200, {"id": rest[0], "released": True})
        return None

    def _authorize(self, authorization: bytes | None) -> None:
        if self._digest is None:
            raise ApiError(
                403,
                "The admin API is off: start laneway with the admin key in $LANEWAY_ADMIN_KEY "
                "(or the variable keys.admin_key_env names).",
                code="admin_api_disabled",
            )
        if authorization is None or authorization[:7].lower() != b"bearer ":
            raise missing_api_key()
        presented = hashlib.sha256(authorization[7:].strip()).digest()
        if not hmac.compare_digest(presented, self._digest):
            raise incorrect_api_key(". The admin API needs the admin key.")

    async def _call(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(operation, *args, **kwargs)
        except KeyFieldError as error:
            raise invalid_request(str(error), param=error.field) from None
        except VirtualKeyError as error:  # each declares the status it answers with
            kind = "server_error" if error.status >= 500 else "invalid_request_error"
            raise ApiError(error.status, str(error), type=kind, code=error.code) from None

    async def _list_keys(self) -> Response:
        keys: list[VirtualKey] = await self._call(self._service.list)
        data = [await self._key_view(key) for key in keys]
        return _json(200, {"object": "list", "data": data})

    async def _create(self, body: bytes) -> Response:
        fields = _object(body)
        unknown = set(fields) - _CREATE_FIELDS
        if unknown:
            first = sorted(unknown)[0]
            raise invalid_request(f"Unknown parameter: '{first}'.", param=first)
        name = fields.get("name")
        if not isinstance(name, str):
            raise invalid_request("'name' is required: a string.", param="name")
        try:
            budgets = parse_budgets(
                [_text(item, "budgets") for item in _list(fields, "budgets")], "budgets"
            )
            rpm = _count(fields, "rpm")
            tpm = _count(fields, "tpm")
            lanes = _names(fields, "lanes")
            models = _names(fields, "models")
            expires = fields.get("expires")
            expires_in = parse_span(_text(expires, "expires"), "expires") if expires else None
            passthrough = _flag(fields, "passthrough")
        except KeyFieldError as error:
            raise invalid_request(str(error), param=error.field) from None
        key, secret = await self._call(
            self._service.create,
            name,
            budgets=budgets,
            rpm=rpm,
            tpm=tpm,
            lanes=lanes,
            models=models,
            expires_in_s=expires_in,
            passthrough=passthrough,
        )
        self._registry.update(key)
        view = await self._key_view(key)
        return _json(201, {**view, "key": secret})

    async def _update(self, ref: str, body: bytes) -> VirtualKey:
        fields = _object(body)
        unknown = sorted(set(fields) - {"passthrough"})
        if unknown or "passthrough" not in fields:
            param = unknown[0] if unknown else "passthrough"
            raise invalid_request(
                "A key's change is {passthrough: true|false}; other limits are set at creation.",
                param=param,
            )
        try:
            granted = _flag(fields, "passthrough")
        except KeyFieldError as error:
            raise invalid_request(str(error), param=error.field) from None
        key: VirtualKey = await self._call(self._service.set_passthrough, ref, granted)
        self._registry.update(key)
        return key

    async def _revoke(self, ref: str) -> Response:
        # Idempotent: the key ends revoked either way (200); the flag says whether this call did it.
        key, already = await self._call(self._service.revoke, ref)
        self._registry.update(key)
        return _json(200, {**await self._key_view(key), "already_revoked": already})

    async def _rotate(self, ref: str) -> Response:
        key, secret = await self._call(self._service.rotate, ref)
        self._registry.update(key)
        view = await self._key_view(key)
        return _json(200, {**view, "key": secret})

    async def _key_view(self, key: VirtualKey) -> dict[str, Any]:
        view = key.public(self._clock.time())
        charges = self._admission.key_charges(key)
        spends = await self._admission.state.spend(charges, self._clock.time())
        view["spend"] = [
            _spend_view(charge, spend.settled_nano, spend.reserved_nano)
            for charge, spend in zip(charges, spends, strict=True)
        ]
        return view

    async def _budgets(self) -> list[dict[str, Any]]:
        charges = self._admission.shared_charges()
        spends = await self._admission.state.spend(charges, self._clock.time())
        return [
            _spend_view(charge, spend.settled_nano, spend.reserved_nano)
            for charge, spend in zip(charges, spends, strict=True)
        ]

    async def _outstanding(self, query: str) -> Response:
        try:
            older_than_s = float(parse_qs(query).get("older_than_s", ["0"])[0])
        except ValueError:
            raise invalid_request("older_than_s must be a number", param="older_than_s") from None
        found = await self._admission.state.outstanding(self._clock.time() - older_than_s)
        data = [
            {
                "id": item.reservation_id,
                "amount_usd": usd_str(usd_of_nano(item.amount_nano)),
                "created_at": item.created_at,
                "budgets": list(item.budgets),
                "owner": item.owner,  # Redis: the replica whose lease covers it
            }
            for item in found
        ]
        return _json(200, {"object": "list", "data": data})


def _spend_view(charge: BudgetCharge, settled: int, reserved: int) -> dict[str, Any]:
    soft = charge.soft_nano
    return {
        "budget": charge.id,
        "window": charge.window,
        "limit_usd": usd_str(usd_of_nano(charge.limit_nano)),
        "spent_usd": usd_str(usd_of_nano(settled)),
        "reserved_usd": usd_str(usd_of_nano(reserved)),
        "soft_threshold_usd": usd_str(usd_of_nano(soft)) if soft is not None else None,
        "soft_reached": soft is not None and settled >= soft,
        "used_share": str(
            (Decimal(settled) / Decimal(charge.limit_nano)).quantize(Decimal("0.0001"))
        ),
    }


def _json(status: int, body: object) -> Response:
    return Response(status, orjson.dumps(body))


def _object(body: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise invalid_request("The body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise invalid_request("The body must be a JSON object.")
    return parsed


def _list(fields: dict[str, Any], name: str) -> list[Any]:
    value = fields.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise KeyFieldError(name, "must be a list of strings")
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise KeyFieldError(name, "must hold strings")
    return value


def _count(fields: dict[str, Any], name: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return parse_count(value, name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise KeyFieldError(name, "must be a whole number above zero, or text such as 2M")
    return value


def _names(fields: dict[str, Any], name: str) -> tuple[str, ...]:
    value = fields.get(name)
    if value is None:
        return ()
    if isinstance(value, str):
        return parse_names(value, name)
    return tuple(_text(item, name) for item in _list(fields, name))


def _flag(fields: dict[str, Any], name: str) -> bool:
    value = fields.get(name, False)
    if not isinstance(value, bool):
        raise KeyFieldError(name, "must be true or false")
    return value
