"""Arms side by side: named gateway configs in front of one emulator, judged on the median over
paired repetitions of arm/plain requests/s, with instructions per request under callgrind beside.

    .venv/bin/python -m bench.bench_arms [--arms plain,lane,memory,redis] [--seconds 5]
        [--repeat 6] [--connections 64,1] [--instruction-seconds 20] [--instruction-repeat 2]
        [--instructions-only] [--baseline-python /work/before/.venv/bin/python]

One emulator (`laneway emulate --speed 0 --tier none`, CPU 1) and one `laneway serve` per gateway
config, each with its own SQLite ledger and key store:

- plain: the open gateway (no keys), "model" set to the model the lane routes to (read from the
  lane's `x-laneway-model` header: the emulator's answer length depends on the model, so only
  that model gives both arms the same upstream work);
- lane: the same gateway, "model": "lane:bench3", a `cheapest` lane of gpt-5.4-nano, gpt-5.4-mini
  and gpt-5.4 (issue 5: lane/plain >= 0.95);
- memory: a gateway with the admin API on and a virtual key (budget 1000000/day, rpm 1e8: never
  refused, but every request is authenticated, counted, reserves its worst case and settles),
  `[state] backend = "memory"` (issue 6: memory/plain >= 0.90);
- redis: the same with `[state] backend = "redis"` on a private redis-server (no persistence) on
  CPU 1 (issue 6: redis/plain >= 0.70);
- capture: the open gateway with `[capture]` on for every request at a share of 1% (issue 20:
  an unsampled request pays a hook and a draw; one in a hundred has its bodies gathered and
  queued for the capture writer's thread), the plain arm's requests;
- metrics: the open gateway with `[metrics] enabled = true` (issue 23: each settled record bumps
  the Prometheus counts; /metrics is scraped once before the load and must answer 200), the
  plain arm's requests.
- tracing: the open gateway with `[tracing]` on at its default sample_ratio (1%), sampled
  requests' spans built and exported by OTLP/HTTP to a stand-in collector (bench/otlp_sink.py,
  CPU 1) that reads and drops them (issue 23); traceall: the same with every request sampled
  (what one sampled request costs); tracenone: spans exported but none sampled (sample_ratio 0:
  the span machinery's own cost); traceids: `[tracing] exporter = "none"`, the request path's
  part alone (a trace id per request, its column and header, no spans); jsonlog: `[server]
  log_format = "json"`, the request line as a JSON object. All with the plain arm's requests.
- telemetry: metrics, tracing as shipped and the JSON request line on together (the issue's
  "on together" figure), the plain arm's requests.

Checked before any load: every workload through every arm answers exactly 200 with the right kind
of answer, `x-laneway-lane: bench3` on the lane's answers only, the same `x-laneway-model` and
answer length everywhere; a key with `rpm: 1` gets 200 then 429 `rate_limit_exceeded`, one with a
0.01 USD budget 429 `insufficient_quota`, the bench key's spend grows with nothing left reserved,
Redis holds keys under the namespace. After the load the spend has grown again, nothing reserved.
Any error (those checks, or a non-2xx answer or socket error under load) exits 1 after the report.

Each repetition runs every arm back to back per workload, the order rotating; a repetition during
which other processes used over a tenth of a core is measured again while --retry-noisy allows.
Judged at 64 connections on the median over repetitions of arm/plain (this host's speed moves
10-30% within seconds; two runs back to back share one moment). Then each gateway runs alone under
callgrind (bench/harness.py) for instructions per request, judged as plain/arm >= the same target.

--baseline-python names another interpreter with laneway installed: each arm is then run by both
installs (its `python -m laneway serve` against this tree's, same emulator, same configs), and the
report gives after/before requests/s and instructions per request per arm and workload, with the
verdict "instructions per request within +3% of the baseline".
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis

from bench.arm_configs import ARMS, LANE, LANE_CONFIG, OTLP_PORT, STATE, TARGETS
from bench.harness import (
    BEARER,
    CALLGRIND_CONNECTIONS,
    LOAD_CPU,
    NOISY,
    SATURATED,
    WORKLOADS,
    Callgrind,
    Checks,
    Quiet,
    Run,
    add_run_options,
    answer_problem,
    call,
    callgrind_problem,
    check_ports_free,
    emulator,
    gateway_command,
    gateway_config,
    measure,
    require,
    rotated,
    run_line,
    serve_problem,
    server,
    subset,
    under_callgrind,
    version_of,
    with_model,
    wrk_version,
)

EMULATOR_PORT, REDIS_PORT, CALLGRIND_PORT, FIRST_GATEWAY_PORT = 4441, 4442, 4443, 4444
KEYED = ("memory", "redis")  # gateways with the admin API and virtual keys
BASELINE_BUDGET = 0.03  # after/before instructions per request at most +3%
ADMIN_KEY = "bench-admin-key-not-a-secret-0123456789"
KEYS: dict[str, dict[str, Any]] = {  # made on the keyed gateways, by name: POST /admin/keys
    "bench": {"budgets": ["1000000/day"], "rpm": 100_000_000},  # under load: never refused
    "rpm-one": {"rpm": 1},  # its second request within a minute: 429 rate_limit_exceeded
    "broke": {"budgets": ["0.01/day"]},  # laneway caps output at 4,096: ~0.019 USD, still 429
}

Unit = tuple[str, str]  # (side, arm): side is "this", or "before"/"after" with a baseline


@dataclass(eq=False)  # hashed by identity
class Gateway:
    side: str
    kind: str  # open, memory, redis
    python: str
    port: int
    pid: int = 0
    bearer: str = BEARER
    key_id: str = ""
    secrets: dict[str, str] = field(default_factory=dict)


def name(unit: Unit) -> str:
    return unit[1] if unit[0] == "this" else f"{unit[0]} {unit[1]}"


def start(stack: contextlib.ExitStack, gw: Gateway, home: Path, namespace: str) -> Callgrind | None:
    """Start `gw` (under callgrind on CALLGRIND_PORT), make its keys; stopped with `stack`."""
    url = f"redis://127.0.0.1:{REDIS_PORT}/0"
    extra = LANE_CONFIG + STATE[gw.kind].format(url=url, namespace=f"{namespace}:{gw.side}")
    env = {"LANEWAY_ADMIN_KEY": ADMIN_KEY} if gw.kind in KEYED else {}
    config = gateway_config(home, EMULATOR_PORT, extra)
    argv, environment = gateway_command(gw.python, config, gw.port, env)
    counter = None
    if gw.port == CALLGRIND_PORT:
        counter = stack.enter_context(
            under_callgrind(argv, gw.port, home / "callgrind", environment, home / "log")
        )
        gw.pid = counter.pid
    else:
        gw.pid = stack.enter_context(server(argv, gw.port, env=environment, log=home / "log"))
    if gw.kind in KEYED:
        make_keys(gw)
    return counter


def admin(port: int, method: str, path: str, fields: dict[str, Any] | None = None) -> Any:
    body = None if fields is None else json.dumps(fields).encode()
    status, _, answer = call(port, method, f"/admin/{path}", ADMIN_KEY, body)
    if status not in (200, 201):
        raise SystemExit(f"admin {method} {path} on port {port}: status {status}: {answer[:300]!r}")
    return json.loads(answer)


def make_keys(gw: Gateway) -> None:
    for key_name, fields in KEYS.items():
        made = admin(gw.port, "POST", "keys", {"name": key_name, **fields})
        gw.secrets[key_name] = made["key"]
        if key_name == "bench":
            gw.bearer, gw.key_id = made["key"], made["id"]


def spend(
    gw: Gateway, above: Decimal = Decimal(-1), wait_s: float = 0.0
) -> tuple[Decimal, Decimal]:
    """The bench key's settled and reserved USD today, once settled above `above` with nothing
    reserved (settling runs after each answer) or after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        view = admin(gw.port, "GET", f"keys/{gw.key_id}")
        (day,) = [item for item in view["spend"] if item["window"] == "day"]
        spent, reserved = Decimal(day["spent_usd"]), Decimal(day["reserved_usd"])
        if (spent > above and reserved == 0) or time.monotonic() > deadline:
            return spent, reserved
        time.sleep(0.05)


