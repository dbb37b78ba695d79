"""Relay an upstream SSE stream as it arrives while reading its usage, model, id and end.

    tap = StreamTap("responses")
    async for chunk in upstream:
        await send(tap.feed(chunk))        # whole events only, byte-exact
    await send(tap.close())                # at a clean end of the body
    record(tap.usage, tap.completed)

Per chunk: a boundary check at its end, one split into events, then a prefix check per event
(Responses: the `event:` line; Chat: `[DONE]` or `{"error"`) and, for Chat, one search for a
non-null usage. Only events that carry a fact are parsed (Responses: response.created, the
terminal events, `error`; Chat: the first chunk, usage chunks, errors). Lines may end in LF or
CRLF; a lone CR (legal SSE, unused by OpenAI) is not supported: such a stream is held until
`close()`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import orjson

from laneway.errors import UsageError
from laneway.usage import Usage
from laneway.wire.errors import ApiError
from laneway.wire.usage import usage_from_chat, usage_from_responses

Endpoint = Literal["responses", "chat"]

_BOUNDARIES = (b"\n\n", b"\n\r\n")  # a line end then an empty line; covers CRLF and mixes
_BOUNDARY = re.compile(rb"\n\r?\n")
_BOUNDARY_KEPT = re.compile(rb"(\n\r?\n)")
_SEQUENCE_KEY = b'"sequence_number"'  # a raw quote cannot occur inside a JSON string value
_SEQUENCE_VALUE = re.compile(rb"\s*:\s*(\d+)")
_CHAT_USAGE = re.compile(rb'"usage"\s*:\s*\{')  # non-null usage, with or without spaces
_ERROR_KEY = b'"error"'
# Chat events other than content chunks, as OpenAI writes them: `[DONE]`, `{"error": ...}`.
# Any event with an `event:` line (not OpenAI's style) is looked at too.
_CHAT_SPECIAL = (b"data: [DONE]", b"data:[DONE]", b'data: {"error"', b'data:{"error"', b"event:")
_RESPONSE_KINDS = frozenset(
    ("response.created", "response.completed", "response.incomplete", "response.failed", "error")
)
_RESPONSE_KIND_LINES = frozenset(kind.encode() for kind in _RESPONSE_KINDS)
_RESPONSE_ENDS = (b"response.completed", b"response.incomplete", b"response.failed")


class StreamTap:
    """Reads one upstream stream; `feed()` returns what to relay now."""

    def __init__(self, endpoint: Endpoint, *, drop_usage_chunk: bool = False) -> None:
        """`drop_usage_chunk` (Chat only): the gateway forced `stream_options.include_usage`
        upstream and the client did not ask for it, so the usage-only chunk is not relayed."""
        self.endpoint: Endpoint = endpoint
        self.usage: Usage | None = None
        self.usage_error: str | None = None
        self.model: str | None = None
        self.response_id: str | None = None
        self.completed = False  # Chat `[DONE]`; Responses response.completed or .incomplete
        self.failed = False  # Responses response.failed
        self.upstream_error: dict[str, Any] | None = None
        self.events = 0  # events relayed (blank-line boundaries)
        # What was relayed, by reference: one append per chunk, no copy, held until the stream
        # ends; read only if it breaks, to count the output seen so far (`output_seen`).
        self.relayed: list[bytes] = []
        self._responses = endpoint == "responses"
        self._drop_usage = drop_usage_chunk and not self._responses
        self._created = False  # Chat: the first chunk was read
        self._last_event = b""  # Responses: its sequence_number is read only when asked for
        self._pending = bytearray()

    @property
    def ended(self) -> bool:
        """Upstream ended the stream itself (completed, failed or an error event): a gateway
        appends no error event of its own then."""
        return self.completed or self.failed or self.upstream_error is not None

    @property
    def next_sequence_number(self) -> int:
        """The `sequence_number` for an event appended after the last one relayed (Responses)."""
        at = self._last_event.rfind(_SEQUENCE_KEY)
        match = (
            _SEQUENCE_VALUE.match(self._last_event, at + len(_SEQUENCE_KEY)) if at >= 0 else None
        )
        return int(match[1]) + 1 if match is not None else 0

    def feed(self, chunk: bytes) -> bytes:
        """The complete events to relay now, as upstream sent them (b"" while none is whole)."""
        pending = self._pending
        if pending:
            start = max(len(pending) - 2, 0)  # a boundary may begin in the bytes held
            pending += chunk
            end = _boundary_end(pending, start)
            if not end:
                return b""
            region = bytes(pending[:end])
            del pending[:end]
        else:
            end = _boundary_end(chunk, 0)
            if end == len(chunk):  # the usual case: upstream flushes whole events
                region = chunk
            else:
                pending += memoryview(chunk)[end:]
                if not end:
                    return b""
                region = chunk[:end]
        self.relayed.append(region)
        events = _BOUNDARY.split(region)  # the last item is the b"" after the final boundary
        self.events += len(events) - 1
        if self._responses:
            self._responses_events(events)
            return region
        return self._chat_region(region, events)

    def close(self) -> bytes:
        """At a clean end of the upstream body: the bytes held back (an unfinished last event).

        A gateway that appends `error_event()` after a broken stream should drop these instead:
        a client would read them and the error event as one garbled event."""
        tail = bytes(self._pending)
        self._pending.clear()
        return tail

    def output_seen(self) -> str:
        """The output text relayed so far (message text, refusals, tool-call names and
        arguments, reasoning summaries), joined: for estimating what a broken stream cost. Parses
        every event: call it on that rare path only."""
        pieces: list[str] = []
        read = _responses_output if self._responses else _chat_output
        for region in self.relayed:
            for event in _BOUNDARY.split(region):
                data = _fields(event)[1] if event else None
                if data is not None and data != b"[DONE]":
                    try:
                        payload = orjson.loads(data)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(payload, dict):
                        read(payload, pieces)
        return "".join(pieces)

    def error_event(self, error: ApiError) -> bytes:
        """The error event to append to this stream, numbered after the last event relayed."""
        return error_event(self.endpoint, error, sequence_number=self.next_sequence_number)

    # -- Responses ------------------------------------------------------------------------

    def _responses_events(self, events: list[bytes]) -> None:
        last = None
        for event in events:
            if not event:
                continue  # the b"" after the last boundary
            if event.startswith(b"event:"):  # OpenAI names every event: no JSON needed to skip
                last = event
                if event[6 : event.find(b"\n")].strip() not in _RESPONSE_KIND_LINES:
                    continue
            elif b"data:" in event:  # no `event:` line first (some compatible servers)
                last = event
                if b'"response"' not in event and _ERROR_KEY not in event:
                    continue
            else:
                continue  # a comment
            self._responses_event(event)
        if last is not None:
            self._last_event = last

    def _responses_event(self, event: bytes) -> None:
        kind, data = _fields(event)
        if data is None or (kind is not None and kind not in _RESPONSE_KINDS):
            return  # e.g. response.in_progress, or a delta whose text names an event
        payload = self._json(data, any(end in data for end in _RESPONSE_ENDS))
        if payload is None:
            return
        kind = payload.get("type")
        if kind == "error":  # the live API nests the error object; the spec has it flat
            inner = payload.get("error")
            flat = {key: payload.get(key) for key in ("message", "code", "param")}
            self.upstream_error = inner if isinstance(inner, dict) else flat
            return
        response = payload.get("response")
        if kind not in _RESPONSE_KINDS or not isinstance(response, dict):
            return
        if self.model is None:
            self.model = _str(response.get("model"))
        if self.response_id is None:
            self.response_id = _str(response.get("id"))
        if kind == "response.created":
            return
        self.completed = kind != "response.failed"
        self.failed = not self.completed
        error = response.get("error")
        if self.failed and isinstance(error, dict) and self.upstream_error is None:
            self.upstream_error = error
        self._read_usage(response.get("usage"))

    # -- Chat Completions -----------------------------------------------------------------

    def _chat_region(self, region: bytes, events: list[bytes]) -> bytes:
        if self._created and _CHAT_USAGE.search(region) is None:
            for event in events:
                if event.startswith(_CHAT_SPECIAL):
                    break
            else:
                return region  # content chunks: the usual case
        dropped = []
        for index, event in enumerate(events):
            if not event or (
                self._created
                and not event.startswith(_CHAT_SPECIAL)
                and _CHAT_USAGE.search(event) is None
            ):
                continue  # a content chunk among the events worth reading
            if self._chat_event(event) and self._drop_usage:
                dropped.append(index)
        if not dropped:
            return region
        parts = _BOUNDARY_KEPT.split(region)  # event, boundary, event, ...: drop both of a pair
        for index in reversed(dropped):
            del parts[2 * index : 2 * index + 2]
        return b"".join(parts)

    def _chat_event(self, event: bytes) -> bool:
        """Reads one event; True for the usage-only chunk (`choices: []`, usage set)."""
        data = _fields(event)[1]
        if data is None:
            return False
        if data == b"[DONE]":
            self.completed = True
            return False
        carries_usage = _CHAT_USAGE.search(data) is not None
        wanted = carries_usage or not self._created or _ERROR_KEY in data
        payload = self._json(data, carries_usage) if wanted else None
        if payload is None:
            return False
        error = payload.get("error")
        if error is not None:
            self.upstream_error = error if isinstance(error, dict) else {"message": error}
        elif not self._created:
            self.model = _str(payload.get("model"))
            self.response_id = _str(payload.get("id"))
        self._created = True
        usage = payload.get("usage")
        self._read_usage(usage)
        return usage is not None and payload.get("choices") == []

    # -- shared ---------------------------------------------------------------------------

    def _json(self, data: bytes, carries_usage: bool) -> dict[str, Any] | None:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            if carries_usage:
                self.usage_error = "the event carrying usage is not valid JSON"
            return None
        return value if isinstance(value, dict) else None

    def _read_usage(self, block: object) -> None:
        if block is None:
            return
        read = usage_from_responses if self._responses else usage_from_chat
        try:
            self.usage = read(block)
        except UsageError as error:
            self.usage_error = str(error)


def error_event(endpoint: Endpoint, error: ApiError, *, sequence_number: int = 0) -> bytes:
    """The event a gateway appends when a stream breaks after bytes were sent.

    Responses: the spec's `ResponseErrorEvent` (code, message, param at the top) plus the nested
    `error` object the live API sends, which is what makes the Python SDK raise `APIError` (it
    yields the flat form as a plain event). Chat: the error body as one `data:` event.
    """
    inner = error.to_json()["error"]
    if endpoint == "chat":
        return b"data: " + orjson.dumps({"error": inner}) + b"\n\n"
    flat = {key: inner[key] for key in ("code", "message", "param")}
    payload = {"type": "error", **flat, "sequence_number": sequence_number, "error": inner}
    return b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"


# Responses events whose `delta` is output the model generated (and the provider bills).
_OUTPUT_DELTAS = frozenset(
    (
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
    )
)


def _responses_output(payload: dict[str, Any], pieces: list[str]) -> None:
    if payload.get("type") in _OUTPUT_DELTAS:
        delta = payload.get("delta")
        if isinstance(delta, str):
            pieces.append(delta)


def _chat_output(payload: dict[str, Any], pieces: list[str]) -> None:
    choices = payload.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        texts = [delta.get("content"), delta.get("refusal")]
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                texts += (function.get("name"), function.get("arguments"))
        pieces += (text for text in texts if isinstance(text, str))


def _boundary_end(buffer: bytes | bytearray, start: int) -> int:
    """Where the last complete event in `buffer` ends (0: none), searching from `start`."""
    if buffer.endswith(_BOUNDARIES):
        return len(buffer)
    lf = buffer.rfind(b"\n\n", start)
    crlf = buffer.rfind(b"\n\r\n", start)
    return max(lf + 2 if lf >= 0 else 0, crlf + 3 if crlf >= 0 else 0)


def _fields(event: bytes) -> tuple[str | None, bytes | None]:
    """An event's `event:` type and its `data:` lines joined, as an SSE client reads them."""
    kind: str | None = None
    data: list[bytes] = []
    for line in event.splitlines():
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            kind = (line[7:] if line[6:7] == b" " else line[6:]).decode("utf-8", "replace")
    if not data:
        return kind, None
    return kind, data[0] if len(data) == 1 else b"\n".join(data)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
