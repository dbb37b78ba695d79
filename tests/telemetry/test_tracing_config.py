"""`[tracing]` from config: validated (unknown keys rejected); spans sent by laneway's own
OTLP/HTTP exporter to a real collector endpoint (a loopback sink decoding with OpenTelemetry's
protobuf classes), with headers read from the environment; no OpenTelemetry module imported by
laneway, even exporting; `laneway serve` exports spans with OpenTelemetry not installed at all;
only an SDK exporter given in-process needs the `otel` extra."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from pydantic import ValidationError

from laneway.config import GatewayConfig
from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from laneway.telemetry.tracing_export import INSTALL_HINT
from tests.cli.conftest import Run, assert_one_line_error
from tests.gateway.serve_process import free_port
from tests.sdk import sdk
from tests.telemetry.collector import Collector
from tests.telemetry.conftest import PROVIDER_KEY, traced_config

OTLP_SECRET = "Bearer otlp-token-never-logged"  # noqa: S105 - a test value


@pytest.fixture
def sink() -> Iterator[Collector]:
    running = Collector()
    yield running
    running.close()


def test_spans_go_to_the_otlp_endpoint_with_headers_from_the_environment(
    emulator: EmulatorServer, sink: Collector, tmp_path: Path
) -> None:
    tracing = {
        "endpoint": sink.endpoint,
        "headers_env": "TEST_OTLP_HEADERS",
        "service_name": "laneway-otlp",
        "sample_ratio": 1.0,
    }
    config = traced_config(emulator, tmp_path / "ledger.db", tracing=tracing)
    env = {"EMU_KEY": PROVIDER_KEY, "TEST_OTLP_HEADERS": f"authorization={OTLP_SECRET}"}
    server = GatewayServer(config, env).start()
    try:
        with sdk(server.base_url, "sk-client") as client:
            raw = client.responses.with_raw_response.create(model="gpt-5.4-mini", input="Hi.")
            raw.parse()
    finally:
        server.stop()  # closing the gateway ships what waits
    spans = [
        (resource.resource, span)
        for request in sink.bodies
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert [span.name for _, span in spans] == ["chat gpt-5.4-mini", "chat gpt-5.4-mini"]
    resource, request_span = spans[0]
    assert request_span.trace_id.hex() == raw.headers["x-laneway-trace-id"]
    service = {a.key: a.value.string_value for a in resource.attributes}
    assert service["service.name"] == "laneway-otlp"
    names = {a.key: a for a in request_span.attributes}
    assert names["laneway.record_id"].value.string_value == raw.headers["x-laneway-request-id"]
    assert names["gen_ai.usage.output_tokens"].value.int_value > 0
    assert all(headers["authorization"] == OTLP_SECRET for headers in sink.headers)
    assert sink.headers[0]["content-type"] == "application/x-protobuf"
    assert sink.headers[0]["user-agent"].startswith("laneway/")


def test_unknown_keys_and_bad_values_are_refused() -> None:
    bad = (
        {"sampel_ratio": 0.5},
        {"sample_ratio": 1.5},
        {"exporter": "zipkin"},
        {"compression": "br"},
    )
    for section in bad:
        with pytest.raises(ValidationError):
            GatewayConfig.model_validate({"tracing": section})
    assert GatewayConfig().tracing is None  # absent: off
    on = GatewayConfig.model_validate({"tracing": {}}).tracing
    assert on is not None
    assert on.sample_ratio == 0.01  # each sampled request's spans cost a share of its own CPU
    assert on.compression == "none"  # a local collector is better served uncompressed


def test_serve_refuses_an_unknown_tracing_key(tmp_path: Path, run: Run) -> None:
    config = tmp_path / "laneway.toml"
    config.write_text("[tracing]\nendpont = 'http://127.0.0.1:4318/v1/traces'\n")
    assert_one_line_error(
        run("serve", "--config", str(config)), "unknown key 'endpont' in [tracing]"
    )


def test_serve_refuses_a_bad_header_entry_without_showing_it(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAD_OTLP_HEADERS", "authorization=ok,Bearer s3cret-token")
    config = tmp_path / "laneway.toml"
    ledger = tmp_path / "ledger.db"
    config.write_text(f"[ledger]\npath = '{ledger}'\n[tracing]\nheaders_env = 'BAD_OTLP_HEADERS'\n")
    result = run("serve", "--config", str(config), "--port", "0")
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "laneway: error: [tracing] headers_env: entry 2 of $BAD_OTLP_HEADERS is not name=value"
    )  # serve's notes on the built-in emulator come before it
    assert "s3cret" not in result.err


# Run in a fresh interpreter: which modules an import pulls in is process-wide.
_IMPORTS = """
import asyncio, sys
from laneway.assembly import Assembly
from laneway.cli.main import cli
from laneway.config import GatewayConfig

