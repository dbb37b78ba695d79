"""The few request fields the gateway reads, and the body it forwards.

The body is parsed once (orjson) to read model, stream and the reasoning effort; it is forwarded
as the client's bytes unless laneway must change something (another model on fallback, or
`stream_options.include_usage` on a Chat stream), and only then serialised again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from laneway.wire.errors import ApiError, invalid_json, invalid_type, missing_parameter

Endpoint = Literal["responses", "chat"]


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

    def upstream_body(self, model: str) -> bytes:
        """The body for an attempt on `model`: the client's bytes when nothing changes."""
        force_usage = self.endpoint == "chat" and self.stream and not self.client_wants_usage
        if model == self.model and not force_usage:
            return self.raw
        body = dict(self.body)
        body["model"] = model
        if force_usage:
            options = body.get("stream_options")
            options = dict(options) if isinstance(options, dict) else {}
            options["include_usage"] = True
            body["stream_options"] = options
        return orjson.dumps(body)


def read_request(endpoint: Endpoint, raw: bytes) -> ApiRequest:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid_json() from None
    if not isinstance(body, dict):
        raise ApiError(
            400, "Invalid request body: expected a JSON object, but got something else instead."
        )
    model = body.get("model")
    if model is None:
        raise missing_parameter("model")
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
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
