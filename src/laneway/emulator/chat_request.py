"""A Chat Completions request, validated as OpenAI validates it, and its messages rendered.

The rendering lives in `laneway.wire.prompt`, shared with the gateway's exact input count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from laneway.emulator import validation as v
from laneway.emulator.generation import FunctionTool
from laneway.pricing.model_spec import REASONING_EFFORTS
from laneway.wire.errors import ApiError, invalid_type, invalid_value, missing_parameter
from laneway.wire.prompt import render_chat

KNOWN_FIELDS = frozenset(
    [
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "messages",
        "metadata",
        "modalities",
        "model",
        "moderation",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    ]
)
MAX_N = 128


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class ChatRequest:
    body: Mapping[str, Any]
    model: str
    stream: bool
    include_usage: bool
    effort: str | None
    max_completion_tokens: int | None
    n: int
    prompt_cache_key: str | None
    service_tier: str | None
    json_schema: Mapping[str, Any] | None
    json_object: bool
    functions: tuple[FunctionTool, ...]
    chosen_tool: str | None
    rendered: str
    last_user_text: str
    answering_tool_output: bool


def _response_format(body: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, bool]:
    fmt = v.obj(body, "response_format")
    if fmt is None:
        return None, False
    kind = fmt.get("type")
    if kind == "json_schema":
        spec = v.obj(fmt, "json_schema", param="response_format.json_schema")
        if spec is None:
            raise missing_parameter("response_format.json_schema")
        if not isinstance(spec.get("name"), str):
            raise missing_parameter("response_format.json_schema.name")
        schema = v.obj(spec, "schema", param="response_format.json_schema.schema")
        return schema or {"type": "object"}, False
    if kind == "json_object":
        return None, True
    if kind == "text":
        return None, False
    raise invalid_value(
        "response_format.type",
        f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
    )


def _functions(body: Mapping[str, Any]) -> tuple[FunctionTool, ...]:
    functions = []
    for i, tool in enumerate(v.array(body, "tools") or []):
        if not isinstance(tool, dict):
            raise invalid_type(f"tools[{i}]", "an object", tool)
        if tool.get("type") == "custom":
            continue
        if tool.get("type") != "function":
            raise invalid_value(f"tools[{i}].type", f"Invalid value: '{tool.get('type')}'.")
        spec = v.obj(tool, "function", param=f"tools[{i}].function")
        if spec is None:
            raise missing_parameter(f"tools[{i}].function")
        name = v.required_string(spec, "name", param=f"tools[{i}].function.name")
        parameters = v.obj(spec, "parameters", param=f"tools[{i}].function.parameters")
        functions.append(FunctionTool(name, parameters or {"type": "object"}))
    return tuple(functions)


def _tool_choice(value: Any) -> str | None:
    if value is None or value in ("auto", "none", "required"):
        return value  # type: ignore[no-any-return]
    if isinstance(value, dict) and value.get("type") == "function":
        function = value.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return function["name"]  # type: ignore[no-any-return]
    raise invalid_value("tool_choice", f"Invalid value for 'tool_choice': {value!r}.")


def parse_chat_request(body: Mapping[str, Any]) -> ChatRequest:
    v.reject_unknown(body, KNOWN_FIELDS)
    model = v.required_string(body, "model")
    if "metadata" in body:
        v.metadata(body)
    messages = v.array(body, "messages")
    if messages is None:
        raise missing_parameter("messages")
    if not messages:
        raise ApiError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got "
            "an empty array instead.",
            param="messages",
            code="empty_array",
        )
    rendered, last_user, tool_output = render_chat(messages)
    n = v.integer(body, "n", minimum=1) or 1
    if n > MAX_N:
        raise invalid_value("n", f"Invalid 'n': expected a value <= {MAX_N}, but got {n}.")
    stream = v.boolean(body, "stream", False)
    stream_options = v.obj(body, "stream_options")
    if stream_options is not None and not stream:
        raise invalid_value(
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        )
    schema, json_object = _response_format(body) if "response_format" in body else (None, False)
    max_tokens = v.integer(body, "max_completion_tokens", minimum=1)
    if max_tokens is None and "max_tokens" in body:
        max_tokens = v.integer(body, "max_tokens", minimum=1)
    return ChatRequest(
        body=body,
        model=model,
        stream=stream,
        include_usage=v.boolean(
            stream_options or {}, "include_usage", False, param="stream_options.include_usage"
        ),
        effort=v.one_of(v.string(body, "reasoning_effort"), REASONING_EFFORTS, "reasoning_effort"),
        max_completion_tokens=max_tokens,
        n=n,
        prompt_cache_key=v.string(body, "prompt_cache_key"),
        service_tier=v.one_of(v.string(body, "service_tier"), v.SERVICE_TIERS, "service_tier"),
        json_schema=schema,
        json_object=json_object,
        functions=_functions(body) if "tools" in body else (),
        chosen_tool=_tool_choice(body.get("tool_choice")),
        rendered=rendered,
        last_user_text=last_user,
        answering_tool_output=tool_output,
    )
