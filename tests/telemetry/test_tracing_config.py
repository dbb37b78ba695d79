"""`[tracing]` from config: validated (unknown keys rejected); spans sent by OTLP/HTTP to a real
collector endpoint (a loopback sink decoding OpenTelemetry's protobuf), with headers read from
the environment; no OpenTelemetry module imported unless tracing exports; and without the
`otel` extra, `laneway serve` says what to install and exits 2.

(redis-py imports OpenTelemetry's API and metrics SDK on its own when they are installed: what
laneway must not import is its span building, the trace SDK and the exporter.)"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pydantic import ValidationError

from laneway.config import GatewayConfig
from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.cli.conftest import Run, assert_one_line_error
from tests.sdk import sdk
from tests.telemetry.conftest import PROVIDER_KEY, traced_config

OTLP_SECRET = "Bearer otlp-token-never-logged"  # noqa: S105 - a test value


class Sink:
    """An OTLP/HTTP traces endpoint on loopback: what it was sent, decoded."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                sink.requests.append(ExportTraceServiceRequest.FromString(body))
                sink.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    running = Sink()
    yield running
    running.close()


def test_spans_go_to_the_otlp_endpoint_with_headers_from_the_environment(
    emulator: EmulatorServer, sink: Sink, tmp_path: Path
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
        for request in sink.requests
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


def test_unknown_keys_and_bad_values_are_refused() -> None:
    for section in ({"sampel_ratio": 0.5}, {"sample_ratio": 1.5}, {"exporter": "zipkin"}):
        with pytest.raises(ValidationError):
            GatewayConfig.model_validate({"tracing": section})
    assert GatewayConfig().tracing is None  # absent: off
    on = GatewayConfig.model_validate({"tracing": {}}).tracing
    assert on is not None
    assert on.sample_ratio == 0.01  # each sampled request costs about twice its own CPU


def test_serve_refuses_an_unknown_tracing_key(tmp_path: Path, run: Run) -> None:
    config = tmp_path / "laneway.toml"
    config.write_text("[tracing]\nendpont = 'http://127.0.0.1:4318/v1/traces'\n")
    assert_one_line_error(
        run("serve", "--config", str(config)), "unknown key 'endpont' in [tracing]"
    )


# Run in a fresh interpreter: which modules an import pulls in is process-wide.
_IMPORTS = """
import asyncio, sys
from laneway.assembly import Assembly
from laneway.cli.main import cli
from laneway.config import GatewayConfig

async def main(tracing):
    config = GatewayConfig.model_validate({"tracing": tracing} if tracing is not None else {})
    assembly = Assembly(config, {}, upstream=None)
    assembly.gateway
    await assembly.close()

asyncio.run(main(TRACING))
# redis-py imports OpenTelemetry's API and metrics SDK itself when they are installed; laneway's
# spans need the trace SDK and the exporter, never imported here.
print(sorted(
    name for name in sys.modules
    if name.startswith(("opentelemetry.sdk.trace", "opentelemetry.exporter"))
    or name == "laneway.telemetry.tracing_spans"
))
"""


@pytest.mark.parametrize(
    ("tracing", "imported"),
    [
        ("None", False),
        ("{'exporter': 'none'}", False),
        ("{'enabled': False}", False),
        ("{'exporter': 'otlp'}", True),  # the control: exporting spans does import them
    ],
)
def test_no_tracing_module_is_imported_unless_spans_are_exported(
    tmp_path: Path, tracing: str, imported: bool
) -> None:
    script = _IMPORTS.replace("TRACING", tracing)
    env = {"LANEWAY_LEDGER": str(tmp_path / "ledger.db"), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    modules = ast.literal_eval(done.stdout.strip())
    assert bool(modules) is imported, modules
    if imported:
        assert "laneway.telemetry.tracing_spans" in modules


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


def test_serve_without_the_otel_extra_says_what_to_install(tmp_path: Path) -> None:
    config = tmp_path / "laneway.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [ledger]
            path = "{tmp_path / "ledger.db"}"
            [tracing]
            service_name = "no-otel"
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_OTEL, "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "laneway: error: [tracing] exports spans over OTLP: install laneway[otel]"
    )
    assert "Traceback" not in done.stderr
