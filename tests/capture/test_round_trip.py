"""The capture round trip: the official SDK sends traffic through a capturing lane of a real
gateway to the emulator; `laneway workload export` writes it as a workload; a replay of that
workload's as-written baseline gives back, line for line, the answers the clients received. And
redaction happens before storage: the SQLite file's bytes never hold what was redacted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai import OpenAI

from laneway.config import GatewayConfig
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.replay.experiment import AS_WRITTEN, ExperimentConfig
from laneway.replay.runner import RunSettings, run
from laneway.server.run import GatewayServer
from tests.cli.conftest import Run
from tests.replay.runs import rows, upstream_of
from tests.sdk import sdk

MINI = "gpt-5.4-mini"
EMAIL = r"[\w.+-]+@[\w-]+\.[\w.]+"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(seed=5, speed=0, tier="none")) as server:
        yield server


def config(emulator: EmulatorServer, ledger: Path, **capture: Any) -> GatewayConfig:
    return GatewayConfig.model_validate(
        {
            "providers": {
                "emu": {
                    "kind": "openai-compatible",
                    "base_url": emulator.base_url,
                    "api_key_env": "EMU_KEY",
                }
            },
            "lanes": {"support": {"candidates": [MINI], "effort": "low"}},
            "ledger": {"path": str(ledger)},
            "server": {"port": 0},
            "capture": {"lanes": ["support"], "share": 1.0, **capture},
        }
    )


def serve(gateway_config: GatewayConfig) -> GatewayServer:
    return GatewayServer(gateway_config, {"EMU_KEY": "sk-emu-0123456789"}).start()


def flush(server: GatewayServer) -> None:
    assembly = server.assembly
    assert assembly is not None
    assert assembly.capture is not None
    assembly.writer.flush(5)
    assembly.capture.writer.flush()


def traffic(client: OpenAI) -> dict[str, str]:
    """Prompt -> the text the client received: Responses and Chat, whole and streamed."""
    got: dict[str, str] = {}
    prompt = "Question r1: name a colour of the sky."
    got[prompt] = client.responses.create(
        model="lane:support", input=prompt, max_output_tokens=200
    ).output_text
    prompt = "Question r2: name a large animal."
    events = client.responses.create(
        model="lane:support", input=prompt, max_output_tokens=200, stream=True
    )
    got[prompt] = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    prompt = "Question c1: name a fruit."
    chat = client.chat.completions.create(
        model="lane:support",
        messages=[{"role": "user", "content": prompt}],
        max_completion_tokens=150,
        metadata={"team": "blue"},
    )
    got[prompt] = chat.choices[0].message.content or ""
    prompt = "Question c2: name a river."
    chunks = client.chat.completions.create(
        model="lane:support",
        messages=[{"role": "user", "content": prompt}],
        max_completion_tokens=150,
        stream=True,
    )
    got[prompt] = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return got


def prompt_of(body: dict[str, Any]) -> str:
    if "messages" in body:
        return str(body["messages"][0]["content"])
    return str(body["input"])


def test_captured_traffic_exports_and_replays_to_the_answers_clients_got(
    emulator: EmulatorServer, tmp_path: Path, run: Run
) -> None:
    ledger = tmp_path / "ledger.db"
    server = serve(config(emulator, ledger))
    try:
        with sdk(server.base_url, "any-key") as client:
            received = traffic(client)
        flush(server)
    finally:
        server.stop()
    assert all(received.values())
    (tmp_path / "laneway.toml").write_text(f'[ledger]\npath = "{ledger}"\n')
    workload = tmp_path / "captured.jsonl"
    exported = run(
        "workload", "export", "--config", str(tmp_path / "laneway.toml"),
        "--lane", "support", "--out", str(workload),
    )  # fmt: skip
    assert exported.code == 0, exported.err
    assert "4 line(s) exported" in exported.err
    lines = [orjson.loads(line) for line in workload.read_bytes().splitlines()]
    by_id = {line["custom_id"]: line for line in lines}
    assert {prompt_of(line["body"]) for line in lines} == set(received)
    for line in lines:
        facts = line["laneway"]
        assert line["body"]["model"] == MINI == facts["model"]
        assert facts["requested_model"] == "lane:support"
        assert (facts["lane"], facts["effort"]) == ("support", "low")
        assert facts["answer"]["text"] == received[prompt_of(line["body"])]
        assert facts["record_id"].startswith("req")
    chat = next(line for line in lines if line["body"].get("metadata"))
    assert chat["laneway"]["metadata"] == {"team": "blue"}

    experiment = ExperimentConfig.model_validate(
        {
            "workloads": [str(workload)],
            "candidates": {"cells": [{"model": MINI, "effort": "none"}]},
            "repeats": 1,
        }
    )
    replay_config = GatewayConfig.model_validate({"ledger": {"path": str(tmp_path / "r.db")}})
    settings = RunSettings(tmp_path / "run")
    asyncio.run(run_replay(experiment, settings, replay_config, emulator))
    baseline = [row for row in rows(settings.run_dir) if row.cell == AS_WRITTEN]
    assert len(baseline) == 4
    for row in baseline:
        assert row.output is not None
        assert row.output.text == received[prompt_of(by_id[row.custom_id]["body"])]


async def run_replay(
    experiment: ExperimentConfig,
    settings: RunSettings,
    replay_config: GatewayConfig,
    emulator: EmulatorServer,
) -> None:
    await run(experiment, settings, replay_config, upstream=upstream_of(emulator))


def test_redaction_happens_before_anything_is_stored(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.db"
    rules = [{"pattern": EMAIL, "replace": "[email]"}, {"pattern": r"\b\d{4}-\d{4}\b"}]
    server = serve(config(emulator, ledger, redact=rules))
    try:
        with sdk(server.base_url, "any-key") as client:
            client.responses.create(
                model="lane:support",
                input="Write to jane.doe@example.com about card 1234-5678, please.",
                metadata={"owner": "ops@example.org"},
            )
            client.chat.completions.create(
                model="lane:support",
                messages=[{"role": "user", "content": "Echo bob@example.net back"}],
                stream=True,
            ).close()
        flush(server)
        assembly = server.assembly
        assert assembly is not None
        store = assembly.open_captures()
        stored = list(store.rows(None, None, None))
        store.close()
    finally:
        server.stop()
    assert len(stored) == 2
    files = [ledger, *ledger.parent.glob("ledger.db-*")]  # the file, its WAL and shared memory
    raw = b"".join(path.read_bytes() for path in files)
    for secret in (b"jane.doe@example.com", b"ops@example.org", b"bob@example.net", b"1234-5678"):
        assert secret not in raw
    assert b"Write to [email] about card [redacted], please." in raw
    metadata = [row.metadata for row in stored if row.metadata]
    assert metadata == ['{"owner":"[email]"}']
