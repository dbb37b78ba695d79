"""The few request fields the gateway reads, and the body it forwards.

The body is parsed once (orjson) to read model, stream and the reasoning effort; it is forwarded
as the client's bytes unless laneway must change something (another model on fallback, or
`stream_options.include_usage` on a Chat stream), and only then serialised again. An output cap
laneway sets (a budgeted request that set none) is spliced into the bytes on its own: the rest
of the body stays byte for byte as the client wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

import orjson

from laneway.wire.depth import check_depth
from laneway.wire.errors import ApiError, invalid_json, invalid_type, missing_parameter

Endpoint = Literal["responses", "chat", "embeddings"]


@dataclass(slots=True)
class ApiRequest:
    endpoint: Endpoint
    body: dict[str, Any]
    raw: bytes
    model: str
    stream: bool
    effort: str | None
    previous_response_id: str | None
    client_wants_usage: bool  # Chat streams: the client asked for the usage chunk itself
    # The caller's W3C `traceparent` header as it came, read only when an observer wants it
    # (tracing continues the caller's trace); None otherwise.
    traceparent: bytes | None = None

    def upstream_body(
        self, model: str, effort: str | None = None, output_cap: int | None = None
    ) -> bytes:
        """The body for an attempt on `model` (at `effort`, None: as the client sent it; with
        laneway's `output_cap`, None: none): the client's bytes when nothing changes."""
        force_usage = self.endpoint == "chat" and self.stream and not self.client_wants_usage
        new_effort = effort is not None and effort != self.effort
        if model == self.model and not force_usage and not new_effort:
            if output_cap is None:
                return self.raw
            field = OUTPUT_CAP_FIELD[self.endpoint]
            # A field present as null (or Chat's max_tokens as null) is replaced, not spliced:
            # a key twice in one object is read differently by different parsers.
            chat = self.endpoint == "chat"
            if field not in self.body and not (chat and "max_tokens" in self.body):
                return insert_field(self.raw, field, output_cap)
        body = dict(self.body)
        body["model"] = model
        if output_cap is not None:
            if self.endpoint == "chat":
                body.pop("max_tokens", None)  # null, or the cap would have been the client's
            body[OUTPUT_CAP_FIELD[self.endpoint]] = output_cap
        if force_usage:
            options = body.get("stream_options")
            options = dict(options) if isinstance(options, dict) else {}
            options["include_usage"] = True
            body["stream_options"] = options
        if new_effort:
            _set_effort(self.endpoint, body, effort)
        return orjson.dumps(body)

    def for_shadow(self, model: str, effort: str | None) -> ApiRequest:
        """The same request for a shadow model, as a whole answer (never streamed): nobody reads
        it as it comes, and a whole body is the simplest thing to settle."""
        body = dict(self.body)
        body["model"] = model
        body.pop("stream", None)
        body.pop("stream_options", None)
        if effort is not None and effort != self.effort:
            _set_effort(self.endpoint, body, effort)
        else:
            effort = self.effort
        return replace(
            self, body=body, raw=orjson.dumps(body), model=model, stream=False, effort=effort
        )


# Where laneway's output cap goes (Chat's max_tokens is deprecated and refused by reasoning
# models; max_completion_tokens is taken by all).
OUTPUT_CAP_FIELD: dict[Endpoint, str] = {
    "responses": "max_output_tokens",
    "chat": "max_completion_tokens",
}
_QUOTE = ord('"')  # an object's first member begins with one: the common, non-empty case
_EMPTY_REST = re.compile(rb"[ \t\n\r]*\}")


def insert_field(raw: bytes, name: str, value: int) -> bytes:
    """The JSON object `raw` with `"name": value` first among its members; every other byte
    as it was. `raw` must be a JSON object (read_request has parsed it) without `name`."""
    # Only whitespace may come before an object's `{`, and a string's `{` comes after it.
    after = raw.index(b"{") + 1
    member = f'"{name}":{value},'.encode()
    if raw[after] != _QUOTE and _EMPTY_REST.match(raw, after) is not None:
        member = member[:-1]  # the object was empty: no member follows
    return raw[:after] + member + raw[after:]


def _set_effort(endpoint: Endpoint, body: dict[str, Any], effort: str | None) -> None:
    if endpoint == "chat":
        body["reasoning_effort"] = effort
        return
    reasoning = body.get("reasoning")
    reasoning = dict(reasoning) if isinstance(reasoning, dict) else {}
    reasoning["effort"] = effort
    body["reasoning"] = reasoning


def read_request(endpoint: Endpoint, raw: bytes) -> ApiRequest:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid_json() from None
    if not isinstance(body, dict):
        raise ApiError(
            400, "Invalid request body: expected a JSON object, but got something else instead."
        )
    check_depth(raw, body)  # what laneway cannot write again, it does not take in
    model = body.get("model")
    if model is None:
        raise missing_parameter("model")
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    if endpoint == "embeddings":  # no stream, effort or conversation: only the model routes
        return ApiRequest(endpoint, body, raw, model, False, None, None, False)
    stream = body.get("stream") is True
    previous = body.get("previous_response_id") if endpoint == "responses" else None
    wants_usage = False
    if endpoint == "chat":
        effort = body.get("reasoning_effort")
        options = body.get("stream_options")
        wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    else:
        reasoning = body.get("reasoning")
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    return ApiRequest(
        endpoint=endpoint,
        body=body,
        raw=raw,
        model=model,
        stream=stream,
        effort=effort if isinstance(effort, str) else None,
        previous_response_id=previous if isinstance(previous, str) else None,
        client_wants_usage=wants_usage,
    )
