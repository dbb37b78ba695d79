"""The gateway's overhead: laneway next to a minimal aiohttp proxy and LiteLLM, one emulator behind.

    .venv/bin/python -m bench.bench_gateway [--seconds 5] [--repeat 2] [--skip-litellm]
        [--targets emulator,aiohttp,laneway,litellm]

Issue 4. One emulator (`laneway emulate --speed 0 --tier none`) is the upstream of every target:

- emulator: the emulator itself, no proxy: the baseline the added latency is measured against;
- aiohttp: bench/aiohttp_proxy.py, a minimal aiohttp pass-through on uvloop (the yardstick);
- laneway: `laneway serve`, its ledger on (an SQLite file in a temporary directory);
- litellm: the LiteLLM proxy 1.106.2 from its own venv (bench/litellm_setup.sh), one worker, no
  database, a master key.

wrk drives non-streaming and streaming Chat and Responses (bench_emulator's bodies) at 1 and 64
connections, targets alternating inside each repetition; the best repetition without errors is
reported. Any non-2xx answer or socket error in a run fails the benchmark loudly (exit 1); before
any load, one request of each workload through each target is checked by hand (exactly 200, a
JSON object of the right kind, or a stream that ends as OpenAI's does).

Placement on the 2 cores (see bench/README.md for why): at 64 connections the target under test
has CPU 0 to itself while the emulator and wrk share CPU 1, so the target's core sets the rate
and the upstream's share of CPU 1 is printed to show it was not the bottleneck. At 1 connection a
request is a serial chain (wrk -> target -> emulator and back), so the target under test is moved
onto CPU 1 beside them: nothing runs in parallel there anyway, and the chain then pays no
cross-core wake-ups, which on this VM cost ~0.1 ms each and would drown the gateway's own cost.
Idle targets wait on CPU 0. All traffic goes to 127.0.0.1; every process is stopped by PID.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench.bench_emulator import WORKLOADS
from bench.loadgen import (
    LOAD_CPU,
    SERVER_CPU,
    Result,
    cpu_seconds,
    kernel_seconds,
    load,
    require_wrk,
    rss_mb,
    server,
    storage_bytes,
)
from bench.options import add_quiet_machine

EMULATOR_PORT, AIOHTTP_PORT, LANEWAY_PORT, LITELLM_PORT = 4411, 4412, 4413, 4414
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGETS = ("emulator", "aiohttp", "laneway", "litellm")
CONNECTIONS = (1, 64)
MODEL = "gpt-5.4"  # the model every workload body names
LITELLM_VERSION = "1.106.2"  # never 1.107.x (see bench/README.md)
LITELLM_VENV = Path(
    os.environ.get("LANEWAY_BENCH_LITELLM_VENV", "~/.cache/laneway-bench/litellm-venv")
).expanduser()
LITELLM_KEY = "sk-bench"  # LITELLM_MASTER_KEY; wrk sends "Authorization: Bearer sk-bench"
WRK_TIMEOUT_S = 20.0  # LiteLLM at 64 connections answers in 0.6-2 s: wrk's 2 s would cut it
SETTLE_WINDOW_S, SETTLE_BUSY = 0.5, 0.06  # idle: under 6% of a core, all processes together
QUIET_BUSY = 0.15  # a quiet machine: under 15% of one core busy, both cores together
PER_RUN_QUIET_S = 5.0
RETRIES = 2  # a noisy run is measured again at most this often (and within --retry-noisy)
NOISY = 0.1  # other processes' CPU during a run above this: flagged
SATURATED = 0.9  # a CPU share of CPU 1 above this: the upstream side may have set the rate
LANEWAY_CONFIG = """\
[ledger]
path = "{ledger}"

