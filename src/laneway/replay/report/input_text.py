"""A workload line's request as people read it: its instructions and messages, one a paragraph,
each headed by its role ("user: ..."), text parts only (an image or a file is named, not shown).
Both APIs: Chat Completions' `messages`, and Responses' `instructions` and `input` (a string or
a list of items)."""

from __future__ import annotations

from typing import Any

from laneway.wire.batch_lines import BatchLine


def input_text(line: BatchLine) -> str:
    body = line.body
    parts: list[str] = []
    if line.endpoint == "chat":
        messages = body.get("messages")
        parts += _items(messages if isinstance(messages, list) else [])
    else:
        instructions = body.get("instructions")
        if isinstance(instructions, str) and instructions:
            parts.append(f"instructions: {instructions}")
        given = body.get("input")
        if isinstance(given, str):
            parts.append(f"user: {given}")
        elif isinstance(given, list):
            parts += _items(given)
    return "\n\n".join(parts)


def cut(text: str, limit: int) -> tuple[str, int]:
    """`text` up to `limit` characters, and how many were cut."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def _items(items: list[Any]) -> list[str]:
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        role = item.get("role") or item.get("type") or "item"
        text = _content(item.get("content"))
        if text is None and item.get("type") == "function_call_output":
            text = str(item.get("output", ""))
        found.append(f"{role}: {text if text is not None else '(no text)'}")
    return found


def _content(content: object) -> str | None:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if isinstance(part, dict):
            text = part.get("text")
            texts.append(text if isinstance(text, str) else f"[{part.get('type', 'part')}]")
    return "\n".join(texts)
