"""A sampled request as the observer hands it to the capture writer, and the stored row made of
it there (parsed, its answer read, redacted), off the request's path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from laneway.capture.redaction import Redactor
from laneway.ids import new_id
from laneway.ledger.captures import CaptureRow
from laneway.wire.answers import AnswerView, answer_of
from laneway.wire.request import Endpoint
from laneway.wire.stream_answer import stream_answer


@dataclass(frozen=True, slots=True)
class Pending:
    """What the observer copies of a settled exchange: a few references, no work."""

    created_at: float
    lane: str | None
    record_id: str
    endpoint: Endpoint
    requested_model: str
    answering_model: str | None
    effort: str | None
    stream: bool
    request: bytes
    answer: bytes


def capture_row(pending: Pending, redactor: Redactor) -> CaptureRow | None:
    """The row to store, redacted; None when the request or its answer cannot be read."""
    try:
        body: Any = orjson.loads(pending.request)
    except orjson.JSONDecodeError:
        return None
    answer = _answer(pending)
    if not isinstance(body, dict) or answer is None:
        return None
    metadata = body.get("metadata")
    calls = [{"name": call.name, "arguments": call.arguments} for call in answer.tool_calls]
    answered = redactor.value({"text": answer.text, "tool_calls": calls})
    return CaptureRow(
        id=new_id("cap"),
        created_at=pending.created_at,
        lane=pending.lane,
        record_id=pending.record_id,
        endpoint=pending.endpoint,
        requested_model=pending.requested_model,
        answering_model=pending.answering_model,
        effort=pending.effort,
        request=orjson.dumps(redactor.value(body)).decode(),
        answer=orjson.dumps(answered).decode(),
        metadata=None if metadata is None else orjson.dumps(redactor.value(metadata)).decode(),
    )


def _answer(pending: Pending) -> AnswerView | None:
    if pending.stream:
        return stream_answer(pending.endpoint, pending.answer)
    try:
        document: Any = orjson.loads(pending.answer)
    except orjson.JSONDecodeError:
        return None
    return answer_of(pending.endpoint, document) if isinstance(document, dict) else None