def error_code(body: bytes) -> str | None:
    with contextlib.suppress(ValueError, LookupError, TypeError):
        return str(json.loads(body)["error"]["code"])
    return None


# --- checks ------------------------------------------------------------------------------------


Requests = dict[tuple[str, str], tuple[str, bytes]]  # (arm, workload) -> (path, body)


def preflight(
    check: Checks, of: dict[Unit, Gateway], requests: Requests, workloads: list[str], ns: str
) -> dict[Gateway, Decimal]:
    """The answers, the limits' enforcement and the spend; returns each keyed gateway's spend."""
    keyed = list(dict.fromkeys(gw for gw in of.values() if gw.kind in KEYED))
    before = {gw: spend(gw)[0] for gw in keyed}
    for workload in workloads:
        seen: dict[Unit, tuple[str, int]] = {}
        for unit, gw in of.items():
            path, body = requests[unit[1], workload]
            status, headers, answer = call(gw.port, "POST", path, gw.bearer, body)
            problem = answer_problem(workload, status, headers, answer)
            lane = headers.get("x-laneway-lane")
            if problem is None and (lane == LANE) != (unit[1] == "lane"):
                problem = f"x-laneway-lane: {lane!r} on the {unit[1]} arm"
            check(f"{name(unit):13} {workload}", problem)
            seen[unit] = (headers.get("x-laneway-model", "?"), len(answer))
        if len(set(seen.values())) > 1:
            check(f"{workload}: the same upstream work", f"(model, bytes) differ: {seen}")
    for gw in dict.fromkeys(each for each in of.values() if each.kind == "metrics"):
        status, _, text = call(gw.port, "GET", "/metrics", gw.bearer)
        counted = status == 200 and b"laneway_requests_total{" in text
        check(f"{gw.side} metrics: /metrics", None if counted else f"{status}: nothing counted")
    path, body = requests["plain", "chat"]
    for gw in keyed:
        what = f"{gw.side} {gw.kind}"
        first = call(gw.port, "POST", path, gw.secrets["rpm-one"], body)[0]
        second = call(gw.port, "POST", path, gw.secrets["rpm-one"], body)
        got = (first, second[0], error_code(second[2]))
        check.expect(f"{what}: rpm=1 key 200 then 429", got, (200, 429, "rate_limit_exceeded"))
        broke = call(gw.port, "POST", path, gw.secrets["broke"], body)
        refused = (broke[0], error_code(broke[2]))
        check.expect(f"{what}: 0.01/day key 429", refused, (429, "insufficient_quota"))
        before[gw] = settled(check, gw, before[gw], 5, "before the load")
        if gw.kind == "redis":
            store = redis.Redis(port=REDIS_PORT)
            held = sum(1 for _ in store.scan_iter(f"{ns}:{gw.side}:*", count=1000))
            store.close()
            check(f"{what}: {held} keys in Redis under the namespace", None if held else "none")
    return before


