"""`laneway serve --log-format json` as a real process: every line on stderr parses as one JSON
object; one request line per recorded request (answered, retried into a fallback, streamed,
refused) whose fields match the ledger and the response headers; never a key, never a prompt."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import orjson
import pytest

from laneway.emulator.config import EmulatorConfig, FaultRule
from laneway.emulator.server import EmulatorServer
from laneway.ledger.sqlite import SQLiteLedger
from laneway.pricing.money import usd_str
from laneway.telemetry.json_log import REQUEST_LOGGER, JsonFormatter
from tests.gateway.serve_process import free_port
from tests.sdk import sdk

PROMPT = "MARKER-PROMPT-5b1e: tell me about herons."
CLIENT_KEY = "sk-client-json-never-logged-0123"
PROVIDER_KEY = "sk-provider-json-never-logged-0123"
FIELDS = {
    "ts", "level", "logger", "record_id", "trace_id", "status", "http", "lane", "model",
    "answering_model", "attempts", "latency_ms", "ttfb_ms", "cost_usd", "key_id", "refusal",
}  # fmt: skip


def serve(config: Path, port: int, log: Path, *options: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EMU_KEY": PROVIDER_KEY}
    env.pop("LANEWAY_API_KEYS", None)
    command = [sys.executable, "-m", "laneway", "serve", "--config", str(config)]
    with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise AssertionError("laneway serve did not start: " + log.read_text())


def test_every_stderr_line_is_a_json_object(tmp_path: Path) -> None:
    faults = (FaultRule(kind="status", status=503, models=("gpt-5.2",)),)
    with EmulatorServer(EmulatorConfig(seed=3, speed=0, tier="none", faults=faults)) as emulator:
        config = tmp_path / "laneway.toml"
        config.write_text(
            f"""
[server]
api_keys = ["{CLIENT_KEY}"]

[providers.emu]
kind = "openai-compatible"
base_url = "{emulator.base_url}"
api_key_env = "EMU_KEY"

[models."gpt-5.2"]
fallbacks = ["gpt-5.4-mini"]

[retry]
base_delay_s = 0.0

[ledger]
path = "ledger.db"

