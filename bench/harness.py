"""The benchmarks' one harness: start the emulator and `laneway serve`, place processes on the two
cores, drive wrk, wait for a quiet machine, count instructions under callgrind, check answers.

Benchmarks use laneway only through its CLI (`python -m laneway serve|emulate`, run by any
interpreter: a second install is the baseline of a before/after run) or its public API. Every
load run is bounded in time, goes to 127.0.0.1 only, and the processes started here are stopped
by PID.

Placement (bench/README.md says why): the server under test runs on CPU 0; the emulator, wrk
and helpers (Redis) on CPU 1. At 1 connection a request is a serial chain, so the server under
test moves onto CPU 1 beside them for that run (no cross-core wake-ups, ~0.1 ms each on this VM).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

SERVER_CPU, LOAD_CPU = 0, 1
CLK_TCK = os.sysconf("SC_CLK_TCK")
NOISY = 0.1  # other processes' CPU during a run above a tenth of a core: flagged
SATURATED = 0.9  # CPU 1 busier than this: the upstream side may have set the rate
UPSTREAM_KEY_ENV, UPSTREAM_KEY = "LANEWAY_BENCH_UPSTREAM_KEY", "sk-anything"  # the emulator's
BEARER = "sk-bench"  # what wrk sends unless told otherwise

PROMPT = b"Summarise the attached quarterly report in three bullet points please."
WORKLOADS: dict[str, tuple[str, bytes]] = {  # name -> (path, body): small, as in bench-notes
    "chat": (
        "/v1/chat/completions",
        b'{"model":"gpt-5.4","messages":[{"role":"user","content":"' + PROMPT + b'"}]}',
    ),
    "responses": ("/v1/responses", b'{"model":"gpt-5.4","input":"' + PROMPT + b'"}'),
    "chat stream": (
        "/v1/chat/completions",
        b'{"model":"gpt-5.4","stream":true,"stream_options":{"include_usage":true},'
        b'"messages":[{"role":"user","content":"' + PROMPT + b'"}]}',
    ),
    "responses stream": (
        "/v1/responses",
        b'{"model":"gpt-5.4","stream":true,"input":"' + PROMPT + b'"}',
    ),
}


def with_model(body: bytes, model: str) -> bytes:
    return json.dumps(json.loads(body) | {"model": model}, separators=(",", ":")).encode()


def require(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise SystemExit(f"{tool} is not installed: apt-get install -y {package}")
    return found


def version_of(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


def wrk_version() -> str:
    out = subprocess.run([require("wrk", "wrk"), "-v"], capture_output=True, text=True, check=False)
    return (out.stdout + out.stderr).split(" [", 1)[0].removeprefix("wrk ").strip()


# --- processes ---------------------------------------------------------------------------------


def pinned(cpu: int, argv: Sequence[str]) -> list[str]:
    taskset = shutil.which("taskset")
    multi = (os.cpu_count() or 1) > 1
    return [taskset, "-c", str(cpu), *argv] if taskset and multi else list(argv)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def check_ports_free(ports: Sequence[int]) -> None:
    if busy := [p for p in ports if not port_free(p)]:
        raise SystemExit(f"port(s) {busy} already in use on 127.0.0.1 (another benchmark?)")


@contextlib.contextmanager
def server(
    argv: Sequence[str],
    port: int,
    *,
    cpu: int = SERVER_CPU,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    start_timeout: float = 60.0,
) -> Iterator[int]:
    """Start a server pinned to `cpu`, wait until it accepts on `port`, yield its PID, stop it
    (SIGINT, then SIGKILL). Its output goes to `log`, whose tail is in the error if it fails."""
    with contextlib.ExitStack() as stack:  # the log file stays open in the child only
        output: IO[bytes] | int = subprocess.DEVNULL
        if log is not None:
            output = stack.enter_context(log.open("wb"))
        process = subprocess.Popen(
            pinned(cpu, argv), stdout=output, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + start_timeout
        while port_free(port):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "" if log is None else log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{argv[0]} did not start on port {port}\n{tail}")
            time.sleep(0.1)
        yield process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def emulator(port: int, log: Path, *, speed: str = "0") -> contextlib.AbstractContextManager[int]:
    """`laneway emulate` (this tree's) on CPU 1: the upstream of every benchmark."""
    argv = [sys.executable, "-m", "laneway", "emulate", "--port", str(port)]
    return server([*argv, "--speed", speed, "--tier", "none"], port, cpu=LOAD_CPU, log=log)


def gateway_config(home: Path, upstream_port: int, extra: str = "") -> Path:
    """A gateway config in `home` (made here): its own SQLite ledger (and key store beside it),
    the emulator as an `openai-compatible` provider, then `extra` (lanes, state)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "laneway.toml"
    config.write_text(
        f'[ledger]\npath = "{home / "ledger.db"}"\n\n[providers.emulator]\n'
        f'kind = "openai-compatible"\nbase_url = "http://127.0.0.1:{upstream_port}/v1"\n'
        f'api_key_env = "{UPSTREAM_KEY_ENV}"\n{extra}'
    )
    return config


def gateway_command(
    python: str, config: Path, port: int, env: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """`python -m laneway serve` with `config` on `port`, and its environment: this one without
    laneway's own variables, plus the upstream's key and `env` (e.g. LANEWAY_ADMIN_KEY)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LANEWAY_")}
    argv = [python, "-m", "laneway", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return [*argv, "--config", str(config)], clean | {UPSTREAM_KEY_ENV: UPSTREAM_KEY, **(env or {})}


def serve_problem(python: str) -> str | None:
    """None when `python -m laneway serve` exists, else why not."""
    done = subprocess.run(
        [python, "-m", "laneway", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = (done.stderr or done.stdout).strip().splitlines()
    return None if done.returncode == 0 else (lines[-1:] or ["no output"])[0]


# --- /proc -------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (which may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (LiteLLM starts workers; valgrind may fork)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                children.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop())
        todo.extend(children.get(out[-1], []))
    return out


def cpu_seconds(pid: int) -> float:
    """User and system CPU of `pid` and its descendants (one that just ended counts nothing)."""
    total = 0
    for each in tree(pid):
        with contextlib.suppress(OSError):
            fields = _stat(each)
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_mb(pid: int) -> float:
    total = 0
    for each in tree(pid):
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{each}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return total / 1024


def machine_busy_seconds() -> float:
    """CPU time spent by the whole machine, both cores (not idle, not waiting for I/O)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def place(pid: int, cpu: int) -> None:
    """Pin every thread of `pid` and its descendants to `cpu` (as `taskset -a -p` does)."""
    if (os.cpu_count() or 1) < 2:
        return
    for each in tree(pid):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{each}/task").iterdir():
                with contextlib.suppress(OSError):  # a thread that just ended
                    os.sched_setaffinity(int(task.name), {cpu})


class Quiet:
    """Before each run: wait until our processes are idle (a slow target works off what wrk left
    in flight), then at most 5 s a run and `budget_s` in all for the rest of the machine; the
    run's `other` share shows what was left."""

    def __init__(self, pids: Sequence[int], budget_s: float) -> None:
        self.pids = list(pids)
        self.budget_s = budget_s

    def __call__(self) -> None:
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            before = sum(map(cpu_seconds, self.pids))
            time.sleep(0.5)
            if sum(map(cpu_seconds, self.pids)) - before < 0.03:  # under 6% of a core
                break
        started = time.monotonic()
        while time.monotonic() < started + min(5.0, self.budget_s):
            before = machine_busy_seconds()
            time.sleep(0.25)
            if machine_busy_seconds() - before < 0.04:  # under 15% of a core, both cores
                break
        self.budget_s -= time.monotonic() - started


# --- wrk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int  # connect, read, write, timeout
    wall_s: float
    wrk_cpu_s: float

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _find(pattern: str, out: str) -> str:
    match = re.search(pattern, out, re.M)
    if match is None:
        raise RuntimeError(f"wrk's output lacks {pattern!r}:\n{out}")
    return match.group(1)


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(
    url: str,
    body: bytes,
    *,
    connections: int,
    seconds: int,
    bearer: str = BEARER,
    timeout_s: float = 20.0,
) -> Result:
    """One wrk run on CPU 1, POSTing `body` as JSON to `url` with `bearer`. `timeout_s` is wrk's
    per-request timeout (its default, 2 s, would count a slow proxy's answers as errors)."""
    script = (
        f"wrk.method = 'POST'\nwrk.headers['Authorization'] = 'Bearer {bearer}'\n"
        f"wrk.headers['Content-Type'] = 'application/json'\nwrk.body = [==[{body.decode()}]==]\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    argv = [require("wrk", "wrk"), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += [f"--timeout={timeout_s:g}s", "-s", lua.name, url]
    try:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        out = subprocess.run(
            pinned(LOAD_CPU, argv), capture_output=True, text=True, timeout=seconds + 30, check=True
        ).stdout
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, reaped by run()
    finally:
        os.unlink(lua.name)
    return Result(
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_ms(_find(r"^\s+50%\s+(\S+)", out)),
        p99_ms=_ms(_find(r"^\s+99%\s+(\S+)", out)),
        requests=int(_find(r"(\d+) requests in", out)),
        non_2xx=sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out)),
        socket_errors=sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
        wall_s=wall,
        wrk_cpu_s=after.ru_utime - children.ru_utime + after.ru_stime - children.ru_stime,
    )


@dataclass(frozen=True)
class Run:
    result: Result
    target_us: float  # the target's CPU per request (all its processes and threads), µs
    cpu1: float  # CPU 1's load from our side: the helpers (emulator, Redis) and wrk, in cores
    other: float  # everything else on the machine (both cores), in cores


def measure(
    port: int,
    request: tuple[str, bytes],
    *,
    target: int,
    helpers: Sequence[int],
    connections: int,
    seconds: int,
    bearer: str = BEARER,
    stay: bool = False,
) -> Run:
    """One wrk run at the target, moved onto CPU 1 at 1 connection unless it `stay`s or is a
    helper (the emulator as a target), with the CPU each side used."""
    moves = not stay and target not in helpers
    if moves:
        place(target, LOAD_CPU if connections == 1 else SERVER_CPU)
    before = cpu_seconds(target), sum(map(cpu_seconds, helpers)), machine_busy_seconds()
    try:
        url = f"http://127.0.0.1:{port}{request[0]}"
        result = wrk(url, request[1], connections=connections, seconds=seconds, bearer=bearer)
    finally:
        if moves:
            place(target, SERVER_CPU)
    target_s = cpu_seconds(target) - before[0]
    helpers_s = sum(map(cpu_seconds, helpers)) - before[1]
    machine_s = machine_busy_seconds() - before[2]
    ours = (0 if target in helpers else target_s) + helpers_s + result.wrk_cpu_s
    wall = max(result.wall_s, 1e-9)
    return Run(
        result,
        target_us=target_s / max(result.requests, 1) * 1e6,
        cpu1=(helpers_s + result.wrk_cpu_s) / wall,
        other=max(machine_s - ours, 0.0) / wall,
    )


def run_line(label: str, run: Run) -> str:
    r = run.result
    flag = f"  !! {r.non_2xx} non-2xx, {r.socket_errors} socket errors" if r.errors else ""
    return (
        f"  {label} {r.rps:9,.0f} req/s p50 {r.p50_ms:8.3f} ms p99 {r.p99_ms:8.3f} ms "
        f"target {run.target_us:6.0f} us/req CPU 1 {run.cpu1:4.0%} other {run.other:4.0%}"
        f"{flag}{'  (noisy)' if run.other > NOISY else ''}"
    )


# --- instructions per request under callgrind --------------------------------------------------

CALLGRIND_CONNECTIONS = 16  # keeps a ~50x slower server busy, drains quickly
_TOTAL = re.compile(rb"^totals:\s+(\d+)", re.M)  # written last: the dump is whole


def callgrind_problem() -> str | None:
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install -y valgrind)"
    return None


class Callgrind:
    """A server under `valgrind --tool=callgrind --instr-atstart=no`; `count` measures one
    request kind: wrk warms it up uninstrumented for 3 s, the counters are zeroed and
    instrumentation turned on, wrk loads it for `seconds`, instrumentation goes off, the
    counters are dumped, and the dump's total (all threads) is divided by the requests wrk
    completed. Requests in flight at the end (at most 16) are counted in instructions only."""

    def __init__(self, pid: int, port: int, out_dir: Path) -> None:
        self.pid, self.port, self.out_dir, self.dumps = pid, port, out_dir, 0

    def count(self, request: tuple[str, bytes], seconds: int, bearer: str) -> tuple[float, int]:
        """Instructions per request and wrk's errors."""
        url, body = f"http://127.0.0.1:{self.port}{request[0]}", request[1]
        wrk(url, body, connections=CALLGRIND_CONNECTIONS, seconds=3, bearer=bearer)
        self._control("-z")
        self._control("-i", "on")
        try:
            result = wrk(
                url, body, connections=CALLGRIND_CONNECTIONS, seconds=seconds, bearer=bearer
            )
        finally:
            self._control("-i", "off")
        return self._dump() / max(result.requests, 1), result.errors

    def _dump(self) -> int:
        self.dumps += 1
        before = set(self.out_dir.glob("callgrind.out.*"))
        self._control("-d", f"dump-{self.dumps}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for dump in set(self.out_dir.glob("callgrind.out.*")) - before:
                if match := _TOTAL.search(dump.read_bytes()):  # else still being written
                    return int(match.group(1))
            time.sleep(0.2)
        raise RuntimeError(f"callgrind wrote no dump in {self.out_dir} within 30 s")

    def _control(self, *args: str) -> None:
        argv = ["callgrind_control", *args, str(self.pid)]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def under_callgrind(
    argv: Sequence[str], port: int, out_dir: Path, env: Mapping[str, str], log: Path
) -> Iterator[Callgrind]:
    """Start `argv` (a server on `port`) under callgrind, instrumentation off, PYTHONHASHSEED=0
    (dict layouts, and so counts, repeat from run to run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    valgrind += [f"--callgrind-out-file={out_dir}/callgrind.out.%p", *argv]
    environment = {**env, "PYTHONHASHSEED": "0"}
    with server(valgrind, port, env=environment, log=log, start_timeout=180) as pid:
        yield Callgrind(pid, port, out_dir)


# --- checking answers --------------------------------------------------------------------------


def call(
    port: int, method: str, path: str, bearer: str = BEARER, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (names lower-cased) and the whole (de-chunked) body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def sse(body: bytes) -> tuple[list[str], list[bytes]]:
    """A stream's `event:` names and `data:` payloads."""
    lines = body.splitlines()
    events = [line[6:].strip().decode() for line in lines if line.startswith(b"event:")]
    return events, [line[5:].strip() for line in lines if line.startswith(b"data:")]


def answer_problem(
    workload: str, status: int, headers: Mapping[str, str], body: bytes
) -> str | None:
    """None when the answer is exactly 200 and what OpenAI would send in kind: a JSON object of
    the right `object`, a Chat stream ending in a usage chunk and `data: [DONE]`, a Responses
    stream with `response.completed`."""
    content_type = headers.get("content-type", "")
    if status != 200:
        return f"status {status}: {body[:300]!r}"
    if "stream" not in workload:
        kind = json.loads(body).get("object") if content_type.startswith("application/json") else ""
        want = "chat.completion" if workload == "chat" else "response"
        return None if kind == want else f"{content_type}, object {kind!r}, not {want!r}"
    if not content_type.startswith("text/event-stream"):
        return f"content-type {content_type!r}"
    data = sse(body)[1]
    if workload == "chat stream":
        ok = data[-1:] == [b"[DONE]"] and any(b'"usage":{' in d for d in data)
        return None if ok else "no usage chunk or no final [DONE]"
    types = [json.loads(d).get("type") for d in data if d.startswith(b"{")]
    return None if "response.completed" in types else f"no response.completed in {types[-3:]}"


class Checks:
    """Prints each check; keeps what failed (the exit status is 1 if anything did)."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, what: str, problem: str | None) -> None:
        print(f"  ok  {what}" if problem is None else f"  !!  {what}: {problem}", flush=True)
        if problem is not None:
            self.failed.append(f"{what}: {problem}")

    def expect(self, what: str, got: object, want: object) -> None:
        self(what, None if got == want else f"got {got}")


def rotated(items: list[Any], repetition: int) -> list[Any]:
    """Each item first, second ... equally often; the direction flips each full turn."""
    turn = repetition % len(items)
    order = items[turn:] + items[:turn]
    return order[::-1] if (repetition // len(items)) % 2 else order


# --- options -----------------------------------------------------------------------------------


def add_run_options(parser: argparse.ArgumentParser, *, seconds: int, repeat: int) -> None:
    parser.add_argument("--seconds", type=int, default=seconds, help="length of one wrk run")
    parser.add_argument("--repeat", type=int, default=repeat, help="repetitions")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds in all to wait, before runs, for other work on the machine to stop",
    )


def subset(
    parser: argparse.ArgumentParser, what: str, text: str, choices: Sequence[str]
) -> list[str]:
    """The comma-separated `text` as a list, each checked against `choices`."""
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    if not chosen or set(chosen) - set(choices):
        parser.error(f"--{what}: choose from {', '.join(choices)}")
    return chosen
