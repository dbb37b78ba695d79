"""What enforcing a virtual key's limits costs the gateway: in-memory and Redis admission state
next to the open gateway.

    .venv/bin/python -m bench.bench_admission [--seconds 5] [--repeat 6]
        [--workloads chat,responses,chat stream,responses stream] [--connections 64,1]
        [--quiet-wait 30] [--retry-noisy 60] [--split-at-1] [--redis-cpu 1] [--redis-url URL]
        [--instruction-seconds 20] [--instruction-repeat 2] [--instructions-only]

Issue 6: "bench/ reports the gateway benchmark with a key, budget and RPM limit enforced,
in-memory and with Redis; in-memory stays within 10% of the plain gateway, Redis within 30%."

One emulator (`laneway emulate --speed 0 --tier none`) and THREE `laneway serve` processes in
front of it, each configured as bench/bench_gateway.py configures its laneway (ledger on, the
emulator as an `openai-compatible` provider), each with its own SQLite file for the ledger and
the key store beside it:

- plain: no virtual key and no admin key, so the gateway is open (any bearer), as bench_gateway
  runs it: no admission step at all;
- memory: `[state] backend = "memory"` (the default) and one virtual key, created through the
  gateway's own admin API before any load, with `budgets: ["1000000/day"]` and `rpm: 100000000`:
  never refused, but every request is authenticated as that key, charged against its RPM limit,
  reserves its worst-case cost against the daily budget (the bodies set no `max_output_tokens`,
  so the worst case is the model's 128,000 output tokens, ~1.9 USD) and settles its real cost
  after the answer;
- redis: the same, with `[state] backend = "redis"` and a namespace of its own. Redis is a
  private `redis-server` this script starts (no persistence) and pins to `--redis-cpu`, by
  default CPU 1 with the emulator and wrk: away from the gateway's core, as a Redis on another
  host would be; `--redis-url` uses a running server instead (left where it runs).

Each gateway has its own ledger file: three processes writing one SQLite file would contend for
its write lock, and one arm's WAL checkpoints could land in another's run. Keys are per gateway
anyway (a gateway loads its keys at start and learns of others' only at its next refresh).

The arms send byte-identical bodies (bench_emulator's non-streaming and streaming Chat and
Responses, `"model": "gpt-5.4"`) and differ only in the bearer, which never goes upstream: the
upstream work is the same. Before any load, for every arm and workload: exactly 200 and an
answer of the right kind (bench_gateway's checks). Then, on the memory and redis gateways, the
limits are shown to be enforced: a second key with `rpm: 1` gets 200 then 429
`rate_limit_exceeded`; a key with a 0.01 USD daily budget gets 429 `insufficient_quota` (its
worst case does not fit); the bench key's settled spend (GET /admin/keys/{id}) grows with the
pre-flight requests; and the redis gateway's namespace holds keys in Redis. After the load the
bench key's spend must have grown again and nothing may stay reserved.

Placement is bench_gateway's: at 64 connections the gateway under test has CPU 0 to itself while
the emulator and wrk share CPU 1 (with Redis, by default); at 1 connection it moves onto CPU 1
beside them, unless --split-at-1. Idle gateways wait on CPU 0. Each repetition runs the three arms
back to back per workload, in each of the six orders in turn (each arm first, second and last
equally often over six repetitions: with the order only reversed, memory always ran second,
after whichever arm's leftovers it might meet); a triple during which other processes used more
than a tenth of a core is measured again while --retry-noisy allows.
Reported: requests/s, each arm over plain per repetition and their median, best over best, the
gateway's CPU per request, Redis' CPU per request, p50/p99. Judged at 64 connections on the
median over repetitions: memory/plain >= 0.90 and redis/plain >= 0.70. Not best over best: this
host's speed moves by 10-30% within seconds, so the best run of one arm and of another may come
from different moments, while the three runs of one repetition, back to back, share one. At 1
connection the added p50 is reported. Any non-2xx answer or socket error under load, the warm-up
included, exits 1 after the report.

Then, unless --instruction-seconds 0, each arm's instructions per request are counted: its own
gateway (own files, its bench key made through its admin API) under valgrind's callgrind
(bench/instructions.py), one arm at a time, --instruction-repeat counts per workload, judged
against the same targets (plain/arm instructions) beside requests/s, never instead of it. They
are the gateway's alone: Redis' own work is not in them.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis

from bench.bench_emulator import WORKLOADS
from bench.bench_gateway import (
    EMULATOR_PORT,
    LANEWAY_CONFIG,
    NOISY,
    RETRIES,
    SATURATED,
    UPSTREAM_KEY,
    UPSTREAM_KEY_ENV,
    Settler,
    Target,
    _events,
    _laneway,
    _version,
    _wrk_version,
    machine_busy_seconds,
    place,
    serve_available,
    tree_cpu_seconds,
)
from bench.instructions import CONNECTIONS as INSTRUCTION_CONNECTIONS
from bench.instructions import Count, print_verdicts, under_callgrind
from bench.loadgen import (
    LOAD_CPU,
    SERVER_CPU,
    Result,
    _ms,
    cpu_seconds,
    pinned,
    require_wrk,
    server,
)
from bench.options import CONNECTIONS, add_side_by_side, parse_side_by_side

ARMS = ("plain", "memory", "redis")
ORDERS = list(itertools.permutations(ARMS))  # the arms' order in each repetition, in turn
PORTS = {"plain": 4421, "memory": 4422, "redis": 4423}
REDIS_PORT = 4424  # the private redis-server
CALLGRIND_PORT = 4425  # an arm's gateway under callgrind, one at a time
TARGETS = {"memory": 0.90, "redis": 0.70}  # arm req/s over plain req/s at 64 connections
ADMIN_KEY = "bench-admin-key-not-a-secret-0123456789"
OPEN_BEARER = "sk-bench"  # the plain arm's: any bearer passes an open gateway
# The keys made on the memory and redis gateways, by name: the fields POST /admin/keys takes.
KEYS: dict[str, dict[str, Any]] = {
    "bench": {"budgets": ["1000000/day"], "rpm": 100_000_000},  # under load: never refused
    "rpm-one": {"rpm": 1},  # its second request within a minute: 429 rate_limit_exceeded
    "broke": {"budgets": ["0.01/day"]},  # a worst case of ~1.9 USD: 429 insufficient_quota
}
WRK_TIMEOUT_S = 10.0
STATE_CONFIG = """
[state]
backend = "redis"
namespace = "{namespace}"
"""

Request = tuple[str, bytes]  # path, body


@dataclass
class Arm:
    name: str
    port: int
    pid: int
    bearer: str = OPEN_BEARER
    key_id: str | None = None  # the bench key's id (memory, redis)


@dataclass(frozen=True)
class Run:
    result: Result
    gateway_cpu: float  # share of one core over the run, all the gateway's threads
    emulator_cpu: float
    wrk_cpu: float
    redis_cpu: float  # the private redis-server's; 0 with --redis-url
    other_cpu: float  # everything else on the machine (both cores), as a share of one core

    @property
    def gateway_us(self) -> float:
        """The gateway's CPU per request, in µs."""
        return self.gateway_cpu * self.result.wall_s / max(self.result.requests, 1) * 1e6

    @property
    def redis_us(self) -> float:
        return self.redis_cpu * self.result.wall_s / max(self.result.requests, 1) * 1e6


