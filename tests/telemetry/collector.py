"""A stand-in OTLP/HTTP traces endpoint on loopback for the tests: what it was sent, decoded with
OpenTelemetry's own protobuf classes, and its answers scripted per request."""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

Answer = tuple[int, dict[str, str]]


class Collector:
    """An OTLP/HTTP traces endpoint on loopback answering `script` in order, then 200."""

    def __init__(self, script: list[Answer] | None = None, drop_after_first: bool = False) -> None:
        self.script = list(script or [])
        self.bodies: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.peers: list[tuple[str, int]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                collector.bodies.append(ExportTraceServiceRequest.FromString(body))
                collector.headers.append(headers)
                collector.peers.append(self.client_address)
                status, extra = collector.script.pop(0) if collector.script else (200, {})
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()
                # Closed without saying so, as an idle connection a collector timed out is.
                self.close_connection = drop_after_first and len(collector.bodies) == 1

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
