"""A failure inside laneway (a bug, not the client's doing) is a server error on record, never a
client that went away: the record says 500 and names the exception, the client gets OpenAI's
500 without a traceback or a secret, and only a real cancellation is recorded as 499."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from laneway.gateway.client import Client
from laneway.wire.errors import ApiError
from tests.gateway.test_core_in_memory import (
    CHAT,
    SECRET,
    Answer,
    FakeTransport,
    Harness,
    chunk_event,
    stream_through,
)


class Bug(RuntimeError):
    """What a transport with a bug in it raises."""


def test_a_failure_before_the_answer_is_a_recorded_500_not_a_client_disconnect(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(tmp_path, FakeTransport(Answer(fail=Bug(f"broke holding {SECRET}"))))
    with pytest.raises(ApiError) as raised:
        harness.call()
    (record,) = harness.records()
    harness.close()
    error = raised.value
    assert error.status == 500
    assert error.type == "server_error"
    assert SECRET not in error.message
    assert "Traceback" not in error.message
    assert record.status == "error"
    assert record.http_status == 500
    assert record.error is not None
    assert "Bug" in record.error
    assert SECRET not in record.error
    # The log has the traceback, for whoever fixes the bug, without the provider's key.
    assert "Traceback" in caplog.text
    assert "Bug" in caplog.text
    assert SECRET not in caplog.text


def test_a_cancelled_request_is_still_recorded_as_499(tmp_path: Path) -> None:
    cancelled = asyncio.CancelledError()  # what an attempt's await raises when its task is
    harness = Harness(tmp_path, FakeTransport(Answer(fail=cancelled)))  # type: ignore[arg-type]
    with pytest.raises(asyncio.CancelledError):
        harness.call()
    (record,) = harness.records()
    harness.close()
    assert record.http_status == 499
    assert record.error == "the client closed the connection"


def test_a_failure_mid_stream_ends_it_with_an_error_event_and_is_not_a_client_disconnect(
    tmp_path: Path,
) -> None:
    event = chunk_event()
    harness = Harness(tmp_path, FakeTransport(Answer(chunks=[event, Bug(SECRET)])))
    chunks = stream_through(harness)
    (record,) = harness.records()
    harness.close()
    assert chunks[0] == event
    error = orjson.loads(chunks[-1].removeprefix(b"data: "))["error"]
    assert error["type"] == "server_error"
    assert SECRET not in chunks[-1].decode()
    assert record.status == "broken"
    assert record.error is not None
    assert "Bug" in record.error
    assert "client" not in record.error
    assert SECRET not in record.error


def test_the_body_is_untouched_by_the_new_handling(tmp_path: Path) -> None:
    # A plain success is unchanged (guards the happy path the split sits beside).
    body = orjson.dumps({"object": "chat.completion", "model": "gpt-5.4-mini", "choices": []})
    harness = Harness(tmp_path, FakeTransport(Answer(body=body)))
    answer = asyncio.run(harness.gateway.handle("chat", CHAT, client=Client("key_test")))
    harness.close()
    assert answer.body == body