def settled(check: Checks, gw: Gateway, before: Decimal, wait_s: float, when: str) -> Decimal:
    spent, reserved = spend(gw, before, wait_s)
    what = f"{gw.side} {gw.kind}: bench key {when}: {before} -> {spent} USD, {reserved} reserved"
    check(what, None if spent > before and reserved == 0 else "did not settle")
    return spent


# --- measuring ---------------------------------------------------------------------------------


Reps = dict[tuple[str, int], list[dict[Unit, Run]]]  # (workload, conns) -> each repetition


def timed(
    of: dict[Unit, Gateway],
    requests: Requests,
    helpers: list[int],
    workloads: list[str],
    args: argparse.Namespace,
    check: Checks,
) -> Reps:
    units = list(of)
    quiet = Quiet([*helpers, *{gw.pid for gw in of.values()}], args.quiet_wait)
    retry_budget = args.retry_noisy

    def one(unit: Unit, workload: str, connections: int, seconds: int, label: str) -> Run:
        quiet()
        gw = of[unit]
        run = measure(
            gw.port,
            requests[unit[1], workload],
            target=gw.pid,
            helpers=helpers,
            connections=connections,
            seconds=seconds,
            bearer=gw.bearer,
        )
        print(run_line(f"{label} {name(unit):13} {workload:16} {connections:>2}", run), flush=True)
        if run.result.errors:
            check.failed.append(f"{label} {name(unit)} {workload} at {connections}: errors")
        return run

    for workload in workloads:
        for unit in units:
            one(unit, workload, 4, 1, "warm-up")
    reps: Reps = {}
    for repetition in range(args.repeat):
        for connections in args.connections:
            for workload in workloads:
                chosen: dict[Unit, Run] = {}
                for attempt in range(3):
                    label = f"rep {repetition + 1}" + (f" again {attempt}" if attempt else "")
                    order = rotated(units, repetition)
                    runs = {u: one(u, workload, connections, args.seconds, label) for u in order}
                    noise = max(r.other for r in runs.values())
                    if not chosen or noise < max(r.other for r in chosen.values()):
                        chosen = runs
                    if noise <= NOISY or retry_budget < len(units) * args.seconds:
                        break
                    retry_budget -= len(units) * args.seconds
                reps.setdefault((workload, connections), []).append(chosen)
    return reps


