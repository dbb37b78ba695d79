"""Stored responses, per caller key as OpenAI keeps them per project: what `previous_response_id`
continues, and what `GET /v1/responses/{id}`, its `input_items` and `DELETE` answer.

Each entry is a tuple of strings and bytes (the response and its input as JSON): CPython's
collector stops tracking those, so 100,000 of them cost a full collection nothing. Oldest are
forgotten first past `capacity`. Another key's response is "not found", as if it did not exist.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from laneway.wire.errors import (
    invalid_value,
    previous_response_not_found,
    response_not_found,
)

# (model, caller key id, the conversation as prompt text, the response as JSON, input as JSON)
Stored = tuple[str, str, str, bytes, bytes]

_LIMIT_DEFAULT, _LIMIT_MAX = 20, 100
_ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}
_INPUT_ROLES = ("user", "system", "developer")


class StoredResponses:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, Stored] = OrderedDict()

    def remember(self, response_id: str, stored: Stored) -> None:
        self._entries[response_id] = stored
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def replace_response(self, response_id: str, response: bytes) -> None:
        """A background response's object as it now stands (completed, cancelled)."""
        entry = self._entries.get(response_id)
        if entry is not None:
            self._entries[response_id] = (*entry[:3], response, entry[4])

    def conversation(self, key_id: str, response_id: str) -> str:
        """What a follow-up continues; another key's response is not found (400)."""
        stored = self._entries.get(response_id)
        if stored is None or stored[1] != key_id:
            raise previous_response_not_found(response_id)
        return stored[2]

    def response(self, key_id: str, response_id: str) -> bytes:
        return self._entry(key_id, response_id)[3]

    def delete(self, key_id: str, response_id: str) -> dict[str, Any]:
        self._entry(key_id, response_id)
        del self._entries[response_id]
        return {"id": response_id, "object": "response", "deleted": True}

    def input_items(
        self, key_id: str, response_id: str, params: Mapping[str, Sequence[str]]
    ) -> dict[str, Any]:
        """A page of the response's input items, as `GET .../input_items` lists them."""
        limit, order, after = _page_params(params)
        items = input_items_of(response_id, orjson.loads(self._entry(key_id, response_id)[4]))
        if order == "desc":
            items.reverse()
        if after is not None:
            ids = [item["id"] for item in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        page = items[:limit]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }

    def _entry(self, key_id: str, response_id: str) -> Stored:
        stored = self._entries.get(response_id)
        if stored is None or stored[1] != key_id:
            raise response_not_found(response_id)
        return stored


def input_items_of(response_id: str, given: Any) -> list[dict[str, Any]]:
    """A request's `input` as stored items: each with an id (stable: derived from the response's
    id and the item's place) and the fields the API's item types carry."""
    if isinstance(given, str):
        given = [{"role": "user", "content": given}]
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(given if isinstance(given, list) else []):
        if not isinstance(raw, dict):
            continue
        item = dict(raw)
        kind = item.setdefault("type", "message")
        prefix = _ID_PREFIXES.get(kind, "item")
        item.setdefault("id", f"{prefix}_{response_id.removeprefix('resp_')}{index:04x}")
        if kind in ("message", "function_call", "function_call_output"):
            item.setdefault("status", "completed")
        if kind == "message" and isinstance(item.get("content"), str):
            item["content"] = [_text_part(item.get("role"), item["content"])]
        items.append(item)
    return items


def _text_part(role: Any, text: str) -> dict[str, Any]:
    if role in _INPUT_ROLES:
        return {"type": "input_text", "text": text}
    return {"type": "output_text", "text": text, "annotations": []}


def _page_params(params: Mapping[str, Sequence[str]]) -> tuple[int, str, str | None]:
    limit = _LIMIT_DEFAULT
    raw_limit = params.get("limit")
    if raw_limit:
        text = raw_limit[-1]
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= _LIMIT_MAX:
            raise invalid_value(
                "limit",
                f"Invalid 'limit': expected an integer between 1 and {_LIMIT_MAX}, "
                f"but got {text!r} instead.",
            )
        limit = int(text)
    order = (params.get("order") or ["desc"])[-1]
    if order not in ("asc", "desc"):
        raise invalid_value(
            "order", f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'."
        )
    after = params.get("after")
    return limit, order, after[-1] if after else None
