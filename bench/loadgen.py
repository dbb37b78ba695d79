"""wrk as a library: start servers pinned to a core, load them, read rps, latency and CPU.

Every load run is bounded in time (wrk -d, wrapped in a timeout), goes to 127.0.0.1 only, and
the processes started here are stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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
def server(
    argv: Sequence[str],
    port: int,
    *,
    cpu: str = SERVER_CPU,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    start_timeout: float = 60.0,
) -> Iterator[int]:
    """Start a server pinned to `cpu`, wait until it accepts, yield its PID, stop it.

    `env` replaces the environment it inherits; `log` receives its stdout and stderr (by default
    they are discarded), and its tail is in the error when it does not start.
    """
    with contextlib.ExitStack() as stack:  # the log file stays open in the child only
        output: IO[bytes] | int = subprocess.DEVNULL
        if log is not None:
            output = stack.enter_context(log.open("wb"))
        process = subprocess.Popen(
            pinned(cpu, argv),
            stdout=output,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
        )
    try:
        deadline = time.monotonic() + start_timeout
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "" if log is None else "\n" + _tail(log)
                raise RuntimeError(f"{argv[0]} did not start on port {port}{tail}")
            time.sleep(0.1)
        yield process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _accepts(port: int) -> bool:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (which may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime + stime


def kernel_seconds(pid: int) -> float:
    """The part of `cpu_seconds` spent in the kernel (stime)."""
    return int(_stat(pid)[12]) / _CLK_TCK


def storage_bytes(pid: int) -> int:
    """Bytes the process has caused to be written to storage (/proc/PID/io write_bytes: pages it
    dirtied in files, here the ledger's WAL and database); 0 where the kernel keeps no count."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


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
    errors: int  # non-2xx/3xx answers plus socket errors (connect, read, write, timeout)
    non_2xx: int = 0
    socket_errors: int = 0
    wall_s: float = 0.0  # how long wrk ran
    load_cpu_s: float = 0.0  # wrk's own CPU time (user + system)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def load(
    url: str,
    body: bytes | None,
    *,
    connections: int,
    seconds: int,
    pid: int,
    timeout_s: float | None = None,
    bearer: str = "sk-bench",
) -> Result:
    """Run wrk against `url` (POSTing `body` as JSON, or GET) and measure the server's CPU.

    `timeout_s` is wrk's per-request timeout (its default, 2 s, counts slower answers as socket
    errors). The CPU figure is `pid`'s own (all its threads, not its children). `bearer` is
    sent as the client's key."""
    script = f"wrk.headers['Authorization'] = 'Bearer {bearer}'\n"
    if body is not None:
        script += (
            "wrk.method = 'POST'\nwrk.headers['Content-Type'] = 'application/json'\n"
            f"wrk.body = [==[{body.decode()}]==]\n"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        before = cpu_seconds(pid)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        out = subprocess.run(
            pinned(
                LOAD_CPU,
                [
                    require_wrk(),
                    "-t1",
                    f"-c{connections}",
                    f"-d{seconds}s",
                    "--latency",
                    *([] if timeout_s is None else [f"--timeout={timeout_s:g}s"]),
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
        wall = time.monotonic() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, reaped by run()
        load_cpu = (children.ru_utime - children_before.ru_utime) + (
            children.ru_stime - children_before.ru_stime
        )
    finally:
        os.unlink(lua.name)
    if "Latency Distribution" not in out:
        raise RuntimeError(f"wrk gave no latency distribution:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Result(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        cpu_us_per_request=cpu / max(requests, 1) * 1e6,
        requests=requests,
        errors=non_2xx + socket_errors,
        non_2xx=non_2xx,
        socket_errors=socket_errors,
        wall_s=wall,
        load_cpu_s=load_cpu,
    )