[providers.emulator]
kind = "openai-compatible"
base_url = "{upstream}"
api_key_env = "{key_env}"
"""
# The emulator wants a key ("sk-..."); laneway reads a provider's key from the variable named.
UPSTREAM_KEY_ENV, UPSTREAM_KEY = "LANEWAY_BENCH_UPSTREAM_KEY", "sk-anything"

# Issue 4's targets for laneway.
TARGET_ADDED_P50_MS = 0.3
TARGET_VS_LITELLM = 50.0
TARGET_IDLE_RSS_MB = 80.0


@dataclass
class Target:
    name: str
    port: int
    pid: int = 0
    idle_rss_mb: float = 0.0
    loaded_rss_mb: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    result: Result
    target_cpu: float  # share of one core over the run, all the target's processes
    emulator_cpu: float
    wrk_cpu: float
    other_cpu: float  # everything else on the machine (both cores), as a share of one core
    target_kernel_cpu: float = 0.0  # the part of target_cpu spent in the kernel
    target_storage_bytes: int = 0  # written to storage by the target over the run (its ledger)


# --- processes ---------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (LiteLLM or a future laneway may start workers)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(parents.get(current, []))
    return out


def _tree_total(pid: int, read: Callable[[int], float]) -> float:
    """`read` summed over `pid` and its descendants; one that just ended counts nothing."""
    total = 0.0
    for each in _tree(pid):
        with suppress(OSError):
            total += read(each)
    return total


def tree_cpu_seconds(pid: int) -> float:
    return _tree_total(pid, cpu_seconds)


def tree_kernel_seconds(pid: int) -> float:
    return _tree_total(pid, kernel_seconds)


def tree_storage_bytes(pid: int) -> int:
    return int(_tree_total(pid, storage_bytes))


def tree_rss_mb(pid: int) -> float:
    return sum(rss_mb(each) for each in _tree(pid))


def place(pid: int, cpu: str) -> None:
    """Pin every thread of `pid` and its descendants to `cpu` (as `taskset -a -p` does)."""
    if (os.cpu_count() or 1) < 2:
        return
    for each in _tree(pid):
        try:
            tids = [int(t.name) for t in Path(f"/proc/{each}/task").iterdir()]
        except OSError:
            continue
        for tid in tids:
            with suppress(OSError):  # a thread that just ended
                os.sched_setaffinity(tid, {int(cpu)})


# --- the targets -------------------------------------------------------------------------------


def _laneway(*args: str) -> list[str]:
    return [sys.executable, "-m", "laneway", *args]


def serve_available() -> str | None:
    """None when `laneway serve` exists, else why not."""
    done = subprocess.run(
        _laneway("serve", "--help"), capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def litellm_problem(venv: Path) -> str | None:
    """None when the LiteLLM venv holds the pinned version, else what is wrong."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "litellm").exists():
        return f"no LiteLLM venv at {venv}: run bench/litellm_setup.sh"
    found = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout.strip()
    if found != LITELLM_VERSION:
        return f"{venv} has litellm {found or '?'}, not {LITELLM_VERSION}: rerun the setup"
    return None


def litellm_config(upstream: str) -> str:
    """LiteLLM's proxy config (JSON is YAML): one entry per model the workloads name."""
    models = sorted({json.loads(body)["model"] for _, body in WORKLOADS.values()})
    entries = [
        {
            "model_name": model,
            "litellm_params": {
                "model": f"openai/{model}",
                "api_base": upstream,
                "api_key": UPSTREAM_KEY,
            },
        }
        for model in models
    ]
    return json.dumps({"model_list": entries}, indent=2)


