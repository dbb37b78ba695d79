"""A Responses API request, validated as OpenAI validates it, and its conversation rendered.

The rendering (plain "role: content" blocks, counted as the input) lives in `laneway.wire.prompt`
so that the gateway counts exactly the text the emulator counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from laneway.emulator import validation as v
from laneway.emulator.generation import FunctionTool
from laneway.pricing.model_spec import REASONING_EFFORTS
from laneway.wire.errors import invalid_type, invalid_value, missing_parameter
from laneway.wire.prompt import render_responses_input

KNOWN_FIELDS = frozenset(
    [
        "background",
        "context_management",
        "conversation",
        "include",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "model",
        "moderation",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    ]
)
_PLAIN_TEXT: Mapping[str, Any] = {"type": "text"}

# Hosted tools and the catalog capability each needs.
HOSTED_TOOL_CAPABILITY = {
    "web_search": "web_search",
    "web_search_preview": "web_search",
    "file_search": "file_search",
    "code_interpreter": "code_interpreter",
    "image_generation": "image_generation",
    "computer_use_preview": "computer_use",
    "computer": "computer_use",
    "mcp": "mcp",
    "tool_search": "tool_search",
    "shell": "hosted_shell",
    "local_shell": "hosted_shell",
    "apply_patch": "apply_patch",
}


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class ResponsesRequest:
    body: Mapping[str, Any]
    model: str
    stream: bool
    store: bool
    background: bool
    effort: str | None
    summary: str | None
    max_output_tokens: int | None
    instructions: str | None
    previous_response_id: str | None
    prompt_cache_key: str | None
    service_tier: str | None
    metadata: dict[str, str] | None
    text_format: Mapping[str, Any]
    json_schema: Mapping[str, Any] | None
    json_object: bool
    tools: list[Any]
    functions: tuple[FunctionTool, ...]
    hosted_tools: tuple[str, ...]
    tool_choice: Any
    chosen_tool: str | None
    parallel_tool_calls: bool
    temperature: float | None
    top_p: float | None
    include_obfuscation: bool
    rendered_input: str
    last_user_text: str
    answering_tool_output: bool


def _text_format(body: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
    text = v.obj(body, "text") or {}
    fmt = v.obj(text, "format", param="text.format") or {"type": "text"}
    kind = fmt.get("type")
    if kind == "json_schema":
        if not isinstance(fmt.get("name"), str):
            raise missing_parameter("text.format.name")
        schema = v.obj(fmt, "schema", param="text.format.schema")
        if schema is None:
            raise missing_parameter("text.format.schema")
        return fmt, schema
    if kind not in ("text", "json_object"):
        raise invalid_value(
            "text.format.type",
            f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and "
            "'json_schema'.",
        )
    return fmt, None


def _tools(body: Mapping[str, Any]) -> tuple[list[Any], tuple[FunctionTool, ...], tuple[str, ...]]:
    tools = v.array(body, "tools") or []
    functions: list[FunctionTool] = []
    hosted: list[str] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid_type(f"tools[{i}]", "an object", tool)
        kind = tool.get("type")
        if kind == "function":
            name = v.required_string(tool, "name", param=f"tools[{i}].name")
            parameters = v.obj(tool, "parameters", param=f"tools[{i}].parameters")
            functions.append(FunctionTool(name, parameters or {"type": "object"}))
        elif isinstance(kind, str) and kind in HOSTED_TOOL_CAPABILITY:
            hosted.append(kind)
        elif kind == "custom":
            continue
        else:
            raise invalid_value(f"tools[{i}].type", f"Invalid value: '{kind}'.")
    return tools, tuple(functions), tuple(hosted)


def _tool_choice(value: Any) -> str | None:
    if value is None or value in ("auto", "none", "required"):
        return value  # type: ignore[no-any-return]
    if isinstance(value, dict) and value.get("type") == "function":
        name = value.get("name")
        if isinstance(name, str):
            return name
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return "auto"  # a hosted or allowed-tools choice: no function to force
    raise invalid_value("tool_choice", f"Invalid value for 'tool_choice': {value!r}.")


def parse_responses_request(body: Mapping[str, Any]) -> ResponsesRequest:
    v.reject_unknown(body, KNOWN_FIELDS)
    model = v.required_string(body, "model")
    if "input" not in body and "previous_response_id" not in body:
        raise missing_parameter("input")
    reasoning = v.obj(body, "reasoning") or {}
    effort = v.one_of(
        v.string(reasoning, "effort", param="reasoning.effort"),
        REASONING_EFFORTS,
        "reasoning.effort",
    )
    summary = v.string(reasoning, "summary", param="reasoning.summary")
    # Optional parts are validated only when present: the same checks, far fewer calls.
    fmt, schema = _text_format(body) if "text" in body else (_PLAIN_TEXT, None)
    tools, functions, hosted = _tools(body) if "tools" in body else ([], (), ())
    stream_options = v.obj(body, "stream_options") or {}
    rendered, last_user, tool_output = render_responses_input(body.get("input", []))
    return ResponsesRequest(
        body=body,
        model=model,
        stream=v.boolean(body, "stream", False),
        store=v.boolean(body, "store", True),
        background=v.boolean(body, "background", False),
        effort=effort,
        summary=summary,
        max_output_tokens=v.integer(body, "max_output_tokens", minimum=16),
        instructions=v.string(body, "instructions"),
        previous_response_id=v.string(body, "previous_response_id"),
        prompt_cache_key=v.string(body, "prompt_cache_key"),
        service_tier=v.one_of(v.string(body, "service_tier"), v.SERVICE_TIERS, "service_tier"),
        metadata=v.metadata(body) if "metadata" in body else None,
        text_format=fmt,
        json_schema=schema,
        json_object=fmt.get("type") == "json_object",
        tools=tools,
        functions=functions,
        hosted_tools=hosted,
        tool_choice=body.get("tool_choice", "auto"),
        chosen_tool=_tool_choice(body.get("tool_choice")),
        parallel_tool_calls=v.boolean(body, "parallel_tool_calls", True),
        temperature=v.number(body, "temperature", low=0, high=2) if "temperature" in body else None,
        top_p=v.number(body, "top_p", low=0, high=1) if "top_p" in body else None,
        include_obfuscation=v.boolean(
            stream_options, "include_obfuscation", True, param="stream_options.include_obfuscation"
        ),
        rendered_input=rendered,
        last_user_text=last_user,
        answering_tool_output=tool_output,
    )
