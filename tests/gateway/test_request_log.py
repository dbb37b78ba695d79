"""The per-request log line: at INFO, one line per recorded request (id, status, lane, model,
latency, cost), never a secret or a prompt; no observer at all when INFO is off; and
`laneway serve --log-level` choosing it, as a real process."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import openai
import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.gateway.request_log import RequestLog
from laneway.pricing.money import usd_str
from tests.gateway.conftest import Running, gateway_config, start
from tests.sdk import sdk

PROMPT = "The secret prompt: tell me about owls."
CLIENT_KEY = "sk-client-never-logged"


def request_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "laneway.gateway.request_log"]


def test_each_recorded_request_is_one_info_line(
    emulator: EmulatorServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="laneway")
    server, sleep = start(gateway_config(emulator, tmp_path / "ledger.db"))
    with server, sdk(server.base_url, CLIENT_KEY) as client:
        running = Running(server, sleep)
        raw = client.responses.with_raw_response.create(model="lane:extraction", input=PROMPT)
        record = running.record(raw.headers["x-laneway-request-id"])
        with pytest.raises(openai.NotFoundError):
            client.responses.create(model="lane:nope", input=PROMPT)
        running.records()
    answered, refused = request_lines(caplog)
    assert answered.startswith(f"{record.id} status=ok http=200 lane=extraction model=")
    assert f"model={record.answering_model} " in answered
    assert f"latency_ms={record.latency_ms:.0f} " in answered
    cost = "unknown" if record.cost_usd is None else usd_str(record.cost_usd)
    assert f"cost_usd={cost} " in answered  # unknown: never shown as zero
    assert " status=refused http=404 lane=- model=lane:nope " in refused
    assert refused.endswith(" refusal=not_found")
    for line in (answered, refused):
        assert "owls" not in line
        assert CLIENT_KEY not in line


def test_no_observer_when_info_is_off(
    emulator: EmulatorServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="laneway")
    server, _ = start(gateway_config(emulator, tmp_path / "ledger.db"))
    with server:
        assembly = server.assembly
        assert assembly is not None
        observers = assembly.gateway.observers.observers
        assert not any(isinstance(o, RequestLog) for o in observers)
        assert not assembly.gateway.observers.watch_refused


def serve(config: Path, log: Path, *flags: str) -> tuple[subprocess.Popen[bytes], int]:
    """`laneway serve` on a port of its own choosing (read from its start-up line: a port picked
    beforehand could be taken by another test's server meanwhile), and that port."""
    env = {**os.environ, "EMU_KEY": "sk-emu"}
    env.pop("LANEWAY_API_KEYS", None)
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "laneway", "serve", "--config", str(config),
             "--port", "0", *flags],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    for _ in range(600):  # a guard, not a timing: start-up ends with the line
        found = re.search(r"laneway gateway on http://127\.0\.0\.1:(\d+)/v1", log.read_text())
        if found is not None:
            return process, int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise AssertionError("laneway serve did not start: " + log.read_text())


def serve_config(tmp_path: Path, emulator: EmulatorServer) -> Path:
    config = tmp_path / "laneway.toml"
    config.write_text(
        f'[providers.emu]\nkind = "openai-compatible"\nbase_url = "{emulator.base_url}"\n'
        'api_key_env = "EMU_KEY"\n[ledger]\npath = "ledger.db"\n'
    )
    return config


@pytest.mark.parametrize(("flags", "logged"), [((), True), (("--log-level", "warning"), False)])
def test_serve_logs_requests_at_info_by_default(
    tmp_path: Path, flags: tuple[str, ...], logged: bool
) -> None:
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        log = tmp_path / "serve.log"
        process, port = serve(serve_config(tmp_path, emulator), log, *flags)
        try:
            answer = httpx.post(
                f"http://127.0.0.1:{port}/v1/responses",
                json={"model": "gpt-5.4-mini", "input": PROMPT},
                headers={"authorization": f"Bearer {CLIENT_KEY}"},
                timeout=30,
            )
            assert answer.status_code == 200
            request_id = answer.headers["x-laneway-request-id"]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
    text = log.read_text()
    lines = [line for line in text.splitlines() if "laneway.gateway.request_log" in line]
    assert bool(lines) is logged, text
    if logged:
        [line] = lines
        assert line.startswith(
            f"laneway: INFO laneway.gateway.request_log: {request_id} status=ok http=200"
        )
        assert "lane=- model=gpt-5.4-mini latency_ms=" in line
        assert "cost_usd=0.0" in line
    assert "owls" not in text
    assert CLIENT_KEY not in text
    # The open gateway's banner says what the first key will do.
    assert "the first `laneway keys create`" in text


def test_serve_writes_every_buffered_line_in_order_at_sigterm(tmp_path: Path) -> None:
    """INFO lines wait in laneway serve's handler (written in batches): none is lost when
    the process is stopped straight after its last answer."""
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        log = tmp_path / "serve.log"
        process, port = serve(serve_config(tmp_path, emulator), log)
        ids = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=30) as client:
                for _ in range(20):
                    answer = client.post(
                        "/chat/completions",
                        json={
                            "model": "gpt-5.4-mini",
                            "messages": [{"role": "user", "content": "hi"}],
                        },
                        headers={"authorization": f"Bearer {CLIENT_KEY}"},
                    )
                    assert answer.status_code == 200
                    ids.append(answer.headers["x-laneway-request-id"])
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0
    lines = [line for line in log.read_text().splitlines() if "request_log: " in line]
    assert [line.split("request_log: ")[1].split(" ")[0] for line in lines] == ids
