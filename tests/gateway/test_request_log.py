"""The per-request log line: at INFO, one line per recorded request (id, status, lane, model,
latency, cost), never a secret or a prompt; no observer at all when INFO is off; and
`laneway serve --log-level` choosing it, as a real process."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import orjson
import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.gateway.request_log import RequestLog, direct_writer, request_log
from laneway.ledger.record import LedgerRecord, RecordStatus
from laneway.pricing.money import usd_str
from laneway.server.log_lines import LineBuffer
from laneway.telemetry.json_log import MARKS, JsonFormatter, json_line
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
    process.wait()
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


def _record(record_id: str, model: str, status: RecordStatus, **fields: Any) -> LedgerRecord:
    return LedgerRecord(record_id, 1.0, "key_1", "chat", model, False, status=status, **fields)


def _records() -> list[LedgerRecord]:
    return [
        _record("req_a", "gpt-5.4-mini", "ok", http_status=200, answering_model="gpt-5.4-mini",
                latency_ms=412.4, settled_at=2.5, cost_usd=Decimal("0.000231"),
                trace_id="4bf92f3577b34da6a3ce929d0e0e4736"),
        _record("req_b", "lane:x", "refused", http_status=429, lane="x", refusal="budget",
                latency_ms=0.2, settled_at=2.0),
        _record("req_c", "gpt-5.4", "ok", http_status=200, answering_model="gpt-5.4",
                settled_at=3.0),  # cost unknown
        _record("req_d", "gpt-5.4", "error", settled_at=3.5),
    ]  # fmt: skip


@pytest.fixture
def only_a_line_buffer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The root logger as `laneway serve` sets it up (its one handler a LineBuffer), with
    laneway's tree at INFO; pytest's own handlers put back afterwards."""
    monkeypatch.setattr(logging.root, "handlers", [])
    tree = logging.getLogger("laneway")
    level = tree.level
    tree.setLevel(logging.INFO)
    yield
    tree.setLevel(level)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_direct_path_writes_the_lines_logging_would(
    only_a_line_buffer: None, log_format: str
) -> None:
    json = log_format == "json"
    line, marks = (json_line, MARKS) if json else (None, None)
    written = []
    for direct in (True, False):
        stream = io.StringIO()
        handler = LineBuffer(stream, formatter=JsonFormatter() if json else None)
        logging.root.handlers[:] = [handler]
        (observer,) = request_log(line, marks)
        assert (observer._direct is not None) is True  # what serve's set-up gets
        if not direct:
            observer = RequestLog(line, marks)  # through logging: a LogRecord per line
        for record in _records():
            observer.write(record)
        handler.flush()
        written.append(stream.getvalue())
    through_direct, through_logging = written
    assert through_direct == through_logging
    assert len(through_direct.splitlines()) == len(_records())
    if json:
        assert [orjson.loads(x)["record_id"] for x in through_direct.splitlines()] == [
            "req_a", "req_b", "req_c", "req_d"
        ]  # fmt: skip
    else:
        assert through_direct.startswith("laneway: INFO laneway.gateway.request_log: req_a ")


def test_anything_else_on_the_way_keeps_loggings_path(only_a_line_buffer: None) -> None:
    handler = LineBuffer(io.StringIO())
    logging.root.handlers[:] = [handler]
    logger = logging.getLogger("laneway.gateway.request_log")
    assert direct_writer(logger, {}) is not None
    logging.root.handlers.append(logging.NullHandler())  # e.g. a test's capture
    assert direct_writer(logger, {}) is None
    logging.root.handlers[:] = [handler]
    handler.addFilter(lambda record: True)
    assert direct_writer(logger, {}) is None
    handler.filters.clear()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))  # a format it cannot make
    assert direct_writer(logger, {}) is None
    handler.setFormatter(JsonFormatter())
    assert direct_writer(logger, {}) is None  # unmarked records: JsonFormatter builds objects
    assert direct_writer(logger, MARKS) is not None
    logging.getLogger("laneway.gateway").addFilter(lambda record: True)
    try:
        assert direct_writer(logger, MARKS) is None
    finally:
        logging.getLogger("laneway.gateway").filters.clear()
