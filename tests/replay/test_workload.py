"""A workload is an OpenAI Batch input file as it is, with laneway's `expect` beside each line;
every bad line is reported at once, with its number and custom_id, before any call is made. Its
lines are read again from disk when needed, and a file that changed since is refused."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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


def written(path: Path, raw: Iterable[bytes]) -> Path:
    path.write_bytes(b"\n".join(raw) + b"\n")
    return path


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
    lines = list(workload.lines())  # read again from the file, one at a time
    assert [(w.number, w.custom_id, w.endpoint) for w in lines] == [
        (1, "a", "chat"),
        (3, "b", "responses"),
    ]
    assert lines[0].body == CHAT
    assert lines[0].expect is None
    # The expectation rides beside the body, never in it: nothing of it is sent.
    assert lines[1].body == RESPONSES
    assert lines[1].expect == {"contains": "Paris"}
    assert (workload.count, workload.expectations) == (2, 1)
    assert dict(workload.positions) == {"a": 0, "b": 1}
    # Copied as the run directory keeps it: blank lines dropped, the lines as read.
    copy = tmp_path / "copy.jsonl"
    workload.copy_to(copy)
    assert copy.read_bytes() == line("a") + b"\n" + orjson.dumps(graded) + b"\n"
    assert workload.sha256 == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert [w.custom_id for w in Workload.load(copy).lines()] == ["a", "b"]


def test_every_bad_line_is_named_at_once(tmp_path: Path) -> None:
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
        Workload.load(written(tmp_path / "work.jsonl", raw))
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
    assert str(raised.value).startswith(f"{tmp_path}/work.jsonl: 9 bad line(s): line 2: not valid")


def test_a_long_list_of_problems_is_shortened_in_the_message_only(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError) as raised:
        Workload.load(written(tmp_path / "many.jsonl", [b"nope"] * 25))
    assert len(raised.value.problems) == 25
    assert str(raised.value).endswith("; and 5 more")


def test_an_empty_or_unreadable_workload_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="no lines"):
        Workload.load(written(tmp_path / "empty.jsonl", [b"", b"  "]))
    with pytest.raises(WorkloadError, match=r"missing.jsonl: 1 bad line\(s\): cannot read it"):
        Workload.load(tmp_path / "missing.jsonl")


def test_several_files_are_one_workload_and_share_no_custom_id(tmp_path: Path) -> None:
    first = written(tmp_path / "a.jsonl", [line("a1"), line("a2")])
    second = written(tmp_path / "b.jsonl", [b"", line("b1")])
    workload = Workload.load_all([first, second])
    assert [(w.number, w.custom_id) for w in workload.lines()] == [(1, "a1"), (2, "a2"), (2, "b1")]
    assert (workload.count, dict(workload.positions)) == (3, {"a1": 0, "a2": 1, "b1": 2})
    copy = tmp_path / "copy.jsonl"
    workload.copy_to(copy)
    assert copy.read_bytes() == line("a1") + b"\n" + line("a2") + b"\n" + line("b1") + b"\n"

    third = written(tmp_path / "c.jsonl", [line("c1"), line("a2"), line("b1")])
    with pytest.raises(WorkloadError) as raised:
        Workload.load_all([first, second, third])
    assert raised.value.problems == (
        f"{third} line 2: custom_id 'a2' is used in {first} too",
        f"{third} line 3: custom_id 'b1' is used in {second} too",
    )
    # A bad file is named alone, with all its bad lines, before any clash across files.
    bad = written(tmp_path / "bad.jsonl", [line("a1"), b"nope", line("x", method="GET")])
    with pytest.raises(WorkloadError) as raised:
        Workload.load_all([first, bad])
    assert raised.value.source == str(bad)
    assert [p.number for p in raised.value.problems if isinstance(p, LineProblem)] == [2, 3]


def test_a_file_changed_since_it_was_checked_is_refused(tmp_path: Path) -> None:
    path = written(tmp_path / "work.jsonl", [line("a"), line("b")])
    workload = Workload.load(path)
    written(path, [line("a"), line("c")])  # still valid lines, but not the ones checked
    with pytest.raises(WorkloadError, match="changed since it was checked"):
        list(workload.lines())
    with pytest.raises(WorkloadError, match="changed since it was checked"):
        workload.copy_to(tmp_path / "copy.jsonl")
    assert not (tmp_path / "copy.jsonl").exists()
    written(path, [line("a"), b"nope"])
    with pytest.raises(WorkloadError, match="changed since it was checked"):
        list(workload.lines())
