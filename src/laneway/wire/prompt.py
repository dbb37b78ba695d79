"""A request's prompt as plain text: the text whose o200k_base tokens are its input count.

The emulator renders a conversation as "role: content" blocks and reports their token count as
`input_tokens`; the gateway counts the same text when routing needs an exact figure. Both use
these functions so the two numbers cannot drift apart.

`strict=True` (the emulator) refuses what OpenAI refuses, with OpenAI's messages, and is the
reference rendering. `strict=False` (the gateway) never raises: the gateway forwards what it does
not understand (a content part type newer than laneway, say), so unreadable parts are rendered
as "[type]" or left out. On a body OpenAI would accept, both modes give the same text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson

from laneway.wire.errors import ApiError, invalid_type, invalid_value, missing_parameter

# (rendered text, the last user message's text, whether it ends with a tool's output)
Rendered = tuple[str, str, bool]

_CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_CHAT_TEXT_PARTS = ("text", "refusal")
_CHAT_OTHER_PARTS = ("image_url", "input_audio", "file")
_RESPONSES_ROLES = ("user", "assistant", "system", "developer")
_RESPONSES_TEXT_PARTS = ("input_text", "output_text", "text", "refusal")
_RESPONSES_OTHER_PARTS = ("input_image", "input_file", "input_audio")


def content_text(
    content: Any,
    param: str,
    *,
    text_parts: Collection[str],
    other_parts: Collection[str],
    strict: bool = True,
) -> str:
    """A message's text: a string, or the text parts of a content list joined by newlines.

    Parts the emulator cannot read (images, audio, files) stand in as "[kind]"."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        if strict:
            raise invalid_type(param, "a string or an array", content)
        return ""
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict):
            if strict:
                raise invalid_type(f"{param}[{i}]", "an object", part)
            continue
        kind = part.get("type")
        if kind in text_parts:
            text = part.get("text", part.get("refusal"))
            if not isinstance(text, str):
                if strict:
                    raise invalid_type(f"{param}[{i}].text", "a string", text)
                continue
            texts.append(text)
        elif kind in other_parts:
            texts.append(f"[{kind}]")
        elif strict:
            raise invalid_value(f"{param}[{i}].type", f"Invalid value: '{kind}'.")
        elif isinstance(kind, str):
            texts.append(f"[{kind}]")  # a part newer than laneway: a stand-in, as for images
    return "\n".join(texts)


# -- Chat Completions ---------------------------------------------------------------------------


def render_chat(messages: list[Any], *, strict: bool = True) -> Rendered:
    """Chat `messages` as prompt text. Tool definitions are not part of it (the emulator's rule)."""
    blocks: list[str] = []
    last_user = ""
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            if strict:
                raise invalid_type(f"messages[{i}]", "an object", message)
            continue
        role = message.get("role")
        if role not in _CHAT_ROLES:
            if strict:
                raise _chat_role_error(role, i)
            if not isinstance(role, str):
                continue  # nothing to label it with; OpenAI would refuse it anyway
        content = message.get("content")
        if isinstance(content, str):  # the common case, without the general reader's checks
            text = content
        else:
            if strict and "content" not in message and role != "assistant":
                raise missing_parameter(f"messages[{i}].content")
            text = content_text(
                content,
                f"messages[{i}].content",
                text_parts=_CHAT_TEXT_PARTS,
                other_parts=_CHAT_OTHER_PARTS,
                strict=strict,
            )
        if role == "user":
            last_user = text
        calls = message.get("tool_calls")
        if calls:
            text += _calls_text(calls, f"messages[{i}].tool_calls", strict)
        blocks.append(f"{role}: {text}\n\n")
    last = messages[-1] if messages else None
    ends_with_tool = isinstance(last, dict) and last.get("role") in ("tool", "function")
    return "".join(blocks), last_user, ends_with_tool


def _chat_role_error(role: Any, i: int) -> ApiError:
    if role is None:
        return missing_parameter(f"messages[{i}].role")
    return invalid_value(
        f"messages[{i}].role",
        f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
        "'function', 'tool', and 'developer'.",
    )