async def main(tracing):
    sections = {"ledger": {"path": LEDGER}}  # never the user's own (the default path)
    if tracing is not None:
        sections["tracing"] = tracing
    config = GatewayConfig.model_validate(sections)
    assembly = Assembly(config, {}, upstream=None)
    assembly.gateway
    await assembly.close()

asyncio.run(main(TRACING))
print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
print(sorted(name for name in sys.modules if name in SPAN_MODULES))
"""
SPAN_MODULES = {
    "laneway.telemetry.tracing_spans",
    "laneway.telemetry.otlp_proto",
    "laneway.telemetry.otlp_http",
    "laneway.telemetry.sdk_export",
}
_CASES = {"None": False, "{'exporter': 'none'}": False, "{'enabled': False}": False}


def imported_by(tracing: str, tmp_path: Path) -> tuple[set[str], set[str]]:
    """The OpenTelemetry modules and laneway's span modules a gateway with `tracing` loads."""
    script = _IMPORTS.replace("TRACING", tracing).replace("SPAN_MODULES", repr(SPAN_MODULES))
    script = script.replace("LEDGER", repr(str(tmp_path / f"{len(tracing)}.db")))
    env = {"HOME": str(tmp_path), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    opentelemetry, spans = done.stdout.strip().splitlines()
    return set(ast.literal_eval(opentelemetry)), set(ast.literal_eval(spans))


def test_no_opentelemetry_module_is_imported_by_laneway_even_exporting_over_otlp(
    tmp_path: Path,
) -> None:
    """redis-py imports OpenTelemetry's API and metrics SDK on its own when they are installed:
    the same set whatever `[tracing]` says, and never OpenTelemetry's trace SDK, exporters or
    protobuf classes. Span building and export are loaded only when spans are exported."""
    baseline, _ = imported_by("None", tmp_path)
    for tracing, exports in {**_CASES, "{'exporter': 'otlp'}": True}.items():
        opentelemetry, spans = imported_by(tracing, tmp_path)
        assert opentelemetry == baseline, tracing
        never = ("opentelemetry.sdk.trace", "opentelemetry.exporter", "opentelemetry.proto")
        assert not [name for name in opentelemetry if name.startswith(never)]
        expected = SPAN_MODULES - {"laneway.telemetry.sdk_export"} if exports else set()
        assert spans == expected, tracing


_WITHOUT_OTEL = """
import sys
from importlib.abc import MetaPathFinder

class NoOpenTelemetry(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoOpenTelemetry())
from laneway.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_serve_exports_spans_without_opentelemetry_installed(
    emulator: EmulatorServer, sink: Collector, tmp_path: Path
) -> None:
    """`laneway serve` in a process where no OpenTelemetry module can be imported: its spans
    reach the collector, and stopping it ships what waits."""
    config = tmp_path / "laneway.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [providers.emu]
            kind = "openai-compatible"
            base_url = "{emulator.base_url}"
            api_key_env = "EMU_KEY"
            [ledger]
            path = "{tmp_path / "ledger.db"}"
            [tracing]
            service_name = "no-otel"
            endpoint = "{sink.endpoint}"
            sample_ratio = 1.0
            """
        )
    )
    port = free_port()
    env = {**os.environ, "EMU_KEY": PROVIDER_KEY}
    env.pop("LANEWAY_API_KEYS", None)
    command = ["-c", _WITHOUT_OTEL, "serve", "--config", str(config), "--port", str(port)]
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *command],
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        answered = _first_answer(f"http://127.0.0.1:{port}/v1/chat/completions")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    assert code == 0, (tmp_path / "serve.log").read_text()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
    spans = [s for r in sink.bodies for rs in r.resource_spans for ss in rs.scope_spans
             for s in ss.spans]  # fmt: skip
    assert [span.name for span in spans] == ["chat gpt-5.4-mini", "chat gpt-5.4-mini"]
    assert spans[0].trace_id.hex() == answered.headers["x-laneway-trace-id"]


def _first_answer(url: str) -> httpx.Response:
    """A chat completion from the gateway at `url`, once it is up."""
    body = {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "Hi."}]}
    deadline = time.monotonic() + 30
    while True:
        try:
            answered = httpx.post(url, json=body, timeout=10)
            assert answered.status_code == 200, answered.text
            return answered
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_an_sdk_exporter_without_the_otel_extra_says_what_to_install() -> None:
    """Only a caller that hands laneway an OpenTelemetry `SpanExporter` needs the extra."""
    script = _WITHOUT_OTEL.replace(
        "from laneway.cli.main import main\nsys.exit(main(sys.argv[1:]))",
        """
import random
from laneway.clock import SystemClock
from laneway.errors import ConfigError
from laneway.telemetry.tracing_config import TracingConfig
from laneway.telemetry.tracing_export import tracing_observer
try:
    tracing_observer(TracingConfig(), {}, SystemClock(), random.Random(), exporter=object())
except ConfigError as refused:
    print(refused)
""",
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(INSTALL_HINT), done.stdout