@contextmanager
def started(
    names: Sequence[str], workdir: Path, litellm_venv: Path, laneway_extra: str = ""
) -> Iterator[list[Target]]:
    """Start the emulator (CPU 1) and the proxies (CPU 0), yield them with idle RSS, stop all.

    `laneway_extra` is appended to laneway's config file (bench/bench_routing.py adds a lane)."""
    upstream = f"http://127.0.0.1:{EMULATOR_PORT}/v1"
    emulator_cmd = _laneway(
        "emulate", "--port", str(EMULATOR_PORT), "--speed", "0", "--tier", "none"
    )
    targets: list[Target] = []
    with ExitStack() as stack:
        emulator_pid = stack.enter_context(
            server(emulator_cmd, EMULATOR_PORT, cpu=LOAD_CPU, log=workdir / "emulator.log")
        )
        if "emulator" in names:
            targets.append(Target("emulator", EMULATOR_PORT, emulator_pid))
        if "aiohttp" in names:
            argv = [sys.executable, "-m", "bench.aiohttp_proxy"]
            argv += ["--port", str(AIOHTTP_PORT), "--upstream", upstream]
            pid = stack.enter_context(server(argv, AIOHTTP_PORT, log=workdir / "aiohttp.log"))
            targets.append(Target("aiohttp", AIOHTTP_PORT, pid))
        if "laneway" in names:
            config = workdir / "laneway.toml"
            ledger = workdir / "ledger.db"
            config.write_text(
                LANEWAY_CONFIG.format(ledger=ledger, upstream=upstream, key_env=UPSTREAM_KEY_ENV)
                + laneway_extra
            )
            argv = _laneway("serve", "--host", "127.0.0.1", "--port", str(LANEWAY_PORT))
            argv += ["--config", str(config)]
            env = os.environ | {UPSTREAM_KEY_ENV: UPSTREAM_KEY}
            env.pop("LANEWAY_API_KEYS", None)  # no client keys: any bearer on loopback
            pid = stack.enter_context(
                server(argv, LANEWAY_PORT, env=env, log=workdir / "laneway.log")
            )
            targets.append(Target("laneway", LANEWAY_PORT, pid))
        if "litellm" in names:
            config = workdir / "litellm.yaml"
            config.write_text(litellm_config(upstream))
            env = os.environ | {
                "LITELLM_MASTER_KEY": LITELLM_KEY,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # else it fetches the map at import
                "LITELLM_LOG": "ERROR",  # its own logging off, as one would run it for speed
            }
            env.pop("DATABASE_URL", None)
            argv = [str(litellm_venv / "bin" / "litellm"), "--config", str(config)]
            argv += ["--host", "127.0.0.1", "--port", str(LITELLM_PORT), "--num_workers", "1"]
            pid = stack.enter_context(
                server(argv, LITELLM_PORT, env=env, log=workdir / "litellm.log")
            )
            targets.append(Target("litellm", LITELLM_PORT, pid))
        for target in targets:
            target.idle_rss_mb = tree_rss_mb(target.pid)
        targets.sort(key=lambda t: TARGETS.index(t.name))
        yield targets


# --- checks ------------------------------------------------------------------------------------


