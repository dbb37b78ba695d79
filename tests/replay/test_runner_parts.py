"""The runner's parts on their own: a body sent to a cell, a drained stream's answer, the results
file's torn last line and group commit, the catalog file a run keeps, and what a row charges the
cap."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import orjson

from laneway.pricing.catalog import Catalog
from laneway.replay.costs import charge_of, cost_unknown
from laneway.replay.results_writer import ResultsWriter
from laneway.replay.rows import ResultRow, RowUsage
from laneway.replay.run_dir import RESULTS, STARTED, RunDir
from laneway.replay.run_setup import catalog_toml
from laneway.wire.answers import ToolCall
from laneway.wire.retarget import effort_of, retargeted
from laneway.wire.stream_answer import stream_answer


def test_a_cell_changes_the_model_and_effort_and_nothing_else() -> None:
    chat = {"model": "a", "messages": [], "reasoning_effort": "high", "n": 2}
    assert retargeted("chat", chat, "b", "low") == {**chat, "model": "b", "reasoning_effort": "low"}
    assert retargeted("chat", chat, "b", None) == {**chat, "model": "b"}
    responses = {"model": "a", "input": "x", "reasoning": {"effort": "high", "summary": "auto"}}
    sent = retargeted("responses", responses, "b", "none")
    assert sent == {"model": "b", "input": "x", "reasoning": {"effort": "none", "summary": "auto"}}
    assert responses["reasoning"] == {"effort": "high", "summary": "auto"}  # not changed
    assert (effort_of("responses", sent), effort_of("chat", chat)) == ("none", "high")
    assert effort_of("responses", {"model": "a"}) is None


def sse(*payloads: object, done: bool = False) -> bytes:
    events = [b"data: " + orjson.dumps(p) + b"\n\n" for p in payloads]
    return b"".join(events) + (b"data: [DONE]\n\n" if done else b"")


def test_a_chat_streams_text_and_tool_calls_are_gathered_from_their_deltas() -> None:
    def delta(**fields: object) -> dict[str, object]:
        return {"choices": [{"index": 0, "delta": fields}]}

    stream = sse(
        delta(role="assistant", content="Par"),
        delta(content="is"),
        {"choices": [{"index": 1, "delta": {"content": "other choice"}}]},
        delta(tool_calls=[{"index": 0, "function": {"name": "look", "arguments": '{"q"'}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": ': "x"}'}}]),
        {"choices": [], "usage": {"prompt_tokens": 3}},
        done=True,
    )
    answer = stream_answer("chat", stream)
    assert answer is not None
    assert answer.text == "Paris"
    assert answer.tool_calls == (ToolCall("look", '{"q": "x"}'),)


def test_a_responses_stream_is_read_from_its_final_event() -> None:
    message = {"type": "message", "content": [{"type": "output_text", "text": "Paris"}]}
    completed = {"type": "response.completed", "response": {"output": [message]}}
    stream = (
        (b"event: response.output_text.delta\n" + sse({"type": "x", "delta": "Pa"}))
        + b"event: response.completed\n"
        + sse(completed)
    )
    answer = stream_answer("responses", stream)
    assert answer is not None
    assert answer.text == "Paris"
    assert stream_answer("responses", sse({"type": "response.created"})) is None  # cut short


def row(n: int, **fields: object) -> ResultRow:
    base: dict[str, object] = {
        "cell": "c", "custom_id": f"q{n}", "repeat": 0, "status": "ok", "started_at": 1.0,
    }  # fmt: skip
    return ResultRow(**{**base, **fields})  # type: ignore[arg-type]


def test_a_torn_last_line_is_cut_off_and_rows_are_durable_before_they_count(
    tmp_path: Path,
) -> None:
    (tmp_path / RESULTS).write_bytes(row(1).to_json() + row(2).to_json()[:17])  # a kill's tear
    (tmp_path / STARTED).write_bytes(b'["c","q1",0]\n["c","q2"')
    told: list[str] = []

    async def scenario() -> None:
        writer = ResultsWriter(tmp_path, lambda r: told.append(r.custom_id))
        writer.started(("c", "q2", 0))
        await asyncio.gather(*(writer.add(row(n)) for n in (2, 3, 4)))
        assert told == ["q2", "q3", "q4"]  # told in the order written, once on disk
        await writer.close()

    asyncio.run(scenario())
    folder = RunDir(tmp_path)
    assert [r.custom_id for r in folder.rows()] == ["q1", "q2", "q3", "q4"]
    assert list(folder.started()) == [("c", "q1", 0), ("c", "q2", 0)]


def test_the_runs_catalog_file_loads_alone_to_the_entries_it_priced_with(tmp_path: Path) -> None:
    catalog = Catalog.load()
    path = tmp_path / "catalog.toml"
    path.write_bytes(catalog_toml(catalog, ["gpt-5.4-mini", "gpt-5.2-2025-12-11", "no-such"]))
    kept = Catalog.load(path, include_shipped=False)
    # gpt-5.2 names its successor, which comes along.
    assert sorted(spec.id for spec in kept) == ["gpt-5.2", "gpt-5.4", "gpt-5.4-mini"]
    assert all(kept.get(spec.id) == catalog.get(spec.id) for spec in kept)


def test_a_row_charges_the_cap_its_cost_or_its_worst_case_when_that_is_unknown() -> None:
    worst = Decimal("0.5")
    usage = RowUsage(10, 0, 5, 0)
    assert charge_of(row(1, cost_usd=Decimal("0.1"), usage=usage), worst) == Decimal("0.1")
    assert charge_of(row(1, usage=usage, cost_basis="no_usage"), worst) == worst
    assert charge_of(row(1, status="error"), worst) == 0  # failed before anything was made
    abandoned = row(1, cost_usd=Decimal("0.1"), usage=usage, cost_basis="abandoned")
    assert charge_of(abandoned, worst) == Decimal("0.6")  # a given-up attempt may be billed
    assert not cost_unknown(abandoned)
    assert cost_unknown(row(1, status="broken"))
