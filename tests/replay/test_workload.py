"""A workload is an OpenAI Batch input file as it is, with laneway's `expect` beside each line;
every bad line is reported at once, with its number and custom_id, before any call is made."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from laneway.errors import LanewayError, WorkloadError
from laneway.replay.workload import Workload
from laneway.wire.batch_lines import LineProblem

CHAT = {"model": "gpt-5.2", "messages": [{"role": "user", "content": "What is 2+2?"}]}
RESPONSES = {"model": "gpt-5.2", "input": "Name the capital of France.", "reasoning": {}}


def line(custom_id: object, url: str = "/v1/chat/completions", **extra: object) -> bytes:
    value = {"custom_id": custom_id, "method": "POST", "url": url, "body": CHAT, **extra}
    return orjson.dumps(value)


def test_a_batch_file_is_a_workload_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    graded = {
        "custom_id": "b",
        "method": "POST",
        "url": "/v1/responses",
        "body": RESPONSES,
        "expect": {"contains": "Paris"},
    }
    # Blank lines are skipped, as the Batch API skips them.
    path.write_bytes(line("a") + b"\n\n" + orjson.dumps(graded) + b"\n")
    workload = Workload.load(path)
    assert [(w.number, w.custom_id, w.endpoint) for w in workload.lines] == [
        (1, "a", "chat"),
        (3, "b", "responses"),
    ]
    assert workload.lines[0].body == CHAT
    assert workload.lines[0].expect is None
    # The expectation rides beside the body, never in it: nothing of it is sent.
    assert workload.lines[1].body == RESPONSES
    assert workload.lines[1].expect == {"contains": "Paris"}
    assert workload.expectations == 1


def test_every_bad_line_is_named_at_once() -> None:
    raw = [
        line("ok-1"),
        b'{"custom_id": "x", "method": "POST",',  # cut short
        b"[1, 2]",
        line("ok-1"),  # a second use of an id
        line("", url="/v1/chat/completions"),
        line("get", method="GET"),
        line("emb", url="/v1/embeddings"),
        orjson.dumps({"custom_id": "nobody", "method": "POST", "url": "/v1/responses"}),
        orjson.dumps(
            {"custom_id": "nomodel", "method": "POST", "url": "/v1/responses", "body": {}}
        ),
        line("typo", expected="4"),
        line("ok-2"),
    ]
    with pytest.raises(WorkloadError) as raised:
        Workload.read("work.jsonl", raw)
    problems = [p for p in raised.value.problems if isinstance(p, LineProblem)]
    assert len(problems) == len(raised.value.problems)
    assert [(p.number, p.custom_id) for p in problems] == [
        (2, None), (3, None), (4, "ok-1"), (5, None), (6, "get"), (7, "emb"), (8, "nobody"),
        (9, "nomodel"), (10, "typo"),
    ]  # fmt: skip
    text = [str(p) for p in problems]
    assert text[0].startswith("line 2: not valid JSON")
    assert text[1] == "line 3: not a JSON object"
    assert text[2] == "line 4 (ok-1): custom_id already used on line 1 (each must be unique)"
    assert text[3] == "line 5: custom_id must be a non-empty string"
    assert text[4] == "line 6 (get): method must be \"POST\", got 'GET'"
    assert "url must be one of /v1/responses, /v1/chat/completions" in text[5]
    assert text[6] == "line 8 (nobody): body must be a JSON object"
    assert text[7] == "line 9 (nomodel): body.model must be a non-empty string"
    assert "unknown key(s) 'expected'" in text[8]
    # One error of laneway's tree, whose message starts with the count and names the lines.
    assert isinstance(raised.value, LanewayError)
    assert str(raised.value).startswith("work.jsonl: 9 bad line(s): line 2: not valid JSON")


def test_a_long_list_of_problems_is_shortened_in_the_message_only() -> None:
    with pytest.raises(WorkloadError) as raised:
        Workload.read("many.jsonl", [b"nope"] * 25)
    assert len(raised.value.problems) == 25
    assert str(raised.value).endswith("; and 5 more")


def test_an_empty_or_unreadable_workload_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="no lines"):
        Workload.read("empty.jsonl", [b"\n", b"  \n"])
    with pytest.raises(WorkloadError, match=r"missing.jsonl: 1 bad line\(s\): cannot read it"):
        Workload.load(tmp_path / "missing.jsonl")