def post(port: int, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (names lower-cased) and the whole (de-chunked) body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body,
            {"Authorization": f"Bearer {LITELLM_KEY}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def _events(body: bytes) -> tuple[list[str], list[bytes]]:
    events, data = [], []
    for line in body.splitlines():
        if line.startswith(b"event:"):
            events.append(line[6:].strip().decode())
        elif line.startswith(b"data:"):
            data.append(line[5:].strip())
    return events, data


def check(
    port: int, workload: str, request: tuple[str, bytes] | None = None
) -> tuple[str | None, list[str], list[bytes]]:
    """One request: None if the answer is what OpenAI would send in kind, else the problem.

    `request` (path, body) replaces the workload's own; `workload` still says what to expect."""
    path, body = WORKLOADS[workload] if request is None else request
    status, headers, answer = post(port, path, body)
    content_type = headers.get("content-type", "")
    if status != 200:
        return f"status {status}: {answer[:300]!r}", [], []
    if "stream" not in workload:
        if not content_type.startswith("application/json"):
            return f"content-type {content_type!r}", [], []
        kind = json.loads(answer).get("object")
        want = "chat.completion" if workload == "chat" else "response"
        return (None if kind == want else f"object {kind!r}, not {want!r}"), [], []
    if not content_type.startswith("text/event-stream"):
        return f"content-type {content_type!r}", [], []
    events, data = _events(answer)
    if workload == "chat stream":
        ok = data[-1:] == [b"[DONE]"] and any(b'"usage":{' in d for d in data)
        return (None if ok else "no usage chunk or no final [DONE]"), events, data
    types = [json.loads(d).get("type") for d in data if d.startswith(b"{")]
    ok = "response.completed" in types
    return (None if ok else f"no response.completed event in {types[-3:]}"), events, data


def preflight(targets: list[Target]) -> bool:
    """Every workload through every target, once; notes how each differs from the emulator's."""
    ok = True
    reference: dict[str, tuple[list[str], list[bytes]]] = {}
    for target in targets:
        for workload in WORKLOADS:
            try:
                problem, events, data = check(target.port, workload)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                problem, events, data = f"{type(exc).__name__}: {exc}", [], []
            if problem is not None:
                ok = False
                print(f"!! {target.name} {workload}: {problem}", flush=True)
                continue
            if "stream" not in workload:
                continue
            if target.name == "emulator":
                reference[workload] = (events, data)
            elif workload in reference:
                target.notes += _differences(workload, reference[workload], (events, data))
    return ok


def _differences(
    workload: str, want: tuple[list[str], list[bytes]], got: tuple[list[str], list[bytes]]
) -> list[str]:
    notes = []
    if got[0] != want[0]:
        notes.append(
            f"{workload}: {len(got[0])} `event:` lines where the emulator sends {len(want[0])}"
        )
    if (got[1][-1:] == [b"[DONE]"]) != (want[1][-1:] == [b"[DONE]"]):
        ends = "ends" if got[1][-1:] == [b"[DONE]"] else "does not end"
        notes.append(f"{workload}: {ends} with `data: [DONE]`, unlike the emulator's")
    if len(got[1]) != len(want[1]):
        notes.append(f"{workload}: {len(got[1])} data lines, the emulator's {len(want[1])}")
    return notes


# --- measuring ---------------------------------------------------------------------------------


def measure(
    target: Target,
    emulator_pid: int,
    workload: str,
    connections: int,
    seconds: int,
    cpu: str,
    request: tuple[str, bytes] | None = None,
) -> Run:
    """One wrk run with the target (the emulator stays where it is) moved to `cpu` for it.

    `request` (path, body) replaces the workload's own."""
    path, body = WORKLOADS[workload] if request is None else request
    if target.name != "emulator":
        place(target.pid, cpu)
    target_before, emulator_before = tree_cpu_seconds(target.pid), cpu_seconds(emulator_pid)
    kernel_before, storage_before = tree_kernel_seconds(target.pid), tree_storage_bytes(target.pid)
    machine_before = machine_busy_seconds()
    try:
        result = load(
            f"http://127.0.0.1:{target.port}{path}",
            body,
            connections=connections,
            seconds=seconds,
            pid=target.pid,
            timeout_s=WRK_TIMEOUT_S,
        )
    finally:
        if target.name != "emulator":
            place(target.pid, SERVER_CPU)
    machine = machine_busy_seconds() - machine_before
    target_cpu = tree_cpu_seconds(target.pid) - target_before
    kernel = tree_kernel_seconds(target.pid) - kernel_before
    storage = tree_storage_bytes(target.pid) - storage_before
    emulator_cpu = cpu_seconds(emulator_pid) - emulator_before
    ours = target_cpu + result.load_cpu_s + (emulator_cpu if target.pid != emulator_pid else 0)
    wall = max(result.wall_s, 1e-9)
    return Run(
        result,
        target_cpu=target_cpu / wall,
        emulator_cpu=emulator_cpu / wall,
        wrk_cpu=result.load_cpu_s / wall,
        other_cpu=max(machine - ours, 0.0) / wall,
        target_kernel_cpu=kernel / wall,
        target_storage_bytes=storage,
    )


def machine_busy_seconds() -> float:
    """CPU time spent by the whole machine, both cores (not idle, not waiting for I/O)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


class Settler:
    """Before each run: wait until every process of ours is idle, then a little for the machine.

    A slow target (LiteLLM) goes on working off the requests wrk left in flight for seconds after
    wrk has gone, and must not load the next run's cores: that wait is always made. Other work
    on the machine (another session's tests) is waited out for at most PER_RUN_QUIET_S a run and
    `budget_s` in all, so that the whole benchmark stays within its time; then the run goes on
    and its `other CPU` column shows how much there was.
    """

    def __init__(self, targets: list[Target], budget_s: float) -> None:
        self.targets = targets
        self.budget_s = budget_s

    def __call__(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            before = sum(tree_cpu_seconds(t.pid) for t in self.targets)
            time.sleep(SETTLE_WINDOW_S)
            busy = sum(tree_cpu_seconds(t.pid) for t in self.targets) - before
            if busy / SETTLE_WINDOW_S < SETTLE_BUSY:
                break
            if time.monotonic() > deadline:
                print(f"  !! ours still {busy / SETTLE_WINDOW_S:.0%} busy after 60 s", flush=True)
                break
        started = time.monotonic()
        deadline = started + min(PER_RUN_QUIET_S, self.budget_s)
        while time.monotonic() < deadline:
            before = machine_busy_seconds()
            time.sleep(SETTLE_WINDOW_S / 2)
            if (machine_busy_seconds() - before) / (SETTLE_WINDOW_S / 2) < QUIET_BUSY:
                break
        self.budget_s -= time.monotonic() - started


def _better(new: Run, old: Run | None) -> bool:
    """A run with errors never beats one without (its rate is not the workload's), nor a noisy run
    a quiet one (its figures are the machine's); then the higher rate wins."""

    def rank(run: Run) -> tuple[int, bool, float]:
        return run.result.errors, run.other_cpu > NOISY, -run.result.rps

    return old is None or rank(new) < rank(old)


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


def _wrk_version() -> str:
    out = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True, check=False)
    return (out.stdout + out.stderr).split(" [", 1)[0].removeprefix("wrk ").strip()


Best = dict[tuple[str, str, int], Run]
PerRep = dict[tuple[str, str, int], list[Run]]  # the best attempt of each repetition, in order


def report(targets: list[Target], best: Best, per_rep: PerRep, args: argparse.Namespace) -> bool:
    """Print the tables; True when every run was clean."""
    names = [t.name for t in targets]
    print(
        f"\nPython {sys.version.split()[0]}, laneway {_version('laneway')}, aiohttp "
        f"{_version('aiohttp')}, uvloop {_version('uvloop')}, litellm "
        f"{LITELLM_VERSION if 'litellm' in names else '-'}, wrk {_wrk_version()}; "
        f"{args.seconds} s runs (LiteLLM at 64 connections: {args.litellm_seconds} s), best of "
        f"{args.repeat}; emulator and wrk on CPU {LOAD_CPU}; the "
        f"target on CPU {SERVER_CPU} at 64 connections and on CPU {one_cpu(args)} at 1\n"
    )
    clean = results_table(names, best)
    print("\n| target | RSS idle MB | RSS after load MB |\n|---|---|---|")
    for target in targets:
        print(f"| {target.name} | {target.idle_rss_mb:.0f} | {target.loaded_rss_mb:.0f} |")
    ratios_table(names, best, per_rep)
    for target in targets:
        for note in target.notes:
            print(f"note: {target.name} {note}")
    for (name, workload, connections), run in best.items():
        busy = run.emulator_cpu + run.wrk_cpu
        if name != "emulator" and connections > 1 and busy > SATURATED:
            print(
                f"note: {name} {workload} at {connections}: CPU {LOAD_CPU} was {busy:.0%} busy "
                "(emulator + wrk): the upstream side may have set the rate"
            )

    noisy = [
        f"{name} {workload} at {connections} ({run.other_cpu:.0%})"
        for (name, workload, connections), run in best.items()
        if run.other_cpu > NOISY
    ]
    if noisy:
        print(
            "note: the machine was not quiet: other processes used this much of a core during "
            "the best run of " + ", ".join(noisy)
        )
    if "laneway" in names:
        verdicts(next(t for t in targets if t.name == "laneway"), best, names)
    return clean


def results_table(names: list[str], best: Best) -> bool:
    print(
        "| target | workload | conns | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms "
        "| target CPU | emulator CPU | wrk CPU | other CPU | errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    clean = True
    for connections in CONNECTIONS:
        for workload in WORKLOADS:
            base = best.get(("emulator", workload, connections))
            for name in names:
                if (run := best.get((name, workload, connections))) is None:
                    continue
                r = run.result
                added = " | "
                if base is not None and name != "emulator":
                    added = (
                        f"{r.p50_ms - base.result.p50_ms:.3f} | {r.p99_ms - base.result.p99_ms:.3f}"
                    )
                clean = clean and not r.errors
                print(
                    f"| {name} | {workload} | {connections} | {r.rps:,.0f} | {r.p50_ms:.3f} "
                    f"| {r.p99_ms:.3f} | {added} | {run.target_cpu:.0%} | {run.emulator_cpu:.0%} "
                    f"| {run.wrk_cpu:.0%} | {run.other_cpu:.0%} | {_errors(r) or 0} |"
                )
    return clean


def _errors(r: Result) -> str:
    return f"**{r.non_2xx} non-2xx, {r.socket_errors} socket errors**" if r.errors else ""


def ratios_table(names: list[str], best: Best, per_rep: PerRep) -> None:
    """Best over best, then each repetition's pair: targets measured back to back share the host's
    speed of the moment, which moves by up to ~2x over minutes here."""
    candidates = (("laneway", "aiohttp"), ("laneway", "litellm"), ("aiohttp", "litellm"))
    pairs = [(a, b) for a, b in candidates if a in names and b in names]
    if not pairs:
        return
    print("\nThroughput ratios (req/s over req/s): best runs (each repetition's in brackets)\n")
    print("| workload | conns | " + " | ".join(f"{a}/{b}" for a, b in pairs) + " |")
    print("|---|---|" + "---|" * len(pairs))
    for connections in CONNECTIONS:
        for workload in WORKLOADS:
            cells = []
            for a, b in pairs:
                ra = best.get((a, workload, connections))
                rb = best.get((b, workload, connections))
                if ra is None or rb is None:
                    cells.append("-")
                    continue
                each = zip(
                    per_rep.get((a, workload, connections), []),
                    per_rep.get((b, workload, connections), []),
                    strict=False,
                )
                reps = ", ".join(f"{x.result.rps / y.result.rps:.2f}" for x, y in each)
                cells.append(f"{ra.result.rps / rb.result.rps:.2f}x ({reps})")
            print(f"| {workload} | {connections} | " + " | ".join(cells) + " |")


def verdicts(laneway: Target, best: Best, names: list[str]) -> None:
    print("\nIssue 4's targets for laneway:")

    def line(what: str, ok: bool) -> None:
        print(f"  {'PASS' if ok else 'FAIL'}  {what}")

    for workload in WORKLOADS:
        if (lane := best.get(("laneway", workload, 64))) is None:
            continue
        if "aiohttp" in names and (yard := best.get(("aiohttp", workload, 64))):
            ratio = lane.result.rps / yard.result.rps
            line(f"{workload} at 64: {ratio:.2f}x the aiohttp proxy's req/s (>= 1)", ratio >= 1)
        if "litellm" in names and (lite := best.get(("litellm", workload, 64))):
            ratio = lane.result.rps / lite.result.rps
            line(
                f"{workload} at 64: {ratio:.0f}x LiteLLM's req/s (>= {TARGET_VS_LITELLM:g})",
                ratio >= TARGET_VS_LITELLM,
            )
        one, base = best.get(("laneway", workload, 1)), best.get(("emulator", workload, 1))
        if one and base:
            added = one.result.p50_ms - base.result.p50_ms
            line(
                f"{workload} at 1: adds {added:.3f} ms at p50 (<= {TARGET_ADDED_P50_MS})",
                added <= TARGET_ADDED_P50_MS,
            )
    line(
        f"idle RSS {laneway.idle_rss_mb:.0f} MB (< {TARGET_IDLE_RSS_MB:.0f})",
        laneway.idle_rss_mb < TARGET_IDLE_RSS_MB,
    )


def one_cpu(args: argparse.Namespace) -> str:
    """Where the target under test runs at 1 connection (see the module's docstring)."""
    return SERVER_CPU if args.split_at_1 else LOAD_CPU


def run_all(targets: list[Target], args: argparse.Namespace) -> tuple[Best, PerRep]:
    emulator = targets[0]
    settle = Settler(targets, args.quiet_wait)
    retry_budget = args.retry_noisy
    best: Best = {}
    per_rep: PerRep = {}
    # Warm-up: one short run per target and workload (LiteLLM imports lazily on first use).
    for target in targets:
        for workload in WORKLOADS:
            settle()
            measure(target, emulator.pid, workload, 4, 1, SERVER_CPU)
    for repetition in range(args.repeat):
        for connections in CONNECTIONS:
            cpu = one_cpu(args) if connections == 1 else SERVER_CPU
            for workload in WORKLOADS:
                for target in targets:
                    seconds = args.seconds
                    if target.name == "litellm" and connections > 1:
                        seconds = max(seconds, args.litellm_seconds)
                    key = (target.name, workload, connections)
                    this_rep: Run | None = None
                    for attempt in range(1 + RETRIES):
                        settle()
                        run = measure(target, emulator.pid, workload, connections, seconds, cpu)
                        _progress(f"rep {repetition + 1}", target, workload, connections, run)
                        if _better(run, best.get(key)):
                            best[key] = run
                        if _better(run, this_rep):
                            this_rep = run
                        if run.other_cpu <= NOISY or retry_budget < seconds or attempt == RETRIES:
                            break
                        retry_budget -= seconds  # the machine was busy: again, if time allows
                    per_rep.setdefault(key, []).append(run if this_rep is None else this_rep)
    return best, per_rep


def _progress(label: str, target: Target, workload: str, connections: int, run: Run) -> None:
    r = run.result
    flag = f"  !! {_errors(r)}" if r.errors else ""
    noisy = "  (noisy)" if run.other_cpu > NOISY else ""
    print(
        f"  {label} {target.name:8} {workload:16} {connections:>2} {r.rps:9,.0f} req/s "
        f"p50 {r.p50_ms:8.3f} ms p99 {r.p99_ms:8.3f} ms target {run.target_cpu:4.0%} "
        f"emulator {run.emulator_cpu:4.0%} wrk {run.wrk_cpu:4.0%} other {run.other_cpu:4.0%}"
        f"{flag}{noisy}",
        flush=True,
    )


def chosen_targets(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    if unknown := set(names) - set(TARGETS):
        parser.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(TARGETS)}")
    if args.skip_litellm and "litellm" in names:
        names.remove("litellm")
    if "emulator" not in names:
        names.insert(0, "emulator")  # the baseline for added latency
    require_wrk()
    if "laneway" in names and (why := serve_available()) is not None:
        parser.exit(
            1,
            f"`laneway serve` is not available ({why}); measure without it: "
            "--targets emulator,aiohttp,litellm\n",
        )
    if "litellm" in names and (why := litellm_problem(args.litellm_venv)) is not None:
        parser.exit(1, f"{why}; or leave LiteLLM out: --skip-litellm\n")
    if "aiohttp" in names and _version("aiohttp") == "?":
        parser.exit(
            1,
            "aiohttp is not installed: .venv/bin/pip install -r bench/requirements-clients.txt "
            "-c constraints.txt\n",
        )
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset")
    parser.add_argument("--skip-litellm", action="store_true", help="the same as leaving it out")
    parser.add_argument("--litellm-venv", type=Path, default=LITELLM_VENV)
    parser.add_argument(
        "--litellm-seconds",
        type=int,
        default=15,
        help="LiteLLM's runs at 64 connections: its answers take 1-5 s there, so a short run "
        "would count only its first wave",
    )
    add_quiet_machine(parser, retry_s=90.0, measured_again="runs", target="target")
    args = parser.parse_args()
    names = chosen_targets(parser, args)
    with (
        tempfile.TemporaryDirectory(prefix="laneway-bench-") as tmp,
        started(names, Path(tmp), args.litellm_venv) as targets,
    ):
        print("started: " + ", ".join(f"{t.name} (pid {t.pid})" for t in targets), flush=True)
        if not preflight(targets):
            raise SystemExit("a target answered wrongly before any load: nothing measured")
        best, per_rep = run_all(targets, args)
        for target in targets:
            target.loaded_rss_mb = tree_rss_mb(target.pid)
        clean = report(targets, best, per_rep, args)
    if not clean:
        raise SystemExit("\n!! FAILED: some answers were not 2xx or some requests failed (above)")


if __name__ == "__main__":
    main()