Counts = dict[tuple[Unit, str], list[float]]  # (unit, workload) -> instructions per request


def instructions(
    gateways: list[Gateway],
    of: dict[Unit, Gateway],
    requests: Requests,
    workloads: list[str],
    args: argparse.Namespace,
    workdir: Path,
    ns: str,
    check: Checks,
) -> Counts:
    """Each gateway alone under callgrind (its own files and keys), its arms alternating, every
    workload --instruction-repeat times."""
    counts: Counts = {}
    for timed_gw in gateways:
        gw = dataclasses.replace(timed_gw, port=CALLGRIND_PORT, secrets={})
        units = [unit for unit, each in of.items() if each is timed_gw]
        print(f"instructions: the {gw.kind} gateway ({gw.side}) under callgrind", flush=True)
        with contextlib.ExitStack() as stack:
            counter = start(stack, gw, workdir / f"callgrind-{gw.side}-{gw.kind}", f"{ns}:cg")
            assert counter is not None
            for repetition in range(args.instruction_repeat):
                for workload in workloads:
                    for unit in rotated(units, repetition):
                        request = requests[unit[1], workload]
                        per, errors = counter.count(request, args.instruction_seconds, gw.bearer)
                        counts.setdefault((unit, workload), []).append(per)
                        line = f"  rep {repetition + 1} {name(unit):13} {workload:16} {per:,.0f}"
                        print(f"{line} instructions per request", flush=True)
                        if errors:
                            check.failed.append(f"instructions {name(unit)} {workload}: errors")
    return counts


# --- the report --------------------------------------------------------------------------------

Pair = tuple[str, Unit, Unit, float | None]  # label, numerator, denominator, target


def pairs_of(units: list[Unit], baseline: bool) -> list[Pair]:
    arms = list(dict.fromkeys(arm for _, arm in units))
    if baseline:
        return [(f"{arm} after/before", ("after", arm), ("before", arm), None) for arm in arms]
    return [(f"{arm}/plain", ("this", arm), ("this", "plain"), TARGETS[arm]) for arm in arms[1:]]


def med(values: Any) -> float:
    return float(statistics.median(values))


