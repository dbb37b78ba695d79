"""An upstream error that quotes laneway's provider key (whatever its status) reaches neither
the client, nor the ledger's error column or attempts, nor the log: the key is struck out."""

from __future__ import annotations

import logging
from pathlib import Path

import openai
import orjson
import pytest

from laneway.upstream.secrets import REDACTED
from tests.gateway.conftest import PROVIDER_KEY, Running
from tests.gateway.test_core_in_memory import (
    SECRET,
    Answer,
    FakeTransport,
    Harness,
    chunk_event,
    stream_through,
)
from tests.sdk import sdk

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("status", [400, 403, 404, 422, 500])
def test_an_upstream_error_quoting_the_provider_key_is_scrubbed_everywhere(
    gateway: Running, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        sdk(gateway.base_url, "any-client-key") as client,
        pytest.raises(openai.APIStatusError) as raised,
    ):
        client.chat.completions.create(
            model="gpt-5.4-mini",
            messages=MESSAGES,  # type: ignore[arg-type]
            extra_headers={"x-emulator-fault": f"echo_key={status}"},
        )
    answer = raised.value.response
    assert answer.status_code == status
    assert PROVIDER_KEY not in answer.text
    assert REDACTED in answer.json()["error"]["message"]
    record = gateway.record(answer.headers["x-laneway-request-id"])
    stored = repr(record) + (record.error or "") + repr(record.attempts)
    assert PROVIDER_KEY not in stored
    assert record.error is not None
    assert REDACTED in record.error
    assert PROVIDER_KEY not in caplog.text


def test_an_error_event_quoting_the_key_mid_stream_is_scrubbed(tmp_path: Path) -> None:
    error = {"error": {"message": f"stream failed for key {SECRET}", "type": "server_error"}}
    event = b"data: " + orjson.dumps(error) + b"\n\n"
    harness = Harness(tmp_path, FakeTransport(Answer(chunks=[chunk_event(), event])))
    relayed = b"".join(stream_through(harness))
    (record,) = harness.records()
    harness.close()
    assert SECRET.encode() not in relayed
    assert REDACTED.encode() in relayed
    assert record.status == "error"
    assert record.error is not None
    assert SECRET not in record.error
    assert REDACTED in record.error
