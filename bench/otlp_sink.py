"""A stand-in OpenTelemetry collector for bench_arms' `tracing` arm: an OTLP/HTTP endpoint on
loopback that reads each export request whole and answers 200 (an empty ExportTraceServiceResponse),
so the gateway pays everything of exporting (building, encoding, sending) and nothing is kept.

    .venv/bin/python -m bench.otlp_sink --port 4439
"""

from __future__ import annotations

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a collector would

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    with ThreadingHTTPServer(("127.0.0.1", port), Sink) as sink:
        try:
            sink.serve_forever()
        except KeyboardInterrupt:  # the harness stops servers with SIGINT
            return


if __name__ == "__main__":
    main()