def _calls_text(calls: Any, param: str, strict: bool) -> str:
    if not isinstance(calls, list):
        if strict:
            raise invalid_type(param, "an array", calls)
        return ""
    if strict:
        for j, call in enumerate(calls):
            if not isinstance(call, dict):
                raise invalid_type(f"{param}[{j}]", "an object", call)
        return "".join(f" called {orjson.dumps(call).decode()}" for call in calls)
    # Only objects: a list of bare numbers would render to more tokens than it has bytes.
    return "".join(
        f" called {orjson.dumps(call).decode()}" for call in calls if isinstance(call, dict)
    )


# -- Responses --------------------------------------------------------------------------------


def _responses_message(item: Mapping[str, Any], param: str, strict: bool) -> tuple[str, str | None]:
    role = item.get("role")
    if not strict and not isinstance(role, str):
        return "", None  # nothing to label it with; OpenAI would refuse it anyway
    if role is None:
        raise missing_parameter(f"{param}.role")
    if strict and role not in _RESPONSES_ROLES:
        raise invalid_value(
            f"{param}.role",
            f"Invalid value: '{role}'. Supported values are: 'user', 'assistant', 'system', "
            "and 'developer'.",
        )
    content = item.get("content")
    if isinstance(content, str):
        text = content
    else:
        if strict and "content" not in item:
            raise missing_parameter(f"{param}.content")
        if strict and content is None:  # unlike Chat, where an assistant's content may be null
            raise invalid_type(f"{param}.content", "a string or an array", content)
        text = content_text(
            content,
            f"{param}.content",
            text_parts=_RESPONSES_TEXT_PARTS,
            other_parts=_RESPONSES_OTHER_PARTS,
            strict=strict,
        )
    return f"{role}: {text}\n\n", text if role == "user" else None


def _responses_item(item: Mapping[str, Any], param: str, strict: bool) -> tuple[str, str | None]:
    """One input item as prompt text, and its text when it is the user speaking."""
    kind = item.get("type", "message")
    if kind == "message":
        return _responses_message(item, param, strict)
    if kind == "function_call":
        return f"assistant called {item.get('name')}({item.get('arguments')})\n\n", None
    if kind == "function_call_output":
        output = item.get("output")
        text = output if isinstance(output, str) else orjson.dumps(output).decode()
        return f"tool: {text}\n\n", None
    if kind in ("reasoning", "item_reference") or not (strict or isinstance(kind, str)):
        return "", None  # carries no text the model re-reads here (or, lenient, no readable type)
    return f"{kind}: {orjson.dumps(item).decode()}\n\n", None


def render_responses_input(items: Any, *, strict: bool = True) -> Rendered:
    """Responses `input` (a string or an item list) as prompt text."""
    if isinstance(items, str):
        return f"user: {items}\n\n", items, False
    if not isinstance(items, list):
        if strict:
            raise invalid_type("input", "a string or an array", items)
        return "", "", False
    blocks: list[str] = []
    last_user = ""
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            if strict:
                raise invalid_type(f"input[{i}]", "an object", item)
            continue
        block, user_text = _responses_item(item, f"input[{i}]", strict)
        blocks.append(block)
        if user_text is not None:
            last_user = user_text
    last = items[-1] if items else None
    ends_with_tool_output = isinstance(last, dict) and last.get("type") == "function_call_output"
    return "".join(blocks), last_user, ends_with_tool_output


def responses_prompt(
    instructions: str | None, history: str, rendered_input: str, tools: Sequence[Any]
) -> str:
    """The whole Responses prompt: instructions, the stored conversation it continues (the
    emulator's; empty elsewhere), this request's input, then its tools as JSON."""
    return "".join(
        [
            f"system: {instructions}\n\n" if instructions else "",
            history,
            rendered_input,
            orjson.dumps(tools).decode() if tools else "",
        ]
    )


# -- The gateway's view ---------------------------------------------------------------------------


def prompt_text(endpoint: str, body: Mapping[str, Any]) -> str:
    """The text the emulator counts as this request's input, without stored conversation
    (`previous_response_id`), which only the upstream holds. Never raises."""
    if endpoint == "chat":
        messages = body.get("messages")
        return render_chat(messages, strict=False)[0] if isinstance(messages, list) else ""
    instructions = body.get("instructions")
    tools = body.get("tools")
    return responses_prompt(
        instructions if isinstance(instructions, str) else None,
        "",
        render_responses_input(body.get("input", []), strict=False)[0],
        tools if isinstance(tools, list) else (),
    )
