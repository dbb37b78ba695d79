"""`laneway serve` with two workers and `[metrics]` on, as real processes: every scrape, whichever
worker answers it, shows both workers' requests, tokens and cost exactly; a damaged snapshot
file is skipped; the shared directory is private and gone once the gateway stops."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.ledger.sqlite import SQLiteLedger
from tests.gateway.serve_process import start_serve, until_both_workers_answered
from tests.telemetry.metrics_samples import Samples, samples, total

_PUBLISHED_S = 15.0  # a worker publishes every second: far longer means it never will


def scrape(port: int) -> Samples:
    answer = httpx.get(
        f"http://127.0.0.1:{port}/metrics", headers={"connection": "close"}, timeout=10
    )
    assert answer.status_code == 200
    return samples(answer.text)


def scrape_until(port: int, requests: int) -> None:
    """Until a scrape shows every request: the other worker's last ones are in its file once it
    has published (within a second)."""
    deadline = time.monotonic() + _PUBLISHED_S
    while total(scrape(port), "laneway_requests_total") != requests:
        assert time.monotonic() < deadline, "the workers' counts were never merged"
        time.sleep(0.05)


def serve_with_metrics(
    tmp_path: Path, emulator: EmulatorServer, workers: int, log: Path
) -> tuple[subprocess.Popen[bytes], int, Path]:
    """`laneway serve` with `[metrics]` open on the emulator: the process, its port, and the
    directory it makes its shared one in (its TMPDIR)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    config = tmp_path / "laneway.toml"
    config.write_text(
        f"""
[server]
workers = {workers}

[metrics]
enabled = true
open = true

[providers.emu]
kind = "openai-compatible"
base_url = "{emulator.base_url}"
api_key_env = "EMU_KEY"

[ledger]
path = "{tmp_path / "ledger.db"}"
"""
    )
    env = {**os.environ, "EMU_KEY": "sk-workers-test", "TMPDIR": str(temporary)}
    env.pop("LANEWAY_API_KEYS", None)
    gateway, port = start_serve(["--config", str(config)], log, env)
    return gateway, port, temporary


def test_every_scrape_shows_both_workers_counts(tmp_path: Path) -> None:
    log = tmp_path / "workers.log"
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        gateway, port, temporary = serve_with_metrics(tmp_path, emulator, 2, log)
        try:
            ids, tokens_in, tokens_out = until_both_workers_answered(port, "gpt-5.4-mini")
            (shared,) = temporary.iterdir()
            assert stat.S_IMODE(shared.stat().st_mode) == 0o700
            scrape_until(port, len(ids))
            (shared / "worker-7.json").write_bytes(b'{"version": 1, "routes": [[')  # mid-crash
            costs = []
            for _ in range(12):  # on fresh connections: both workers answer some
                found = scrape(port)
                assert total(found, "laneway_requests_total") == len(ids)
                assert total(found, "laneway_requests_total", status="ok") == len(ids)
                assert total(found, "laneway_tokens_total", type="input") == tokens_in
                assert total(found, "laneway_tokens_total", type="output") == tokens_out
                assert total(found, "laneway_request_duration_seconds_count") == len(ids)
                costs.append(total(found, "laneway_cost_usd_total"))
            assert sorted(path.name for path in shared.iterdir()) == [
                "worker-0.json",
                "worker-1.json",
                "worker-7.json",
            ]
            gateway.send_signal(signal.SIGTERM)
            assert gateway.wait(30) == 0
        finally:
            gateway.kill()
            gateway.wait()
    assert list(temporary.iterdir()) == []  # removed once the workers were gone
    said = log.read_text()
    assert "(2 workers)" in said
    assert 1 <= said.count("skipped the worker's metrics in") <= 2  # once per worker at most
    store = SQLiteLedger(tmp_path / "ledger.db")
    try:
        records = list(store.between(None, None))
    finally:
        store.close()
    assert {record.id for record in records} == ids
    spent = sum((record.cost_usd or Decimal(0) for record in records), Decimal(0))
    assert spent > 0
    assert {Decimal(repr(cost)) for cost in costs} == {spent}  # pico-exact, then one float


def test_one_worker_shares_nothing(tmp_path: Path) -> None:
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        log = tmp_path / "one.log"
        gateway, port, temporary = serve_with_metrics(tmp_path, emulator, 1, log)
        try:
            answer = httpx.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                json={"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hi"}]},
                headers={"authorization": "Bearer sk-client"},
                timeout=10,
            )
            assert answer.status_code == 200
            assert total(scrape(port), "laneway_requests_total") == 1
            assert list(temporary.iterdir()) == []  # no directory, no files
            gateway.send_signal(signal.SIGTERM)
            assert gateway.wait(30) == 0
        finally:
            gateway.kill()
            gateway.wait()
