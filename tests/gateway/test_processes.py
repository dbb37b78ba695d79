"""`laneway serve` as real processes: killed mid-stream, restarted, and run with workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from tests.gateway.serve_process import start_serve, until_both_workers_answered


def serve(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    env = {**os.environ, "EMU_KEY": "sk-crash-test"}
    env.pop("LANEWAY_API_KEYS", None)
    return start_serve(["--config", str(config)], log, env)


def test_a_killed_gateway_leaves_an_unsettled_record(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    # Real-time pacing: a few hundred output tokens stream for seconds, time to kill mid-way.
    with EmulatorServer(EmulatorConfig(speed=1, tier="none")) as emulator:
        config = tmp_path / "laneway.toml"
        config.write_text(
            f"""
[providers.emu]
kind = "openai-compatible"
base_url = "{emulator.base_url}"
api_key_env = "EMU_KEY"

[ledger]
path = "ledger.db"
"""
        )
        first, port = serve(config, tmp_path / "first.log")
        try:
            body = {"model": "gpt-5.4", "input": "Write a long story.", "stream": True}
            with httpx.stream(
                "POST",
                f"http://127.0.0.1:{port}/v1/responses",
                json=body,
                headers={"authorization": "Bearer sk-client"},
                timeout=10,
            ) as answer:
                assert answer.status_code == 200
                request_id = answer.headers["x-laneway-request-id"]
                received = next(answer.iter_bytes())
                assert b"response.created" in received
                first.send_signal(signal.SIGKILL)  # no chance to settle anything
                first.wait(10)
        finally:
            first.kill()
            first.wait()

        second, _ = serve(config, tmp_path / "second.log")
        try:
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0
        finally:
            second.kill()
            second.wait()
        assert "1 request(s) reserved but never settled" in (tmp_path / "second.log").read_text()

    report = subprocess.run(
        [sys.executable, "-m", "laneway", "usage", "--ledger", str(ledger), "--json"],
        capture_output=True,
        check=True,
        text=True,
    )
    rows = json.loads(report.stdout)
    assert sum(row["unsettled"] for row in rows) == 1, report.stdout

    from laneway.ledger.sqlite import SQLiteLedger  # noqa: PLC0415 - after the servers are gone

    store = SQLiteLedger(ledger)
    try:
        (lost,) = store.unsettled()
    finally:
        store.close()
    assert lost.id == request_id
    assert lost.status == "reserved"
    assert lost.stream


def test_workers_share_the_port_and_the_ledger(tmp_path: Path) -> None:
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        config = tmp_path / "laneway.toml"
        config.write_text(
            f"""
[server]
workers = 2

[providers.emu]
kind = "openai-compatible"
base_url = "{emulator.base_url}"
api_key_env = "EMU_KEY"

[ledger]
path = "ledger.db"
"""
        )
        gateway, port = serve(config, tmp_path / "workers.log")
        try:
            ids, _, _ = until_both_workers_answered(port, "gpt-5.4-nano")
            gateway.send_signal(signal.SIGTERM)
            assert gateway.wait(30) == 0
        finally:
            gateway.kill()
            gateway.wait()
    assert "(2 workers)" in (tmp_path / "workers.log").read_text()
    # Each worker has its own id prefix: both served (the kernel spreads new connections).
    assert len({request_id[:28] for request_id in ids}) == 2

    from laneway.ledger.sqlite import SQLiteLedger  # noqa: PLC0415

    store = SQLiteLedger(tmp_path / "ledger.db")
    try:
        records = list(store.between(None, None))
    finally:
        store.close()
    assert {record.id for record in records} == ids
    assert all(record.status == "ok" for record in records)
