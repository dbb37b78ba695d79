"""`laneway workload`: export (to a file and to standard output, by lane and time), stats,
stratified sample and seeded split of the exported file, purge; bad input as one line, exit 2."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from laneway.ledger.captures import CaptureRow
from laneway.ledger.captures_open import open_captures
from laneway.ledger.sqlite import SQLiteLedger
from tests.cli.conftest import Run, assert_one_line_error

DAY_S = 86_400


def capture(number: int, lane: str | None, team: str, age_days: float = 0.0) -> CaptureRow:
    chat = number % 2 == 1
    words = " ".join(["word"] * (number + 1))
    body: dict[str, object] = {"model": f"lane:{lane}" if lane else "gpt-5.4"}
    if chat:
        body |= {"messages": [{"role": "user", "content": words}], "max_completion_tokens": 64}
    else:
        body |= {"input": words, "metadata": {"team": team}}
    return CaptureRow(
        id=f"cap_{number:04d}",
        created_at=time.time() - age_days * DAY_S - 1000 + number,
        lane=lane,
        record_id=f"req_{number}",
        endpoint="chat" if chat else "responses",
        requested_model=str(body["model"]),
        answering_model="gpt-5.4-mini" if lane else "gpt-5.4",
        effort="low" if lane else None,
        request=orjson.dumps(body).decode(),
        answer=orjson.dumps({"text": f"answer {number}", "tool_calls": []}).decode(),
        metadata=orjson.dumps({"team": team}).decode() if chat else None,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    ledger = tmp_path / "ledger.db"
    SQLiteLedger(ledger).close()
    store = open_captures(ledger, None)
    made = [capture(n, "support" if n < 15 else ("coding" if n < 20 else None), "ab"[n % 2])
            for n in range(24)]  # fmt: skip
    store.add([*made, capture(99, "support", "a", age_days=40)])
    store.close()
    path = tmp_path / "laneway.toml"
    path.write_text(f'[ledger]\npath = "{ledger}"\n[capture]\nretention_days = 30\n')
    return path


def exported(run: Run, config: Path, *args: str) -> list[dict[str, object]]:
    result = run("workload", "export", "--config", str(config), *args)
    assert result.code == 0, result.err
    return [orjson.loads(line) for line in result.out.splitlines()]


def test_export_writes_batch_lines_with_the_captures_facts(run: Run, config: Path) -> None:
    lines = exported(run, config)
    assert len(lines) == 25
    assert [line["custom_id"] for line in lines][:2] == ["cap_0099", "cap_0000"]  # oldest first
    first = next(line for line in lines if line["custom_id"] == "cap_0001")
    assert first["url"] == "/v1/chat/completions"
    assert first["method"] == "POST"
    assert first["body"] == {
        "model": "gpt-5.4-mini",
        "messages": [{"role": "user", "content": "word word"}],
        "max_completion_tokens": 64,
        "reasoning_effort": "low",
    }
    facts = first["laneway"]
    assert isinstance(facts, dict)
    assert facts["answer"] == {"text": "answer 1", "tool_calls": []}
    assert (facts["lane"], facts["record_id"], facts["metadata"]) == (
        "support",
        "req_1",
        {"team": "b"},
    )
    assert len(exported(run, config, "--lane", "coding")) == 5
    assert len(exported(run, config, "--lane", "support", "--since", "2d")) == 15


def test_stats_sample_and_split_of_an_export(run: Run, config: Path, tmp_path: Path) -> None:
    workload = tmp_path / "all.jsonl"
    assert run("workload", "export", "--config", str(config), "--out", str(workload)).code == 0
    stats = run("workload", "stats", str(workload), "--json")
    assert stats.code == 0, stats.err
    figures = orjson.loads(stats.out)
    assert figures["lines"] == 25
    assert figures["endpoints"] == {"chat": 13, "responses": 12}
    assert figures["lanes"] == {"support": 16, "coding": 5, "(none)": 4}
    assert figures["efforts"] == {"low": 21, "(none)": 4}
    assert figures["input_tokens"]["count"] == 25
    assert figures["input_tokens"]["max"] >= 24
    assert figures["output_caps"]["count"] == 13
    assert figures["uncapped"] == 12
    text = run("workload", "stats", str(workload))
    assert "25 line(s)" in text.out
    assert "input tokens: n 25" in text.out

    out = tmp_path / "sample.jsonl"
    args = ("workload", "sample", str(workload), "--n", "10", "--by", "lane", "--seed", "4")
    assert run(*args, "--out", str(out)).code == 0
    chosen = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    lanes = Counter(str(line["laneway"]["lane"]) for line in chosen)
    assert lanes == {"support": 6, "coding": 2, "None": 2}  # 16, 5, 4 of 25, to 10
    again = tmp_path / "again.jsonl"
    assert run(*args, "--out", str(again)).code == 0
    assert again.read_bytes() == out.read_bytes()  # seeded
    source = workload.read_bytes().splitlines(keepends=True)
    assert all(line in source for line in out.read_bytes().splitlines(keepends=True))
    by_team = tmp_path / "team.jsonl"
    team = ("workload", "sample", str(workload), "--n", "4", "--by", "metadata.team")
    assert run(*team, "--out", str(by_team)).code == 0
    teams = Counter(
        (line["body"].get("metadata") or line["laneway"]["metadata"])["team"]
        for line in map(orjson.loads, by_team.read_bytes().splitlines())
    )
    assert teams == {"a": 2, "b": 2}

    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    split = run("workload", "split", str(workload), "--holdout", "0.2", "--seed", "1",
                "--train", str(train), "--test", str(test))  # fmt: skip
    assert split.code == 0, split.err
    kept, held = train.read_bytes().splitlines(True), test.read_bytes().splitlines(True)
    assert (len(kept), len(held)) == (20, 5)
    assert sorted(kept + held) == sorted(source)


def test_purge_deletes_what_is_past_retention(run: Run, config: Path) -> None:
    purged = run("workload", "purge", "--config", str(config))
    assert purged.code == 0, purged.err
    assert "1 capture(s) older than 30 day(s) deleted" in purged.out
    assert len(exported(run, config)) == 24
    assert "0 capture(s)" in run("workload", "purge", "--config", str(config)).out
    assert run("workload", "purge", "--config", str(config), "--older-than", "0").code == 0
    assert exported(run, config) == []


def test_bad_input_is_one_line_and_exit_2(run: Run, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(
        b'{"custom_id": "a", "method": "POST", "url": "/v1/responses", '
        b'"body": {"model": "gpt-5.4", "input": "hi"}}\n'
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(good.read_bytes() + b"{not json\n")
    out = str(tmp_path / "o.jsonl")
    assert_one_line_error(run("workload", "stats", str(tmp_path / "none.jsonl")), "cannot read")
    assert_one_line_error(run("workload", "stats", str(bad)), "line 2", "not valid JSON")
    assert_one_line_error(
        run("workload", "sample", str(good), "--n", "1", "--by", "team", "--out", out), "--by"
    )
    assert_one_line_error(run("workload", "sample", str(good), "--n", "0", "--out", out), "--n 0")
    assert_one_line_error(
        run("workload", "split", str(good), "--holdout", "1.5", "--train", out, "--test", out),
        "--holdout",
    )
    assert_one_line_error(
        run("workload", "split", str(good), "--train", out, "--test", out), "two lines"
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n")
    assert_one_line_error(run("workload", "stats", str(empty)), "no lines")
    assert_one_line_error(
        run("workload", "export", "--since", "yesterday", "--config", str(tmp_path / "c.toml")),
        "--since",
    )
