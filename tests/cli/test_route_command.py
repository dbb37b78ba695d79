"""`laneway route --explain` and `laneway lanes`: the routing decision without sending anything."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.conftest import Run


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No key, no provider: plans against the embedded emulator, as serve would; no ledger yet.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("LANEWAY_CONFIG", raising=False)
    monkeypatch.setenv("LANEWAY_LEDGER", str(tmp_path / "ledger.db"))


def write(tmp_path: Path, body: object) -> str:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return str(path)


def test_explain_prints_the_lane_each_candidate_and_the_attempt_order(
    run: Run, tmp_path: Path
) -> None:
    tools = [{"type": "computer_use_preview", "display_width": 800, "display_height": 600,
              "environment": "browser"}]  # fmt: skip
    body = {"model": "lane:reasoning", "input": "Click the button", "tools": tools}
    result = run("route", "--explain", write(tmp_path, body))
    assert result.code == 0, result.err
    assert "lane      reasoning  (via model lane:reasoning)" in result.out
    assert "policy    cheapest" in result.out
    assert "computer_use unsupported" in result.out
    assert "attempts would try: gpt-5.4@emulator" in result.out


def test_explain_as_json(run: Run, tmp_path: Path) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}],
            "metadata": {"task": "extraction"}, "reasoning_effort": "high"}  # fmt: skip
    result = run("route", "--explain", write(tmp_path, body), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["endpoint"] == "chat"
    assert data["lane"] == "extraction"
    assert data["via"].startswith("auto rule 3")
    assert data["attempt_order"][0] == {"candidate": "gpt-5.4-nano@emulator", "effort": "low"}
    assert "chosen" not in data


def test_explain_says_what_the_gateway_would_refuse(run: Run, tmp_path: Path) -> None:
    result = run("route", "--explain", write(tmp_path, {"model": "lane:nope", "input": "x"}))
    assert result.code == 1
    assert result.out.startswith("the gateway would answer 404: The lane 'nope'")


def test_explain_says_an_unknown_model_would_get_a_404_and_reads_a_case_variant(
    run: Run, tmp_path: Path
) -> None:
    unknown = run("route", "--explain", write(tmp_path, {"model": "gpt-5.4-minii", "input": "x"}))
    assert unknown.code == 1
    assert "model 'gpt-5.4-minii' on, but it is not in the catalog" in unknown.out
    assert "404 model_not_found. Did you mean 'gpt-5.4-mini'" in " ".join(unknown.out.split())
    assert "kept" not in unknown.out
    as_json = run(
        "route", "--explain", write(tmp_path, {"model": "gpt-99", "input": "x"}), "--json"
    )
    assert as_json.code == 1
    assert json.loads(as_json.out)["refused"]["code"] == "model_not_found"
    variant = run("route", "--explain", write(tmp_path, {"model": "GPT-5.4", "input": "x"}))
    assert variant.code == 0, variant.out
    assert "note      model 'GPT-5.4' read as 'gpt-5.4'" in variant.out
    assert "attempts would try: gpt-5.4@emulator" in variant.out


def test_explain_reads_a_config_and_reports_its_mistakes(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "laneway.toml"
    config.write_text('[lanes.mine]\ncandidates = ["gpt-5.4-mini"]\nmax_effort = "low"\n')
    body = {"model": "lane:mine", "input": "x", "reasoning": {"effort": "xhigh"}}
    result = run("route", "--explain", write(tmp_path, body), "--config", str(config), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["attempt_order"] == [
        {"candidate": "gpt-5.4-mini@emulator", "effort": "low"}
    ]
    config.write_text('[lanes.mine]\ncandidates = ["gpt-5.4-mini"]\nspeed = 3\n')
    bad = run("route", "--explain", write(tmp_path, body), "--config", str(config))
    assert bad.code == 2
    assert "unknown key 'speed' in [lanes.mine]" in bad.err


def test_lanes_lists_every_lane_with_its_candidates(run: Run) -> None:
    result = run("lanes", "--json")
    assert result.code == 0, result.err
    lanes = {lane["name"]: lane for lane in json.loads(result.out)}
    assert set(lanes) == {"extraction", "coding", "reasoning", "frontier", "legacy"}
    reasoning = lanes["reasoning"]
    assert [c["candidate"] for c in reasoning["candidates"]] == [
        "gpt-5.2@emulator", "gpt-5.4@emulator",
    ]  # fmt: skip
    assert {c["health"] for c in reasoning["candidates"]} == {"closed"}
    table = run("lanes")
    assert "gpt-5.4-mini@emulator: closed, headroom ok" in table.out


def test_lanes_says_when_the_gateway_cannot_be_reached(run: Run) -> None:
    result = run("lanes", "--gateway", "http://127.0.0.1:9")
    assert result.code == 2
    assert "cannot reach the gateway" in result.err


def test_explain_shows_expected_and_worst_case_cost_apart(run: Run, tmp_path: Path) -> None:
    # Before: the expected cost was the model's whole 128K max output ($1.92 on gpt-5.4).
    body = {"model": "lane:reasoning", "input": "hi", "reasoning": {"effort": "medium"}}
    result = run("route", "--explain", write(tmp_path, body), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    expected = {c["candidate"]: c["expected_usd"] for c in data["candidates"]}
    assert Decimal(expected["gpt-5.4@emulator"]) < Decimal("0.02")  # 1,024 typical tokens
    worst = data["worst_case"]
    assert Decimal(worst["usd"]) > Decimal("1.9")  # 128,000 x $15/M: no cap in the request
    assert worst["output_tokens"] is None
    assert worst["under_a_budget"]["output_cap"] == 4096
    assert Decimal(worst["under_a_budget"]["usd"]) < Decimal("0.07")
    text = run("route", "--explain", write(tmp_path, body))
    assert "worst case $1.92" in text.out, text.out
    assert "under a budget laneway caps output at 4,096 tokens" in text.out
    assert "a typical answer, not the most it may write" in text.out


def test_explain_counts_every_chat_choice_in_the_worst_case(run: Run, tmp_path: Path) -> None:
    body = {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hi"}],
            "n": 8, "max_completion_tokens": 200}  # fmt: skip
    result = run("route", "--explain", write(tmp_path, body), "--json")
    worst = json.loads(result.out)["worst_case"]
    assert (worst["choices"], worst["output_tokens"]) == (8, 200)
    assert "under_a_budget" not in worst  # the request set its own cap
    assert Decimal(worst["usd"]) > 8 * 200 * Decimal("4.5") / 10**6