def report_rps(reps: Reps, pairs: list[Pair]) -> None:
    print("\nMedians over the repetitions (CPU 1 and other: the highest of any repetition):\n")
    print(
        "| workload | conns | arm | req/s | gateway CPU us/req | p50 ms | p99 ms | CPU 1 | other |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (workload, connections), runs in reps.items():
        for unit in runs[0]:
            each = [rep[unit] for rep in runs]
            print(
                f"| {workload} | {connections} | {name(unit)} "
                f"| {med(r.result.rps for r in each):,.0f} | {med(r.target_us for r in each):.0f} "
                f"| {med(r.result.p50_ms for r in each):.3f} "
                f"| {med(r.result.p99_ms for r in each):.3f} "
                f"| {max(r.cpu1 for r in each):.0%} | {max(r.other for r in each):.0%} |"
            )
    print("\nRequests/s ratios: median over repetitions (each repetition's, back to back):")
    for (workload, connections), runs in reps.items():
        for label, num, den, target in pairs:
            ratios = [rep[num].result.rps / max(rep[den].result.rps, 1e-9) for rep in runs]
            median = med(ratios)
            line = f"  {workload} at {connections}: {label} {median:.3f} "
            line += "(" + ", ".join(f"{x:.3f}" for x in ratios) + ")"
            if connections == 1:
                added = med(rep[num].result.p50_ms - rep[den].result.p50_ms for rep in runs)
                line += f"; p50 {added:+.3f} ms (reported, not judged)"
            elif target is not None:
                line += f" >= {target:.2f}: {'PASS' if median >= target else 'FAIL'}"
            if max(rep[u].cpu1 for rep in runs for u in (num, den)) > SATURATED:
                line += f" (CPU {LOAD_CPU} saturated: the upstream side may have set the rate)"
            print(line)


def report_instructions(counts: Counts, pairs: list[Pair], workloads: list[str]) -> None:
    print(
        f"\nInstructions per request at {CALLGRIND_CONNECTIONS} connections, medians, all the "
        "gateway's threads (not Redis', not the kernel's):"
    )
    worst: tuple[float, str] | None = None
    for workload in workloads:
        for label, num, den, target in pairs:
            if (num, workload) not in counts or (den, workload) not in counts:
                continue
            a, b = med(counts[num, workload]), med(counts[den, workload])
            line = f"  {workload}: {name(num)} {a:,.0f}, {name(den)} {b:,.0f}: {label} "
            line += f"{a / b - 1:+.1%}"
            if target is not None:
                verdict = "PASS" if b / a >= target else "FAIL"
                line += f" ({name(den)}/{name(num)} {b / a:.3f} >= {target:.2f}: {verdict})"
            elif worst is None or a / b - 1 > worst[0]:
                worst = (a / b - 1, f"{num[1]} {workload}")
            print(line)
    if worst is not None:
        ok = "yes" if worst[0] <= BASELINE_BUDGET else "no"
        print(
            f"\ninstructions per request, after over before: worst {worst[0]:+.1%} ({worst[1]}); "
            f"within +{BASELINE_BUDGET:.0%} of the baseline: {ok}"
        )


# --- main --------------------------------------------------------------------------------------


def parse() -> tuple[argparse.Namespace, list[str], list[str]]:
    """The arguments, the workloads and the arms (plain first), checked."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_run_options(parser, seconds=5, repeat=6)
    parser.add_argument(
        "--arms",
        help="comma-separated; plain always runs (default: all; with a baseline plain,lane)",
    )
    parser.add_argument("--connections", default="64,1", help="64 (judged) and/or 1 (reported)")
    parser.add_argument(
        "--retry-noisy",
        type=float,
        default=60.0,
        help="seconds in all for measuring again repetitions when the machine was busy",
    )
    parser.add_argument("--instruction-seconds", type=int, default=20, help="0: count none")
    parser.add_argument("--instruction-repeat", type=int, default=2)
    parser.add_argument("--instructions-only", action="store_true", help="time nothing")
    parser.add_argument("--baseline-python", help="an interpreter with the baseline's laneway")
    args = parser.parse_args()
    workloads = subset(parser, "workloads", args.workloads, list(WORKLOADS))
    arms = args.arms or ("plain,lane" if args.baseline_python else ",".join(ARMS))
    arms = list(dict.fromkeys(["plain", *subset(parser, "arms", arms, list(ARMS))]))
    args.connections = [
        int(c) for c in subset(parser, "connections", args.connections, ["64", "1"])
    ]
    if args.instruction_seconds and (why := callgrind_problem()):
        parser.error(f"{why} (or --instruction-seconds 0)")
    if args.instructions_only and not args.instruction_seconds:
        parser.error("--instructions-only needs --instruction-seconds above 0")
    if args.seconds < 1 or args.repeat < 1:
        parser.error("--seconds and --repeat must be at least 1")
    for python in filter(None, (args.baseline_python, sys.executable)):
        if why := serve_problem(python):
            parser.exit(1, f"`{python} -m laneway serve` is not available: {why}\n")
    return args, workloads, arms


def where(python: str) -> str:
    code = "import laneway; print(laneway.__file__)"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


def main() -> None:
    args, workloads, arms = parse()
    require("wrk", "wrk")
    redis_server = require("redis-server", "redis-server") if "redis" in arms else ""
    sides = [("this", sys.executable)]
    if args.baseline_python:
        sides = [("before", args.baseline_python), ("after", sys.executable)]
    kinds = list(dict.fromkeys(ARMS[arm] for arm in arms))
    gateways = [Gateway(side, kind, python, 0) for side, python in sides for kind in kinds]
    for i, gw in enumerate(gateways):
        gw.port = FIRST_GATEWAY_PORT + i
    of = {(gw.side, arm): gw for gw in gateways for arm in arms if ARMS[arm] == gw.kind}
    check_ports_free([EMULATOR_PORT, REDIS_PORT, CALLGRIND_PORT, *(gw.port for gw in gateways)])
    collector = bool({"tracing", "traceall", "tracenone", "telemetry"} & set(arms))
    if collector:
        check_ports_free([OTLP_PORT])
    ns = "lwbench:" + uuid.uuid4().hex[:12]
    check = Checks()
    print(f"Python {sys.version.split()[0]}, wrk {wrk_version()}, redis-py {version_of('redis')}")
    for side, python in sides:
        print(f"{side}: {python}, laneway from {where(python)}")
    print(
        f"emulator, wrk and Redis on CPU {LOAD_CPU}; the gateway under test on CPU 0 at 64 "
        f"connections, CPU {LOAD_CPU} at 1; {args.seconds} s runs, {args.repeat} repetitions"
    )
    reps: Reps = {}
    counts: Counts = {}
    with tempfile.TemporaryDirectory(prefix="laneway-bench-") as tmp, contextlib.ExitStack() as up:
        workdir = Path(tmp)
        helpers = start_helpers(up, workdir, redis_server, collector)
        with contextlib.ExitStack() as running:
            for gw in gateways:
                start(running, gw, workdir / f"{gw.side}-{gw.kind}", ns)
            requests = arm_requests(gateways, arms)
            spent = preflight(check, of, requests, workloads, ns)
            if check.failed:
                raise SystemExit("a check failed before any load: nothing measured")
            if not args.instructions_only:
                reps = timed(of, requests, helpers, workloads, args, check)
                for gw, before in spent.items():
                    settled(check, gw, before, 10, "after the load")
        if args.instruction_seconds:
            counts = instructions(gateways, of, requests, workloads, args, workdir, ns, check)
    pairs = pairs_of(list(of), bool(args.baseline_python))
    if reps:
        report_rps(reps, pairs)
    if counts:
        report_instructions(counts, pairs, workloads)
    if check.failed:
        print("\n".join(f"!! {line}" for line in check.failed))
        raise SystemExit("\n!! FAILED: a wrong answer, an error under load or unsettled spend")


def start_helpers(
    up: contextlib.ExitStack, workdir: Path, redis_server: str, collector: bool
) -> list[int]:
    """The emulator, and Redis and the stand-in OTLP collector when arms need them (CPU 1);
    their PIDs, stopped with `up`."""
    helpers = [up.enter_context(emulator(EMULATOR_PORT, workdir / "emulator.log"))]
    if redis_server:
        argv = [redis_server, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", ""]
        redis_log = workdir / "redis.log"
        argv += ["--appendonly", "no"]
        helpers.append(up.enter_context(server(argv, REDIS_PORT, cpu=LOAD_CPU, log=redis_log)))
    if collector:
        argv = [sys.executable, "-m", "bench.otlp_sink", "--port", str(OTLP_PORT)]
        sink_log = workdir / "otlp.log"
        helpers.append(up.enter_context(server(argv, OTLP_PORT, cpu=LOAD_CPU, log=sink_log)))
    return helpers


def arm_requests(gateways: list[Gateway], arms: list[str]) -> Requests:
    """Each arm's request per workload: the lane's names the lane, every other arm the model
    the lane routes to (asked of each open gateway: they must agree)."""
    path, body = WORKLOADS["chat"]
    lane = with_model(body, f"lane:{LANE}")
    routed = {
        call(gw.port, "POST", path, gw.bearer, lane)[1].get("x-laneway-model", "?")
        for gw in gateways
        if gw.kind == "open"
    }
    if len(routed) != 1:
        raise SystemExit(f"lane:{LANE} routes to {sorted(routed)}, not one model")
    model = routed.pop()
    print(f"lane:{LANE} routes to {model}; every other arm names it", flush=True)
    return {
        (arm, workload): (path, with_model(body, f"lane:{LANE}" if arm == "lane" else model))
        for arm in arms
        for workload, (path, body) in WORKLOADS.items()
    }


if __name__ == "__main__":
    main()
