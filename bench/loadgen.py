"""wrk as a library: start servers pinned to a core, load them, read rps, latency and CPU.

Every load run is bounded in time (wrk -d, wrapped in a timeout), goes to 127.0.0.1 only, and
the processes started here are stopped by PID.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_CPU = "0"
LOAD_CPU = "1"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    return wrk


def pinned(cpu: str, argv: Sequence[str]) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", cpu, *argv] if taskset and (os.cpu_count() or 1) > 1 else list(argv)


@contextmanager
def server(argv: Sequence[str], port: int, *, cpu: str = SERVER_CPU) -> Iterator[int]:
    """Start a server pinned to `cpu`, wait until it accepts, yield its PID, stop it."""
    process = subprocess.Popen(
        pinned(cpu, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start on port {port}")
            time.sleep(0.1)
        yield process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _accepts(port: int) -> bool:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float
    requests: int
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def load(url: str, body: bytes | None, *, connections: int, seconds: int, pid: int) -> Result:
    """Run wrk against `url` (POSTing `body` as JSON, or GET) and measure the server's CPU."""
    script = "wrk.headers['Authorization'] = 'Bearer sk-bench'\n"
    if body is not None:
        script += (
            "wrk.method = 'POST'\nwrk.headers['Content-Type'] = 'application/json'\n"
            f"wrk.body = [==[{body.decode()}]==]\n"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        before = cpu_seconds(pid)
        out = subprocess.run(
            pinned(
                LOAD_CPU,
                [
                    require_wrk(),
                    "-t1",
                    f"-c{connections}",
                    f"-d{seconds}s",
                    "--latency",
                    "-s",
                    lua.name,
                    url,
                ],
            ),
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
        cpu = cpu_seconds(pid) - before
    finally:
        os.unlink(lua.name)
    if "Latency Distribution" not in out:
        raise RuntimeError(f"wrk gave no latency distribution:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Result(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        cpu_us_per_request=cpu / max(requests, 1) * 1e6,
        requests=requests,
        errors=errors,
    )