@dataclass
class Triple:
    """One repetition of one workload: each arm's run, measured back to back."""

    runs: dict[str, Run]

    def ratio(self, arm: str) -> float:
        return self.runs[arm].result.rps / max(self.runs["plain"].result.rps, 1e-9)

    @property
    def other_cpu(self) -> float:
        return max(run.other_cpu for run in self.runs.values())


@dataclass
class Measured:
    best: dict[tuple[str, str, int], Run] = field(default_factory=dict)  # (arm, workload, conns)
    triples: dict[tuple[str, int], list[Triple]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # runs with errors, warm-up included
    # (arm, workload) -> each count of instructions per request (bench/instructions.py)
    instructions: dict[tuple[str, str], list[Count]] = field(default_factory=dict)


# --- HTTP by hand ------------------------------------------------------------------------------


def call(
    port: int, method: str, path: str, bearer: str, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (names lower-cased) and the whole (de-chunked) body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {bearer}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def admin(port: int, method: str, path: str, fields: dict[str, Any] | None = None) -> Any:
    body = None if fields is None else json.dumps(fields).encode()
    status, _, answer = call(port, method, f"/admin/{path}", ADMIN_KEY, body)
    if status not in (200, 201):
        raise SystemExit(f"admin {method} {path} on port {port}: status {status}: {answer[:300]!r}")
    return json.loads(answer)


def answer_problem(workload: str, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """None when the answer is what OpenAI would send in kind (bench_gateway's check)."""
    content_type = headers.get("content-type", "")
    if status != 200:
        return f"status {status}: {body[:300]!r}"
    if "stream" not in workload:
        if not content_type.startswith("application/json"):
            return f"content-type {content_type!r}"
        kind = json.loads(body).get("object")
        want = "chat.completion" if workload == "chat" else "response"
        return None if kind == want else f"object {kind!r}, not {want!r}"
    if not content_type.startswith("text/event-stream"):
        return f"content-type {content_type!r}"
    _, data = _events(body)
    if workload == "chat stream":
        ok = data[-1:] == [b"[DONE]"] and any(b'"usage":{' in d for d in data)
        return None if ok else "no usage chunk or no final [DONE]"
    types = [json.loads(d).get("type") for d in data if d.startswith(b"{")]
    return None if "response.completed" in types else f"no response.completed in {types[-3:]}"


def error_code(body: bytes) -> str | None:
    try:
        error = json.loads(body).get("error") or {}
    except ValueError:
        return None
    code = error.get("code")
    return code if isinstance(code, str) else None


# --- processes ---------------------------------------------------------------------------------


@contextmanager
def started(
    workdir: Path, args: argparse.Namespace, namespace: str
) -> Iterator[tuple[Target, Target | None, str, dict[str, Arm]]]:
    """The private Redis (unless --redis-url), the emulator (CPU 1) and the three gateways
    (CPU 0); yields the emulator, the private Redis (None with --redis-url), Redis' URL and the
    arms; stops them all."""
    with ExitStack() as stack:
        redis_target = None
        redis_url = args.redis_url
        if redis_url is None:
            binary = shutil.which("redis-server")
            if binary is None:
                raise SystemExit("redis-server is not installed (or pass --redis-url)")
            argv = [binary, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", ""]
            argv += ["--appendonly", "no"]
            pid = stack.enter_context(
                server(argv, REDIS_PORT, cpu=args.redis_cpu, log=workdir / "redis.log")
            )
            redis_target = Target("redis-server", REDIS_PORT, pid)
            redis_url = f"redis://127.0.0.1:{REDIS_PORT}/0"
        emulator_cmd = _laneway(
            "emulate", "--port", str(EMULATOR_PORT), "--speed", "0", "--tier", "none"
        )
        emulator_pid = stack.enter_context(
            server(emulator_cmd, EMULATOR_PORT, cpu=LOAD_CPU, log=workdir / "emulator.log")
        )
        arms: dict[str, Arm] = {}
        for name in ARMS:
            home = workdir / name
            port = PORTS[name]
            argv, env = arm_command(name, home, port, namespace, redis_url)
            pid = stack.enter_context(server(argv, port, env=env, log=home / "laneway.log"))
            arms[name] = Arm(name, port, pid)
        yield Target("emulator", EMULATOR_PORT, emulator_pid), redis_target, redis_url, arms


def arm_command(
    name: str, home: Path, port: int, namespace: str, redis_url: str
) -> tuple[list[str], dict[str, str]]:
    """The `laneway serve` command line and environment of an arm, its config and files in
    `home` (made here)."""
    home.mkdir()
    config = home / "laneway.toml"
    upstream = f"http://127.0.0.1:{EMULATOR_PORT}/v1"
    text = LANEWAY_CONFIG.format(
        ledger=home / "ledger.db", upstream=upstream, key_env=UPSTREAM_KEY_ENV
    )
    if name == "redis":
        text += STATE_CONFIG.format(namespace=namespace)
    config.write_text(text)
    argv = _laneway("serve", "--host", "127.0.0.1", "--port", str(port))
    argv += ["--config", str(config)]
    env = dict(os.environ) | {UPSTREAM_KEY_ENV: UPSTREAM_KEY, "LANEWAY_REDIS_URL": redis_url}
    env.pop("LANEWAY_API_KEYS", None)  # no configured client keys
    env.pop("LANEWAY_ADMIN_KEY", None)
    if name != "plain":
        env["LANEWAY_ADMIN_KEY"] = ADMIN_KEY
    return argv, env


def count_instructions(
    workdir: Path,
    namespace: str,
    redis_url: str,
    workloads: list[str],
    args: argparse.Namespace,
    measured: Measured,
) -> None:
    """Each arm's instructions per request: its gateway (its own files, the bench key made
    through its admin API) under callgrind, one arm at a time, every workload
    `--instruction-repeat` times. Redis' own instructions are not counted."""
    for name in ARMS:
        home = workdir / f"callgrind-{name}"
        argv, env = arm_command(name, home, CALLGRIND_PORT, f"{namespace}:cg", redis_url)
        print(f"instructions: {name} under callgrind on port {CALLGRIND_PORT}", flush=True)
        bearer = OPEN_BEARER
        with under_callgrind(
            argv, CALLGRIND_PORT, home / "callgrind", env=env, log=home / "laneway.log"
        ) as counter:
            if name != "plain":
                fields = KEYS["bench"]
                bearer = admin(CALLGRIND_PORT, "POST", "keys", {"name": "bench", **fields})["key"]
            for repetition in range(args.instruction_repeat):
                for workload in workloads:
                    counter.record(
                        measured.instructions,
                        measured.failed,
                        name,
                        workload,
                        WORKLOADS[workload],
                        seconds=args.instruction_seconds,
                        repetition=repetition,
                        bearer=bearer,
                    )


def create_keys(arms: dict[str, Arm]) -> dict[str, dict[str, str]]:
    """The bench key on the memory and redis gateways (its bearer becomes the arm's), and the
    keys the enforcement checks use: arm -> {name: secret}."""
    secrets: dict[str, dict[str, str]] = {}
    for name in ("memory", "redis"):
        arm = arms[name]
        made: dict[str, str] = {}
        for key_name, fields in KEYS.items():
            view = admin(arm.port, "POST", "keys", {"name": key_name, **fields})
            made[key_name] = view["key"]
            if key_name == "bench":
                arm.key_id = view["id"]
        arm.bearer = made["bench"]
        secrets[name] = made
    return secrets


def key_spend(arm: Arm) -> tuple[Decimal, Decimal]:
    """The bench key's settled and reserved USD in its daily budget."""
    view = admin(arm.port, "GET", f"keys/{arm.key_id}")
    (day,) = [item for item in view["spend"] if item["window"] == "day"]
    return Decimal(day["spent_usd"]), Decimal(day["reserved_usd"])


def settled_spend(arm: Arm, above: Decimal, wait_s: float = 5.0) -> tuple[Decimal, Decimal]:
    """The spend once it is above `above` and nothing is reserved (settling runs in the
    background after each answer), or what it is after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        spent, reserved = key_spend(arm)
        if (spent > above and reserved == 0) or time.monotonic() > deadline:
            return spent, reserved
        time.sleep(0.05)


# --- checks ------------------------------------------------------------------------------------


def preflight(
    arms: dict[str, Arm],
    secrets: dict[str, dict[str, str]],
    workloads: list[str],
    redis_url: str,
    namespace: str,
) -> bool:
    ok = True

    def report(what: str, problem: str | None) -> None:
        nonlocal ok
        if problem is None:
            print(f"  ok  {what}", flush=True)
        else:
            ok = False
            print(f"!! {what}: {problem}", flush=True)

    before = {name: key_spend(arms[name]) for name in ("memory", "redis")}
    for workload in workloads:
        path, body = WORKLOADS[workload]
        for arm in arms.values():
            try:
                status, headers, answer = call(arm.port, "POST", path, arm.bearer, body)
                problem = answer_problem(workload, status, headers, answer)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            report(f"{arm.name:6} {workload}", problem)
    chat_path, chat_body = WORKLOADS["chat"]
    for name in ("memory", "redis"):
        arm = arms[name]
        limited = secrets[name]["rpm-one"]
        first = call(arm.port, "POST", chat_path, limited, chat_body)
        second = call(arm.port, "POST", chat_path, limited, chat_body)
        got = (first[0], second[0], error_code(second[2]))
        want = (200, 429, "rate_limit_exceeded")
        report(f"{name:6} rpm=1 key: 200 then 429", None if got == want else f"got {got}")
        broke = call(arm.port, "POST", chat_path, secrets[name]["broke"], chat_body)
        refused = (broke[0], error_code(broke[2]))
        report(
            f"{name:6} 0.01/day key: 429 insufficient_quota",
            None if refused == (429, "insufficient_quota") else f"got {refused}",
        )
        spent, reserved = settled_spend(arm, before[name][0])
        grew = spent > before[name][0] and reserved == 0
        report(
            f"{name:6} bench key's spend {before[name][0]} -> {spent} USD, reserved {reserved}",
            None if grew else "did not grow, or stayed reserved",
        )
    store = redis.Redis.from_url(redis_url)
    try:
        held = sum(1 for _ in store.scan_iter(f"{namespace}:*", count=1000))
    finally:
        store.close()
    report(f"redis  {held} keys under {namespace}:* in Redis", None if held else "none")
    return ok


def after_load(arms: dict[str, Arm], before: dict[str, Decimal]) -> bool:
    ok = True
    for name in ("memory", "redis"):
        spent, reserved = settled_spend(arms[name], before[name], wait_s=10)
        fine = spent > before[name] and reserved == 0
        ok = ok and fine
        print(
            f"  {'ok' if fine else '!!'}  {name} bench key after the load: {spent} USD settled "
            f"(was {before[name]}), {reserved} reserved",
            flush=True,
        )
    return ok


# --- measuring ---------------------------------------------------------------------------------


def wrk(
    port: int, request: Request, bearer: str, connections: int, seconds: int, pid: int
) -> Result:
    """One wrk run (pinned to CPU 1) sending `request` with `bearer`; `pid`'s CPU is counted.
    As bench.loadgen.load, which always sends the bearer `sk-bench`."""
    path, body = request
    script = (
        f"wrk.headers['Authorization'] = 'Bearer {bearer}'\n"
        "wrk.method = 'POST'\nwrk.headers['Content-Type'] = 'application/json'\n"
        f"wrk.body = [==[{body.decode()}]==]\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    argv = [require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += [f"--timeout={WRK_TIMEOUT_S:g}s", "-s", lua.name, f"http://127.0.0.1:{port}{path}"]
    try:
        before = cpu_seconds(pid)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        out = subprocess.run(
            pinned(LOAD_CPU, argv), capture_output=True, text=True, timeout=seconds + 30, check=True
        ).stdout
        cpu = cpu_seconds(pid) - before
        wall = time.monotonic() - start
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(lua.name)
    load_cpu = (children.ru_utime - children_before.ru_utime) + (
        children.ru_stime - children_before.ru_stime
    )

    def find(pattern: str) -> str:
        match = re.search(pattern, out, re.M)
        if match is None:
            raise RuntimeError(f"wrk's output lacks {pattern!r}:\n{out}")
        return match.group(1)

    requests = int(find(r"(\d+) requests in"))
    non_2xx = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Result(
        rps=float(find(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)")),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)")),
        cpu_us_per_request=cpu / max(requests, 1) * 1e6,
        requests=requests,
        errors=non_2xx + socket_errors,
        non_2xx=non_2xx,
        socket_errors=socket_errors,
        wall_s=wall,
        load_cpu_s=load_cpu,
    )


class Bench:
    def __init__(
        self,
        emulator: Target,
        redis_target: Target | None,
        arms: dict[str, Arm],
        args: argparse.Namespace,
    ) -> None:
        self.emulator = emulator
        self.redis = redis_target
        self.arms = arms
        self.args = args
        watched = [emulator, *(Target(a.name, a.port, a.pid) for a in arms.values())]
        if redis_target is not None:
            watched.append(redis_target)
        self.settle = Settler(watched, args.quiet_wait)
        self.retry_budget: float = args.retry_noisy
        self.out = Measured()

    def measure(self, arm: Arm, workload: str, connections: int, seconds: int) -> Run:
        cpu = SERVER_CPU if connections > 1 or self.args.split_at_1 else LOAD_CPU
        redis_pid = self.redis.pid if self.redis is not None else None
        place(arm.pid, cpu)
        gateway_before = tree_cpu_seconds(arm.pid)
        emulator_before = cpu_seconds(self.emulator.pid)
        redis_before = cpu_seconds(redis_pid) if redis_pid else 0.0
        machine_before = machine_busy_seconds()
        try:
            result = wrk(arm.port, WORKLOADS[workload], arm.bearer, connections, seconds, arm.pid)
        finally:
            place(arm.pid, SERVER_CPU)
        machine = machine_busy_seconds() - machine_before
        gateway = tree_cpu_seconds(arm.pid) - gateway_before
        emulator = cpu_seconds(self.emulator.pid) - emulator_before
        redis_cpu = (cpu_seconds(redis_pid) - redis_before) if redis_pid else 0.0
        ours = gateway + emulator + redis_cpu + result.load_cpu_s
        wall = max(result.wall_s, 1e-9)
        return Run(
            result,
            gateway_cpu=gateway / wall,
            emulator_cpu=emulator / wall,
            wrk_cpu=result.load_cpu_s / wall,
            redis_cpu=redis_cpu / wall,
            other_cpu=max(machine - ours, 0.0) / wall,
        )

    def run(self, arm: Arm, workload: str, connections: int, seconds: int, label: str) -> Run:
        self.settle()
        run = self.measure(arm, workload, connections, seconds)
        r = run.result
        flag = f"  !! {r.non_2xx} non-2xx, {r.socket_errors} socket errors" if r.errors else ""
        noisy = "  (noisy)" if run.other_cpu > NOISY else ""
        print(
            f"  {label} {arm.name:6} {workload:16} {connections:>2} {r.rps:9,.0f} req/s "
            f"p50 {r.p50_ms:7.3f} ms p99 {r.p99_ms:7.3f} ms gateway {run.gateway_us:4.0f} us/req "
            f"emulator {run.emulator_cpu:4.0%} wrk {run.wrk_cpu:4.0%} redis {run.redis_cpu:4.0%} "
            f"other {run.other_cpu:4.0%}{flag}{noisy}",
            flush=True,
        )
        if r.errors:
            self.out.failed.append(f"{label} {arm.name} {workload} at {connections}:{flag}")
        return run

    def triple(self, workload: str, connections: int, repetition: int) -> Triple:
        """The three arms back to back; again as a triple when the machine was busy."""
        chosen = self._once(workload, connections, repetition, 0)
        spend = len(ARMS) * self.args.seconds
        for attempt in range(1, 1 + RETRIES):
            if chosen.other_cpu <= NOISY or self.retry_budget < spend:
                break
            self.retry_budget -= spend
            again = self._once(workload, connections, repetition, attempt)
            if again.other_cpu < chosen.other_cpu:
                chosen = again
        return chosen

    def _once(self, workload: str, connections: int, repetition: int, attempt: int) -> Triple:
        order = ORDERS[repetition % len(ORDERS)]
        label = f"rep {repetition + 1}" + (f" (again {attempt})" if attempt else "")
        runs = {
            name: self.run(self.arms[name], workload, connections, self.args.seconds, label)
            for name in order
        }
        for name, run in runs.items():
            key = (name, workload, connections)
            if _better(run, self.out.best.get(key)):
                self.out.best[key] = run
        return Triple(runs)

    def all(self, workloads: list[str]) -> Measured:
        for workload in workloads:  # warm-up, as bench_gateway does
            for name in ARMS:
                self.run(self.arms[name], workload, 4, 1, "warm-up")
        for repetition in range(self.args.repeat):
            for connections in self.args.connections:
                for workload in workloads:
                    triple = self.triple(workload, connections, repetition)
                    self.out.triples.setdefault((workload, connections), []).append(triple)
        return self.out


def _better(new: Run, old: Run | None) -> bool:
    """Fewer errors first, then a quiet run over a noisy one, then the higher rate."""

    def rank(run: Run) -> tuple[int, bool, float]:
        return run.result.errors, run.other_cpu > NOISY, -run.result.rps

    return old is None or rank(new) < rank(old)


# --- the report --------------------------------------------------------------------------------


def report(measured: Measured, workloads: list[str], args: argparse.Namespace) -> bool:
    """Print the tables and verdicts; True when both targets hold for every workload."""
    at_one = SERVER_CPU if args.split_at_1 else LOAD_CPU
    where_redis = f"Redis on CPU {args.redis_cpu}" if args.redis_url is None else "Redis unpinned"
    print(
        f"\nPython {sys.version.split()[0]}, laneway {_version('laneway')}, redis-py "
        f"{_version('redis')}, hiredis {_version('hiredis')}, wrk {_wrk_version()}; "
        f"{args.seconds} s runs, {args.repeat} repetitions; emulator and wrk on CPU {LOAD_CPU}, "
        f"{where_redis}; the gateway under test on CPU {SERVER_CPU} at 64 connections and on CPU "
        f"{at_one} at 1\n"
    )
    print(
        "| workload | conns | req/s plain / memory / redis (best) | memory/plain: median of "
        "reps (each; best over best) | redis/plain: median of reps (each; best over best) "
        "| gateway CPU us/req plain / memory / redis (median) | Redis CPU us/req "
        "| p50 ms plain / memory / redis | p99 ms plain / memory / redis "
        "| CPU 1 busy (emulator + wrk + Redis) | other CPU |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts: list[str] = []
    met = True
    for connections in CONNECTIONS:
        for workload in workloads:
            best = {arm: measured.best.get((arm, workload, connections)) for arm in ARMS}
            triples = measured.triples.get((workload, connections), [])
            runs: dict[str, Run] = {arm: run for arm, run in best.items() if run is not None}
            if len(runs) < len(ARMS) or not triples:
                continue
            cells = []
            for arm in ("memory", "redis"):
                each = [t.ratio(arm) for t in triples]
                median = statistics.median(each)
                over = runs[arm].result.rps / max(runs["plain"].result.rps, 1e-9)
                listed = ", ".join(f"{x:.2f}" for x in each)
                cells.append(f"**{median:.2f}** ({listed}; {over:.2f})")
                if connections > 1:
                    ok = median >= TARGETS[arm]
                    met = met and ok
                    verdicts.append(
                        f"  {workload} at {connections}: {arm}/plain {median:.3f}, median of "
                        f"{len(each)} repetitions ({listed}; best over best {over:.3f}) >= "
                        f"{TARGETS[arm]:.2f}: {'PASS' if ok else 'FAIL'}"
                    )
            cpu = {arm: statistics.median(t.runs[arm].gateway_us for t in triples) for arm in ARMS}
            if connections == 1:
                p50 = {
                    arm: statistics.median(t.runs[arm].result.p50_ms for t in triples)
                    for arm in ARMS
                }
                verdicts.append(
                    f"  {workload} at 1: p50 added {p50['memory'] - p50['plain']:+.3f} ms "
                    f"(memory), {p50['redis'] - p50['plain']:+.3f} ms (redis), medians; "
                    "reported, not judged"
                )
            cpu1 = max(r.emulator_cpu + r.wrk_cpu + r.redis_cpu for r in runs.values())
            if args.redis_cpu != LOAD_CPU or args.redis_url is not None:
                cpu1 = max(r.emulator_cpu + r.wrk_cpu for r in runs.values())
            other = max(r.other_cpu for r in runs.values())
            redis_us = statistics.median(t.runs["redis"].redis_us for t in triples)
            print(
                f"| {workload} | {connections} "
                f"| {' / '.join(f'{runs[a].result.rps:,.0f}' for a in ARMS)} "
                f"| {cells[0]} | {cells[1]} "
                f"| {' / '.join(f'{cpu[a]:.0f}' for a in ARMS)} | {redis_us:.0f} "
                f"| {' / '.join(f'{runs[a].result.p50_ms:.3f}' for a in ARMS)} "
                f"| {' / '.join(f'{runs[a].result.p99_ms:.3f}' for a in ARMS)} "
                f"| {cpu1:.0%} | {other:.0%} |"
            )
            if connections > 1 and cpu1 > SATURATED:
                verdicts.append(
                    f"    note: CPU {LOAD_CPU} was {cpu1:.0%} busy: the upstream side (or Redis) "
                    "may have set the rate"
                )
            if other > NOISY:
                verdicts.append(
                    f"    note: other processes used {other:.0%} of a core during a best run"
                )
    print(
        f"\nIssue 6 (at 64 connections, the median over repetitions of each arm's req/s over "
        f"plain's, measured back to back: memory >= {TARGETS['memory']:.2f}, redis >= "
        f"{TARGETS['redis']:.2f}):"
    )
    print("\n".join(verdicts))
    return met


def report_instructions(measured: Measured, workloads: list[str]) -> bool | None:
    """The instruction table and verdicts (plain's instructions over the arm's, against the
    same targets as requests/s); None when nothing was counted."""
    if not measured.instructions:
        return None
    print(
        "\n| workload | instructions/request plain / memory / redis | memory over plain "
        "| redis over plain | plain/memory | plain/redis |"
    )
    print("|---|---|---|---|---|---|")
    met = True
    lines = []
    for workload in workloads:
        counts = {arm: measured.instructions.get((arm, workload)) for arm in ARMS}
        if not all(counts.values()):
            continue
        ir = {arm: statistics.median(c.per_request for c in counts[arm] or ()) for arm in ARMS}
        ratios = {arm: ir["plain"] / ir[arm] for arm in TARGETS}
        print(
            f"| {workload} | {ir['plain']:,.0f} / {ir['memory']:,.0f} / {ir['redis']:,.0f} "
            f"| {ir['memory'] / ir['plain'] - 1:+.1%} | {ir['redis'] / ir['plain'] - 1:+.1%} "
            f"| {ratios['memory']:.3f} | {ratios['redis']:.3f} |"
        )
        for arm, target in TARGETS.items():
            ok = ratios[arm] >= target
            met = met and ok
            lines.append(
                f"  {workload}: plain/{arm} instructions {ratios[arm]:.3f} >= {target:.2f}: "
                f"{'PASS' if ok else 'FAIL'}"
            )
    print(
        f"\nInstructions per request at {INSTRUCTION_CONNECTIONS} connections, all the gateway's "
        "threads (not Redis', not the kernel's), medians:"
    )
    print("\n".join(lines))
    return met


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_side_by_side(
        parser,
        repeat_help="a multiple of 6: the arms take each of the six orders in turn",
        unit="triples",
    )
    parser.add_argument(
        "--redis-cpu", default=LOAD_CPU, choices=("0", "1"), help="where the private Redis runs"
    )
    parser.add_argument(
        "--redis-url", default=None, help="use this running Redis instead of a private one"
    )
    args, workloads = parse_side_by_side(parser)
    require_wrk()
    if (why := serve_available()) is not None:
        parser.exit(1, f"`laneway serve` is not available ({why})\n")
    ports = [EMULATOR_PORT, CALLGRIND_PORT, *PORTS.values()]
    ports += [REDIS_PORT] if args.redis_url is None else []
    if busy := [p for p in ports if not _port_free(p)]:
        parser.exit(1, f"port(s) {busy} already in use on 127.0.0.1 (another benchmark?)\n")
    namespace = "lwbench:" + uuid.uuid4().hex[:12]
    with (
        tempfile.TemporaryDirectory(prefix="laneway-bench-admission-") as tmp,
        started(Path(tmp), args, namespace) as (emulator, redis_target, redis_url, arms),
    ):
        try:
            print(
                "started: "
                + ", ".join(f"{a.name} (pid {a.pid}, port {a.port})" for a in arms.values()),
                flush=True,
            )
            secrets = create_keys(arms)
            if not preflight(arms, secrets, workloads, redis_url, namespace):
                raise SystemExit("a check failed before any load: nothing measured")
            before = {name: key_spend(arms[name])[0] for name in ("memory", "redis")}
            bench = Bench(emulator, redis_target, arms, args)
            measured = bench.out if args.instructions_only else bench.all(workloads)
            settled = args.instructions_only or after_load(arms, before)
            if args.instruction_seconds:
                count_instructions(Path(tmp), namespace, redis_url, workloads, args, measured)
            met = report(measured, workloads, args) if measured.triples else None
            met_ir = report_instructions(measured, workloads)
        finally:
            if args.redis_url is not None:  # a shared server: leave nothing of ours behind
                store = redis.Redis.from_url(args.redis_url)
                try:
                    for key in store.scan_iter(f"{namespace}:*", count=1000):
                        store.delete(key)
                finally:
                    store.close()
    if measured.failed or not settled:
        print("\n".join(f"!! {line}" for line in measured.failed))
        raise SystemExit("\n!! FAILED: errors under load, or spend not settled (above)")
    print_verdicts("both targets met for every workload", met, met_ir)


if __name__ == "__main__":
    main()
