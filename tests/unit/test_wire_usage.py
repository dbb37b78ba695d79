"""Usage read from Responses, Chat Completions and Batch shapes, and written back."""

from __future__ import annotations

from typing import Any

import pytest

from laneway.errors import UsageError
from laneway.usage import Usage
from laneway.wire.usage import (
    chat_usage_json,
    responses_usage_json,
    usage_from_batch_line,
    usage_from_body,
    usage_from_chat,
    usage_from_responses,
)

# The Responses example of shared/openai-wire.md.
RESPONSES_USAGE = {
    "input_tokens": 81,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 1035,
    "output_tokens_details": {"reasoning_tokens": 832},
    "total_tokens": 1116,
}


def test_responses_usage() -> None:
    assert usage_from_responses(RESPONSES_USAGE) == Usage(
        input_tokens=81, output_tokens=1035, reasoning_tokens=832
    )


def test_responses_usage_without_cache_write_tokens() -> None:
    # 2025 captures of the live API lack cache_write_tokens; reading must tolerate that.
    block = {
        "input_tokens": 2048,
        "input_tokens_details": {"cached_tokens": 1920},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 2058,
    }
    assert usage_from_responses(block) == Usage(2048, 10, cached_input_tokens=1920)


def test_chat_usage_with_details() -> None:
    block = {
        "prompt_tokens": 1500,
        "completion_tokens": 400,
        "total_tokens": 1900,
        "prompt_tokens_details": {"cached_tokens": 1280, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 256,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    assert usage_from_chat(block) == Usage(
        1500, 400, cached_input_tokens=1280, reasoning_tokens=256
    )


def test_chat_usage_with_null_details() -> None:
    block = {
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "total_tokens": 15,
        "prompt_tokens_details": None,
        "completion_tokens_details": None,
    }
    assert usage_from_chat(block) == Usage(12, 3)


def test_body_dispatches_on_object() -> None:
    assert usage_from_body({"object": "response", "usage": RESPONSES_USAGE}).output_tokens == 1035
    chat = {"object": "chat.completion", "usage": {"prompt_tokens": 5, "completion_tokens": 2}}
    assert usage_from_body(chat) == Usage(5, 2)
    with pytest.raises(UsageError, match="'embedding'"):
        usage_from_body({"object": "embedding"})


def test_batch_output_lines() -> None:
    ok = {
        "id": "batch_req_1",
        "custom_id": "r1",
        "response": {
            "status_code": 200,
            "request_id": "req_1",
            "body": {"object": "response", "usage": RESPONSES_USAGE},
        },
        "error": None,
    }
    failed = {
        "id": "batch_req_2",
        "custom_id": "r2",
        "response": None,
        "error": {"code": "x", "message": "y"},
    }
    assert usage_from_batch_line(ok) == Usage(81, 1035, reasoning_tokens=832)
    assert usage_from_batch_line(failed) is None


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"output_tokens": 1}, "no 'input_tokens'"),
        ({"input_tokens": "12", "output_tokens": 1}, "not an integer"),
        ({"input_tokens": True, "output_tokens": 1}, "not an integer"),
        ({"input_tokens": 1, "output_tokens": 1, "input_tokens_details": 7}, "not an object"),
        (
            {"input_tokens": 1, "output_tokens": 1, "input_tokens_details": {"cached_tokens": 2}},
            "exceed input",
        ),
        (None, "not an object"),
    ],
)
def test_malformed_responses_usage(block: Any, message: str) -> None:
    # A usage block we cannot trust is an error to record, never a silent zero.
    with pytest.raises(UsageError, match=message):
        usage_from_responses(block)


def test_round_trips() -> None:
    usage = Usage(4096, 900, cached_input_tokens=3968, cache_write_tokens=128, reasoning_tokens=512)
    assert usage_from_responses(responses_usage_json(usage)) == usage
    assert usage_from_chat(chat_usage_json(usage)) == usage
    assert responses_usage_json(usage)["total_tokens"] == 4996
