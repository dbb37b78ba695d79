"""Which engine call answers a request: routing, authentication and JSON bodies, HTTP-agnostic.

The HTTP layer (`http_app.py` on `laneway.http`) hands over method, path, query, headers and
body; the engine decides everything else. Errors are raised as `ApiError` for the HTTP layer
to render.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from laneway.emulator.bill import dumps as bill_dumps
from laneway.emulator.engine import Caller, Engine, Reply
from laneway.emulator.faults import FAULT_HEADER, EchoedKey
from laneway.wire.depth import check_depth
from laneway.wire.errors import ApiError, invalid_json, invalid_request
from laneway.wire.replay_headers import REPEAT_HEADER

Headers = Mapping[bytes, bytes]  # lower-cased names
_FAULT = FAULT_HEADER.encode()
_REPEAT = REPEAT_HEADER
_MAX_REPEAT_DIGITS = 9
_FILES = "/v1/files"
_RESPONSES = "/v1/responses/"
_RESOURCE_CALLS = frozenset(
    [(b"GET", ""), (b"DELETE", ""), (b"GET", "input_items"), (b"POST", "cancel")]
)


class Endpoints:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._post = {
            "/v1/responses": engine.responses,
            "/v1/chat/completions": engine.chat,
            "/v1/embeddings": engine.embeddings,
        }

    def handle(
        self,
        method: bytes,
        path: str,
        query: str,
        headers: Headers,
        body: bytes,
        request_id: str | None = None,
    ) -> Reply:
        """`request_id`: the id the answer goes out under (the bill's journal keys by it)."""
        if path == _FILES or path.startswith(_FILES + "/"):
            return self._files(method, path, headers, body)
        handler = self._post.get(path)
        if handler is not None and method == b"POST":
            caller = self._caller(headers)
            fault = headers.get(_FAULT)
            repeat = _repeat(headers.get(_REPEAT))
            try:
                return handler(
                    caller,
                    _json_object(body),
                    fault.decode("latin-1") if fault is not None else None,
                    request_id,
                    repeat,
                )
            except EchoedKey as echo:
                raise echo.quoting(headers.get(b"authorization")) from None
        if path.startswith(_RESPONSES):
            return self._stored_response(method, path, query, headers)
        if method == b"GET":
            return self._get(path, query, headers)
        raise ApiError(404, f"Invalid URL ({method.decode('latin-1')} {path})")

    def _get(self, path: str, query: str, headers: Headers) -> Reply:
        engine = self.engine
        if path == "/v1/models":
            return Reply(body=engine.list_models(self._caller(headers)))
        if path.startswith("/v1/models/"):
            name = unquote(path[len("/v1/models/") :])
            return Reply(body=engine.get_model(self._caller(headers), name))
        if path in ("/v1/organization/usage/completions", "/v1/organization/costs"):
            self._caller(headers)
            engine.background.advance()  # background responses due by now are on the bill
            params = parse_qs(query, keep_blank_values=True)
            if path.endswith("costs"):
                return Reply(body=bill_dumps(engine.bill.costs(params)))
            return Reply(body=bill_dumps(engine.bill.completions_usage(params)))
        if path == "/healthz":
            return Reply(body={"status": "ok"})
        raise ApiError(404, f"Invalid URL (GET {path})")

    def _files(self, method: bytes, path: str, headers: Headers, body: bytes) -> Reply:
        """The minimal Files API (laneway.emulator.files), for passthrough."""
        owner = self._caller(headers).key_id
        files = self.engine.files
        if path == _FILES and method == b"POST":
            kind = headers.get(b"content-type", b"").decode("latin-1")
            return Reply(body=files.upload(owner, kind, body, self.engine.clock.time()))
        if path == _FILES and method == b"GET":
            return Reply(body=files.listing(owner))
        rest = path[len(_FILES) + 1 :].split("/")
        if method == b"GET" and len(rest) == 2 and rest[1] == "content":
            content = files.content(owner, rest[0])
            return Reply(body=content, headers={"content-type": "application/octet-stream"})
        raise ApiError(404, f"Invalid URL ({method.decode('latin-1')} {path})")

    def _stored_response(self, method: bytes, path: str, query: str, headers: Headers) -> Reply:
        """`/v1/responses/{id}`: GET, DELETE; `.../input_items`: GET; `.../cancel`: POST."""
        response_id, _, action = path[len(_RESPONSES) :].partition("/")
        response_id = unquote(response_id)
        engine = self.engine
        if response_id and (method, action) in _RESOURCE_CALLS:
            caller = self._caller(headers)
            if action == "cancel":
                return engine.cancel(caller, response_id)
            if action == "input_items":
                params = parse_qs(query, keep_blank_values=True)
                return engine.input_items(caller, response_id, params)
            if method == b"DELETE":
                return engine.delete_response(caller, response_id)
            if "stream=true" in query:
                raise invalid_request(
                    "The emulator does not stream a stored response.", param="stream"
                )
            return engine.retrieve(caller, response_id)
        raise ApiError(404, f"Invalid URL ({method.decode('latin-1')} {path})")

    def _caller(self, headers: Headers) -> Caller:
        raw = headers.get(b"authorization")
        return self.engine.authenticate(raw.decode("latin-1") if raw is not None else None)


def _repeat(raw: bytes | None) -> int:
    """Which repeat of a replayed line a request is: a whole number >= 0; absent is 0."""
    if raw is None:
        return 0
    if not (raw.isdigit() and len(raw) <= _MAX_REPEAT_DIGITS):
        shown = raw[:40].decode("latin-1")
        raise invalid_request(
            f"Invalid {REPEAT_HEADER.decode()} header {shown!r}: expected a whole number >= 0 "
            f"(at most {_MAX_REPEAT_DIGITS} digits).",
            param=None,
        )
    return int(raw)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid_json() from None
    if not isinstance(body, dict):
        raise invalid_request(
            f"Invalid request body: expected a JSON object, but got {type(body).__name__} instead."
        )
    check_depth(raw, body)
    return body