[tracing]
exporter = "none"
"""
        )
        port, log = free_port(), tmp_path / "serve.log"
        process = serve(config, port, log, "--log-format", "json")
        try:
            headers = traffic(f"http://127.0.0.1:{port}/v1")
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(30)
    assert code == 0
    text = log.read_text()
    lines = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    assert all(
        isinstance(line, dict) and {"ts", "level", "logger"} <= line.keys() for line in lines
    )
    assert any(line["logger"] == "laneway.serve" and "gateway on" in line["msg"] for line in lines)
    for secret in (CLIENT_KEY, PROVIDER_KEY, "MARKER-PROMPT", "herons"):
        assert secret not in text

    requests = {line["record_id"]: line for line in lines if line["logger"] == REQUEST_LOGGER}
    assert requests.keys() == headers.keys()
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    try:
        for record_id, sent in headers.items():
            line, record = requests[record_id], ledger.get(record_id)
            assert record is not None
            assert line["trace_id"] == record.trace_id
            assert line["trace_id"] is not None
            if sent:  # a refusal before routing has only x-laneway-request-id
                assert line["trace_id"] == sent["x-laneway-trace-id"]
            check_line(line, record)
    finally:
        ledger.close()
    statuses = sorted(line["status"] for line in requests.values())
    assert statuses == ["ok", "ok", "ok", "refused"]


def traffic(base_url: str) -> dict[str, dict[str, str]]:
    """Record id -> the response headers, for each request sent."""
    seen: dict[str, dict[str, str]] = {}
    with sdk(base_url, CLIENT_KEY) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-5.4-mini", messages=[{"role": "user", "content": PROMPT}]
        )
        raw.parse()
        seen[raw.headers["x-laneway-request-id"]] = dict(raw.headers)
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-5.2", messages=[{"role": "user", "content": PROMPT}]
        )
        raw.parse()
        seen[raw.headers["x-laneway-request-id"]] = dict(raw.headers)
        with client.responses.with_streaming_response.create(
            model="gpt-5.4-mini", input=PROMPT, stream=True
        ) as streamed:
            list(streamed.parse())
            seen[streamed.headers["x-laneway-request-id"]] = dict(streamed.headers)
        with pytest.raises(openai.NotFoundError) as refused:
            client.responses.create(model="lane:nope", input=PROMPT)
        seen[refused.value.response.headers["x-laneway-request-id"]] = {}
    with sdk(base_url, "sk-wrong-key") as stranger, pytest.raises(openai.AuthenticationError):
        stranger.responses.create(model="gpt-5.4-mini", input=PROMPT)  # no record: no line
    return seen


def check_line(line: dict[str, Any], record: Any) -> None:
    assert line["status"] == record.status
    assert line["http"] == record.http_status
    assert line["lane"] == record.lane
    assert line["model"] == record.requested_model
    assert line["answering_model"] == record.answering_model
    assert line["attempts"] == len(record.attempts)
    assert line["key_id"] == record.key_id
    assert line["refusal"] == record.refusal
    assert line["latency_ms"] == record.latency_ms
    if record.cost_usd is None:
        assert line["cost_usd"] is None  # unknown: null, never 0
    else:
        assert line["cost_usd"] == usd_str(record.cost_usd)
        assert Decimal(line["cost_usd"]) == record.cost_usd
    assert line["ttfb_ms"] == record.ttfb_ms
    assert line.keys() == FIELDS


def test_other_records_and_failures_are_objects_too() -> None:
    formatter = JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        entry = logging.LogRecord(
            "laneway.x", logging.ERROR, "f", 1, "failed %s", ("here",), sys.exc_info()
        )
    line = orjson.loads(formatter.format(entry))
    assert line["level"] == "error"
    assert line["logger"] == "laneway.x"
    assert line["msg"] == "failed here"
    assert "ValueError: boom" in line["exc"]
    assert "\n" not in formatter.format(entry)  # one line, the traceback inside the object


def test_the_config_key_chooses_json_too(tmp_path: Path) -> None:
    config = tmp_path / "laneway.toml"
    config.write_text(f'[server]\nlog_format = "json"\n[ledger]\npath = "{tmp_path / "l.db"}"\n')
    port, log = free_port(), tmp_path / "serve.log"
    process = serve(config, port, log)  # no --log-format: the config's
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    lines = [orjson.loads(line) for line in log.read_text().splitlines()]
    assert any(line["logger"] == "laneway.serve" for line in lines)


@pytest.mark.parametrize("chosen_by", ["flag", "config"])
def test_a_start_up_error_is_a_json_line_too(tmp_path: Path, chosen_by: str) -> None:
    config = tmp_path / "laneway.toml"
    log_format = '[server]\nlog_format = "json"\n' if chosen_by == "config" else ""
    config.write_text(
        f'{log_format}[ledger]\npath = "{tmp_path / "l.db"}"\n[tracing]\nsample_ratio = 2\n'
    )
    flags = ["--log-format", "json"] if chosen_by == "flag" else []
    done = subprocess.run(
        [sys.executable, "-m", "laneway", "serve", "--config", str(config), "--port", "0", *flags],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    if chosen_by == "config":  # the config cannot be read, so its choice is not known
        assert done.stderr.startswith("laneway: error: ")
        return
    lines = [orjson.loads(line) for line in done.stderr.splitlines()]
    assert lines
    assert all(line["level"] == "error" and line["logger"] == "laneway.serve" for line in lines)
    assert any("sample_ratio" in line["msg"] for line in lines)


def test_a_port_in_use_is_a_json_line_when_the_config_chose_json(tmp_path: Path) -> None:
    config = tmp_path / "laneway.toml"
    config.write_text(f'[server]\nlog_format = "json"\n[ledger]\npath = "{tmp_path / "l.db"}"\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "laneway",
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    last = orjson.loads(done.stderr.splitlines()[-1])
    assert last["level"] == "error"
    assert last["msg"].startswith(f"cannot listen on 127.0.0.1:{port}")
    assert all(orjson.loads(line) for line in done.stderr.splitlines())  # every line JSON
