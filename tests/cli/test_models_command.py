"""`laneway models`: the catalog for people and for programs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run


def test_table_lists_every_model_with_its_figures(run: Run) -> None:
    result = run("models")
    assert result.code == 0
    for text in (
        "gpt-5.2-2025-12-11",
        "-> gpt-5.4",
        "1.05M",
        "400K",
        "128K",
        "$14.00",
        "$0.175",
        "gpt-5.4-mini-2026-03-17",
        "2025-08-31",
        "Capabilities",
        "Published rate limits",
        "180M",
        "40M",
    ):
        assert text in result.out, text
    nano = next(line for line in result.out.splitlines() if line.startswith("│ gpt-5.4-nano"))
    assert "$0.10" in nano
    assert nano.count("?") >= 5  # output, cached, windows, cutoff, efforts: unknown, not zero


def test_json_keeps_unknowns_as_null(run: Run) -> None:
    data = {m["id"]: m for m in json.loads(run("models", "--json").out)}
    assert list(data) == [
        "gpt-5.2",
        "gpt-5.4",
        "gpt-5.4-mini",
        "gpt-5.4-nano",
        "text-embedding-3-small",
        "text-embedding-3-large",
        "text-embedding-ada-002",
    ]
    embedding = data["text-embedding-3-small"]["prices"]
    assert embedding == {"input": "0.02", "cached_input": None, "output": None}
    assert data["gpt-5.2"]["prices"] == {
        "input": "1.75",
        "cached_input": "0.175",
        "output": "14.00",
    }
    assert data["gpt-5.2"]["successor"] == "gpt-5.4"
    assert data["gpt-5.2"]["names"] == ["gpt-5.2", "gpt-5.2-2025-12-11"]
    assert data["gpt-5.2"]["rate_limits"]["tier-5"] == {"rpm": 15_000, "tpm": 40_000_000}
    nano = data["gpt-5.4-nano"]
    assert nano["prices"]["output"] is None
    assert nano["context_window"] is None
    assert nano["capabilities"]["computer_use"] is None


def test_user_catalog_appears(run: Run, tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text('[models."gpt-5.4".prices]\ninput = "2.00"\n', encoding="utf-8")
    data = {m["id"]: m for m in json.loads(run("models", "--json", "--catalog", str(extra)).out)}
    assert data["gpt-5.4"]["prices"]["input"] == "2.00"
