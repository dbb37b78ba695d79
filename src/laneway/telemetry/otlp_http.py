"""laneway's OTLP/HTTP span exporter: each batch one `POST` of a protobuf
`ExportTraceServiceRequest` (`content-type: application/x-protobuf`, OTLP/HTTP's default
encoding) to `[tracing] endpoint`, with the standard library's `http.client`.

One keep-alive connection is kept and reused (a collector answers many batches); after any
failure it is closed and the next attempt connects again. 429, 502, 503, 504 and connection
failures are retried with exponential backoff and jitter (a collector's `Retry-After` is
honoured), while the batch's `timeout_s` lasts; then the batch is given up (the shipper counts
it). Waiting goes through `wait`, which returns True once the shipper is stopping: a stop is
never held up by a backoff. Runs on the span thread only; never on a request.
"""

from __future__ import annotations

import gzip
import http.client
import random
import ssl
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import unquote, urlsplit

from laneway.clock import Clock
from laneway.errors import ConfigError
from laneway.telemetry.otlp_proto import TraceEncoder
from laneway.telemetry.span_export import ExportFailed
from laneway.telemetry.tracing_spans import SpanFacts
from laneway.upstream.retry import server_delay_s

RETRYABLE = frozenset({429, 502, 503, 504})  # as OTLP/HTTP's specification lists them
_BASE_DELAY_S = 1.0
_MAX_DELAY_S = 16.0
_JITTER = 0.2  # a backoff delay is scaled by U[0.8, 1.2)
_ANSWER_MAX = 1 << 16
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

_BACKOFF = -1.0  # retry after a backoff of laneway's choosing

Wait = Callable[[float], bool]  # sleeps up to the seconds given; True: stopping, give up


def parse_headers(text: str, env_name: str) -> dict[str, str]:
    """`name=value,name2=value2` (OTLP's exporter header form: names and values
    percent-decoded, blanks around them ignored). An entry that is not a valid header is a
    ConfigError naming its position only: the text may hold a secret."""
    headers: dict[str, str] = {}
    for position, entry in enumerate(text.split(","), start=1):
        if not entry.strip():
            continue
        name, equals, value = entry.partition("=")
        name, value = unquote(name.strip()).lower(), unquote(value.strip())
        if not equals or not name or not set(name) <= _TOKEN:
            raise ConfigError(
                f"[tracing] headers_env: entry {position} of ${env_name} is not name=value"
            )
        if any((ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F for char in value):
            raise ConfigError(
                f"[tracing] headers_env: entry {position} of ${env_name} has a control "
                "character in its value"
            )
        headers[name] = value
    return headers


class OtlpHttpExporter:
    """Batches of spans to an OTLP/HTTP traces endpoint (a SpanExport)."""

    def __init__(
        self,
        endpoint: str,
        encoder: TraceEncoder,
        *,
        headers: Mapping[str, str],
        timeout_s: float,
        gzip_body: bool,
        clock: Clock,
        rng: random.Random,
        wait: Wait,
    ) -> None:
        parts = urlsplit(endpoint)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._encoder = encoder
        self._headers = {
            **headers,
            "content-type": "application/x-protobuf",
            **({"content-encoding": "gzip"} if gzip_body else {}),
        }
        self._timeout_s = timeout_s
        self._gzip = gzip_body
        self._clock = clock
        self._rng = rng
        self._wait = wait
        self._connection: http.client.HTTPConnection | None = None
        self._tls: ssl.SSLContext | None = None
        self.connections = 0  # connections opened (tests: keep-alive reuse)

    def export(self, spans: Sequence[SpanFacts]) -> None:
        """POST the batch, retried while `timeout_s` lasts; ExportFailed when it is lost."""
        body = self._encoder.encode(spans)
        if self._gzip:
            body = gzip.compress(body, compresslevel=6, mtime=0)
        deadline = self._clock.monotonic() + self._timeout_s
        retries = 0
        while True:
            delay, problem = self._attempt(body, deadline)
            if problem is None:
                return
            remaining = deadline - self._clock.monotonic()
            if delay == _BACKOFF:
                delay = min(_BASE_DELAY_S * 2**retries, _MAX_DELAY_S)
                delay *= 1 - _JITTER + 2 * _JITTER * self._rng.random()
            # A wait past the deadline would end in an attempt with no time left: given up now.
            if delay is None or delay >= remaining:
                raise ExportFailed(f"{len(spans)} spans: {problem} (gave up after {retries + 1})")
            retries += 1
            if self._wait(delay):
                raise ExportFailed(f"{len(spans)} spans: {problem} (stopping)")

    def shutdown(self) -> None:
        self._close()

    def _attempt(self, body: bytes, deadline: float) -> tuple[float | None, str | None]:
        """One POST. (_, None): delivered. (None, problem): not to be retried. (delay,
        problem): retry after `delay` seconds (the collector's), or _BACKOFF."""
        reused = self._connection is not None
        try:
            status, headers = self._post(body, deadline)
        except (OSError, http.client.HTTPException) as failed:
            self._close()
            if not reused or isinstance(failed, TimeoutError):
                return _BACKOFF, _described(failed)
            # The collector may have closed the idle connection between batches: a fresh
            # one at once, before any backoff.
            try:
                status, headers = self._post(body, deadline)
            except (OSError, http.client.HTTPException) as again:
                self._close()
                return _BACKOFF, _described(again)
        if 200 <= status < 300:
            return 0.0, None
        problem = f"the collector answered {status}"
        if status not in RETRYABLE:
            return None, problem
        asked = server_delay_s(headers, self._clock.time())
        return (_BACKOFF if asked is None or asked < 0 else asked), problem

    def _post(self, body: bytes, deadline: float) -> tuple[int, dict[str, str]]:
        timeout_s = max(deadline - self._clock.monotonic(), 0.001)
        connection = self._connection
        if connection is None:
            connection = self._connection = self._connect(timeout_s)
            self.connections += 1
        connection.timeout = timeout_s
        if connection.sock is not None:
            connection.sock.settimeout(timeout_s)
        connection.request("POST", self._path, body, self._headers)
        response = connection.getresponse()
        # The whole answer (an OTLP answer is small), so the connection can carry the next
        # request; one that is not small, or says it closes, is not kept.
        response.read(_ANSWER_MAX)
        headers = {name.lower(): value for name, value in response.getheaders()}
        if response.will_close or not response.isclosed():
            self._close()
        return response.status, headers

    def _connect(self, timeout_s: float) -> http.client.HTTPConnection:
        if self._https:
            if self._tls is None:
                self._tls = ssl.create_default_context()  # the system's certificates
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout_s, context=self._tls
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout_s)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
