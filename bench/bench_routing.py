"""What routing through a lane costs the gateway: a `cheapest` lane next to a plain model id.

    .venv/bin/python -m bench.bench_routing [--seconds 5] [--repeat 6]
        [--workloads chat,responses,chat stream,responses stream] [--connections 64,1]
        [--quiet-wait 30] [--retry-noisy 60] [--split-at-1]
        [--instruction-seconds 20] [--instruction-repeat 2] [--instructions-only]

Issue 5: "Routing adds no measurable cost to the gateway benchmark: report bench/ numbers with a
three-candidate `cheapest` lane versus a plain model id; the difference in requests/s stays
within 5%."

One emulator (`laneway emulate --speed 0 --tier none`) and ONE `laneway serve`, started as
bench/bench_gateway.py starts them (ledger on, the emulator as an `openai-compatible` provider),
with this lane added to the gateway's config:

    [lanes.bench3]
    policy = "cheapest"
    candidates = ["gpt-5.4-nano", "gpt-5.4-mini", "gpt-5.4"]

Two arms hit that same gateway process, alternating inside each repetition (the arm that goes
first swaps every repetition): "lane" sends bench_emulator's four bodies (non-streaming and
streaming Chat and Responses) with `"model": "lane:bench3"`; "plain" sends the same bodies with
`"model"` set to the model the lane routes to. The plain arm does NOT keep bench_emulator's
`gpt-5.4`: at `--speed 0` the emulator's answer length depends on the model (89 completion tokens
for gpt-5.4, 71 for gpt-5.4-nano, 26 for gpt-5.4-mini with this prompt), so the plain model is
read before any load from the lane's `x-laneway-model` answer header. With today's catalog that is
gpt-5.4-mini, not gpt-5.4-nano: nano's output price is "unknown", and `cheapest` ranks candidates
of unknown cost last. Both arms then cause the same upstream work, byte for byte; the only
difference left is the gateway's: lane lookup, pricing three candidates, the route header.

Before any load, for every workload and arm: exactly 200, an answer of the right kind
(bench_gateway's check), `x-laneway-lane: bench3` on the lane's answer and no `x-laneway-lane`
on the plain one, the same `x-laneway-model` in both, and answers of the same length. Under load
any non-2xx answer or socket error (wrk's count, in any run, the warm-up included) fails the
benchmark (exit 1) after the report.

Placement is bench_gateway's: at 64 connections the gateway has CPU 0 to itself while the
emulator and wrk share CPU 1; at 1 connection the gateway moves onto CPU 1 beside them (no
cross-core wake-ups in the serial chain), unless --split-at-1. A pair of runs (plain and lane)
during which other processes used more than a tenth of a core is measured again as a pair while
--retry-noisy allows. Reported: requests/s of each arm, lane/plain per repetition (and their
median) and best over best, the gateway's CPU per request (and, as medians over the repetitions,
its kernel part and the bytes its ledger wrote to storage per request), p50/p99; judged at 64
connections on the median over repetitions of lane/plain >= 0.95, as bench_admission judges:
this host's speed moves by 10-30% within seconds, so the best run of one arm and that of the
other may come from different moments, while the two runs of one repetition, back to back, share
one. At 1 connection the lane's added p50 is reported, not judged.

Then, unless --instruction-seconds 0, both arms' instructions per request are counted on a second
gateway of the same config under valgrind's callgrind (bench/instructions.py), arms alternating,
--instruction-repeat counts each: a measure this host's drift does not move, reported and judged
beside requests/s (plain/lane instructions >= 0.95), never instead of it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_emulator import WORKLOADS
from bench.bench_gateway import (
    EMULATOR_PORT,
    LANEWAY_CONFIG,
    LANEWAY_PORT,
    LITELLM_VENV,
    NOISY,
    RETRIES,
    SATURATED,
    UPSTREAM_KEY,
    UPSTREAM_KEY_ENV,
    Run,
    Settler,
    Target,
    _better,
    _errors,
    _laneway,
    _progress,
    _version,
    _wrk_version,
    check,
    measure,
    one_cpu,
    post,
    serve_available,
    started,
)
from bench.instructions import Count, print_verdicts, under_callgrind
from bench.loadgen import LOAD_CPU, SERVER_CPU, require_wrk
from bench.options import CONNECTIONS, add_side_by_side, parse_side_by_side

LANE = "bench3"
LANE_CONFIG = f"""
[lanes.{LANE}]
policy = "cheapest"
candidates = ["gpt-5.4-nano", "gpt-5.4-mini", "gpt-5.4"]
"""
ARMS = ("plain", "lane")
TARGET_RATIO = 0.95  # lane req/s over plain req/s at 64 connections

Request = tuple[str, bytes]  # path, body
CALLGRIND_PORT = LANEWAY_PORT + 10  # the gateway under callgrind, beside the one timed


@dataclass
class Pair:
    """One repetition of one workload: the chosen attempt of each arm, measured back to back."""

    runs: dict[str, Run]

    @property
    def ratio(self) -> float:
        return self.runs["lane"].result.rps / max(self.runs["plain"].result.rps, 1e-9)

    @property
    def other_cpu(self) -> float:
        return max(run.other_cpu for run in self.runs.values())


@dataclass
class Measured:
    best: dict[tuple[str, str, int], Run] = field(default_factory=dict)  # (arm, workload, conns)
    pairs: dict[tuple[str, int], list[Pair]] = field(default_factory=dict)  # (workload, conns)
    failed: list[str] = field(default_factory=list)  # runs with errors, warm-up included
    # (arm, workload) -> each count of instructions per request (bench/instructions.py)
    instructions: dict[tuple[str, str], list[Count]] = field(default_factory=dict)


def with_model(body: bytes, model: str) -> bytes:
    data = json.loads(body)
    data["model"] = model
    return json.dumps(data, separators=(",", ":")).encode()


def routed_model(port: int) -> str:
    """The model `lane:bench3` sends bench_emulator's chat body to."""
    path, body = WORKLOADS["chat"]
    status, headers, answer = post(port, path, with_model(body, f"lane:{LANE}"))
    if status != 200 or "x-laneway-model" not in headers:
        raise SystemExit(f"the lane did not answer: status {status}, {answer[:300]!r}")
    return headers["x-laneway-model"]


def requests_for(model: str, workloads: list[str]) -> dict[tuple[str, str], Request]:
    """(arm, workload) -> the request wrk sends."""
    out: dict[tuple[str, str], Request] = {}
    for workload in workloads:
        path, body = WORKLOADS[workload]
        out["plain", workload] = (path, with_model(body, model))
        out["lane", workload] = (path, with_model(body, f"lane:{LANE}"))
    return out


def preflight(port: int, requests: dict[tuple[str, str], Request], workloads: list[str]) -> bool:
    """Every workload through both arms once: headers, kind of answer, same upstream work."""
    ok = True
    for workload in workloads:
        seen: dict[str, tuple[str, int]] = {}
        for arm in ARMS:
            request = requests[arm, workload]
            try:
                status, headers, answer = post(port, *request)
                problem = check(port, workload, request)[0]
            except (OSError, ValueError, http.client.HTTPException) as exc:
                status, headers, answer = 0, {}, b""
                problem = f"{type(exc).__name__}: {exc}"
            lane = headers.get("x-laneway-lane")
            if status != 200:
                problem = f"status {status}: {answer[:300]!r}"
            elif arm == "lane" and lane != LANE:
                problem = f"x-laneway-lane is {lane!r}, not {LANE!r}"
            elif arm == "plain" and lane is not None:
                problem = f"a plain model id answered with x-laneway-lane: {lane}"
            if problem is not None:
                ok = False
                print(f"!! {arm} {workload}: {problem}", flush=True)
                continue
            seen[arm] = (headers.get("x-laneway-model", "?"), len(answer))
            route = headers.get("x-laneway-route", "-")
            print(f"  ok  {arm:5} {workload:16} route: {route}; {len(answer)} bytes", flush=True)
        if len(seen) == len(ARMS) and seen["plain"] != seen["lane"]:
            ok = False
            print(
                f"!! {workload}: the arms differ upstream (model, answer bytes): plain "
                f"{seen['plain']}, lane {seen['lane']}",
                flush=True,
            )
    return ok


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


# --- measuring ---------------------------------------------------------------------------------


class Bench:
    def __init__(
        self,
        emulator: Target,
        laneway: Target,
        requests: dict[tuple[str, str], Request],
        args: argparse.Namespace,
    ) -> None:
        self.emulator = emulator
        # Two names for the same process, so that progress lines say which arm ran.
        self.arms = {arm: Target(arm, laneway.port, laneway.pid) for arm in ARMS}
        self.requests = requests
        self.args = args
        self.settle = Settler([emulator, laneway], args.quiet_wait)
        self.retry_budget: float = args.retry_noisy
        self.out = Measured()

    def run(self, arm: str, workload: str, connections: int, seconds: int, label: str) -> Run:
        cpu = one_cpu(self.args) if connections == 1 else SERVER_CPU
        self.settle()
        run = measure(
            self.arms[arm],
            self.emulator.pid,
            workload,
            connections,
            seconds,
            cpu,
            request=self.requests[arm, workload],
        )
        _progress(label, self.arms[arm], workload, connections, run)
        if run.result.errors:
            self.out.failed.append(
                f"{label} {arm} {workload} at {connections}: {_errors(run.result)}"
            )
        return run

    def pair(self, workload: str, connections: int, repetition: int) -> Pair:
        """Both arms back to back; measured again as a pair when the machine was busy."""
        chosen = self._pair_once(workload, connections, repetition, 0)
        spend = 2 * self.args.seconds
        for attempt in range(1, 1 + RETRIES):
            if chosen.other_cpu <= NOISY or self.retry_budget < spend:
                break
            self.retry_budget -= spend
            again = self._pair_once(workload, connections, repetition, attempt)
            if again.other_cpu < chosen.other_cpu:
                chosen = again
        return chosen

    def _pair_once(self, workload: str, connections: int, repetition: int, attempt: int) -> Pair:
        order = ARMS if repetition % 2 == 0 else ARMS[::-1]  # who goes first swaps each time
        label = f"rep {repetition + 1}" + (f" (again {attempt})" if attempt else "")
        runs = {
            arm: self.run(arm, workload, connections, self.args.seconds, label) for arm in order
        }
        for arm, run in runs.items():
            key = (arm, workload, connections)
            if _better(run, self.out.best.get(key)):
                self.out.best[key] = run
        return Pair(runs)

    def all(self, workloads: list[str]) -> Measured:
        for workload in workloads:  # warm-up, as bench_gateway does
            for arm in ARMS:
                self.run(arm, workload, 4, 1, "warm-up")
        for repetition in range(self.args.repeat):
            for connections in self.args.connections:
                for workload in workloads:
                    pair = self.pair(workload, connections, repetition)
                    self.out.pairs.setdefault((workload, connections), []).append(pair)
        return self.out


def count_instructions(
    workdir: Path,
    upstream: str,
    requests: dict[tuple[str, str], Request],
    workloads: list[str],
    args: argparse.Namespace,
    measured: Measured,
) -> None:
    """Both arms' instructions per request on a second gateway (the same config, its own
    ledger) under callgrind, arms alternating, `--instruction-repeat` times each."""
    config = workdir / "callgrind.toml"
    config.write_text(
        LANEWAY_CONFIG.format(
            ledger=workdir / "callgrind-ledger.db", upstream=upstream, key_env=UPSTREAM_KEY_ENV
        )
        + LANE_CONFIG
    )
    argv = _laneway("serve", "--host", "127.0.0.1", "--port", str(CALLGRIND_PORT))
    argv += ["--config", str(config)]
    env = os.environ | {UPSTREAM_KEY_ENV: UPSTREAM_KEY}
    env.pop("LANEWAY_API_KEYS", None)
    print(f"instructions: starting a gateway under callgrind on port {CALLGRIND_PORT}", flush=True)
    with under_callgrind(
        argv, CALLGRIND_PORT, workdir / "callgrind", env=env, log=workdir / "callgrind.log"
    ) as counter:
        for repetition in range(args.instruction_repeat):
            for workload in workloads:
                order = ARMS if repetition % 2 == 0 else ARMS[::-1]
                for arm in order:
                    counter.record(
                        measured.instructions,
                        measured.failed,
                        arm,
                        workload,
                        requests[arm, workload],
                        seconds=args.instruction_seconds,
                        repetition=repetition,
                    )


# --- the report --------------------------------------------------------------------------------


def _cpu_us(run: Run, share: float | None = None) -> float:
    """The gateway's CPU per request (all its threads), or that of `share` (a part of it)."""
    used = run.target_cpu if share is None else share
    return used * run.result.wall_s / max(run.result.requests, 1) * 1e6


def _costs(pairs: list[Pair], arm: str) -> str:
    """Medians over the repetitions of one arm: gateway CPU and its kernel part per request, and
    the bytes it wrote to storage (its ledger) per request."""
    runs = [pair.runs[arm] for pair in pairs]
    if not runs:
        return "-"
    cpu = statistics.median(_cpu_us(r) for r in runs)
    kernel = statistics.median(_cpu_us(r, r.target_kernel_cpu) for r in runs)
    stored = statistics.median(r.target_storage_bytes / max(r.result.requests, 1) for r in runs)
    return f"{cpu:.0f} ({kernel:.0f}), {stored:,.0f} B"


def report(measured: Measured, workloads: list[str], model: str, args: argparse.Namespace) -> bool:
    """Print the tables and verdicts; True when every workload at 64 connections is within 5%."""
    print(
        f"\nPython {sys.version.split()[0]}, laneway {_version('laneway')}, uvloop "
        f"{_version('uvloop')}, wrk {_wrk_version()}; {args.seconds} s runs, {args.repeat} "
        f"repetitions; emulator and wrk on CPU {LOAD_CPU}; the gateway on CPU {SERVER_CPU} at 64 "
        f'connections and on CPU {one_cpu(args)} at 1. plain: "model": "{model}"; lane: '
        f'"model": "lane:{LANE}" (cheapest of gpt-5.4-nano, gpt-5.4-mini, gpt-5.4 -> {model})\n'
    )
    print(
        "| workload | conns | plain req/s | lane req/s | lane/plain best | lane/plain each rep "
        "| median rep "
        "| gateway CPU us/req plain / lane | p50 ms plain / lane | p99 ms plain / lane "
        "| CPU 1 (emulator + wrk) | other CPU "
        "| medians per request: CPU us (kernel), stored bytes: plain; lane |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts: list[str] = []
    within = True
    for connections in CONNECTIONS:
        for workload in workloads:
            plain = measured.best.get(("plain", workload, connections))
            lane = measured.best.get(("lane", workload, connections))
            if plain is None or lane is None:
                continue
            pairs = measured.pairs.get((workload, connections), [])
            ratio = lane.result.rps / max(plain.result.rps, 1e-9)
            each = ", ".join(f"{p.ratio:.3f}" for p in pairs)
            median = statistics.median(p.ratio for p in pairs) if pairs else float("nan")
            upstream = max(r.emulator_cpu + r.wrk_cpu for r in (plain, lane))
            other = max(r.other_cpu for r in (plain, lane))
            print(
                f"| {workload} | {connections} | {plain.result.rps:,.0f} | {lane.result.rps:,.0f} "
                f"| {ratio:.3f} | {each} | {median:.3f} "
                f"| {_cpu_us(plain):.0f} / {_cpu_us(lane):.0f} "
                f"| {plain.result.p50_ms:.3f} / {lane.result.p50_ms:.3f} "
                f"| {plain.result.p99_ms:.3f} / {lane.result.p99_ms:.3f} | {upstream:.0%} "
                f"| {other:.0%} | {_costs(pairs, 'plain')}; {_costs(pairs, 'lane')} |"
            )
            if connections > 1:
                ok = median >= TARGET_RATIO
                within = within and ok
                verdicts.append(
                    f"  {workload} at {connections}: lane/plain {median:.3f}, median of "
                    f"{len(pairs)} repetitions ({each}; best over best {ratio:.3f}): "
                    f"within 5%: {'yes' if ok else 'no'}"
                )
                if upstream > SATURATED:
                    verdicts.append(
                        f"    note: CPU {LOAD_CPU} was {upstream:.0%} busy (emulator + wrk): the "
                        "upstream side may have set the rate"
                    )
            else:
                added = lane.result.p50_ms - plain.result.p50_ms
                verdicts.append(
                    f"  {workload} at 1: the lane adds {added:+.3f} ms at p50 "
                    "(reported, not judged)"
                )
            if other > NOISY:
                verdicts.append(
                    f"    note: other processes used {other:.0%} of a core during a best run: "
                    "the machine was not quiet"
                )
    print(
        f"\nIssue 5 (at 64 connections, the median over repetitions of lane req/s over plain's, "
        f"measured back to back: >= {TARGET_RATIO}):"
    )
    print("\n".join(verdicts))
    return within


def report_instructions(measured: Measured, workloads: list[str]) -> bool | None:
    """The instruction table and verdicts; None when nothing was counted."""
    if not measured.instructions:
        return None
    print(
        "\n| workload | plain instructions/request | lane instructions/request | lane over plain "
        "| plain/lane (the requests/s ratio if time followed instructions) |"
    )
    print("|---|---|---|---|---|")
    within = True
    lines = []
    for workload in workloads:
        plain = measured.instructions.get(("plain", workload))
        lane = measured.instructions.get(("lane", workload))
        if not plain or not lane:
            continue
        plain_ir = statistics.median(c.per_request for c in plain)
        lane_ir = statistics.median(c.per_request for c in lane)
        ratio = plain_ir / lane_ir
        ok = ratio >= TARGET_RATIO
        within = within and ok
        print(
            f"| {workload} | {plain_ir:,.0f} | {lane_ir:,.0f} | {lane_ir / plain_ir - 1:+.1%} "
            f"| {ratio:.3f} |"
        )
        each = ", ".join(f"{c.per_request:,.0f}" for c in lane)
        lines.append(
            f"  {workload}: plain/lane instructions {ratio:.3f} (lane {each}; medians of "
            f"{len(lane)}): within 5%: {'yes' if ok else 'no'}"
        )
    print("\nInstructions per request, all the gateway's threads, kernel not counted:")
    print("\n".join(lines))
    return within


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_side_by_side(parser, repeat_help="an even count: the arms' order alternates", unit="pairs")
    args, workloads = parse_side_by_side(parser)
    require_wrk()
    if (why := serve_available()) is not None:
        parser.exit(1, f"`laneway serve` is not available ({why})\n")
    if busy := [p for p in (EMULATOR_PORT, LANEWAY_PORT) if not _port_free(p)]:
        parser.exit(1, f"port(s) {busy} already in use on 127.0.0.1 (another benchmark?)\n")
    with (
        tempfile.TemporaryDirectory(prefix="laneway-bench-routing-") as tmp,
        started(["emulator", "laneway"], Path(tmp), LITELLM_VENV, LANE_CONFIG) as targets,
    ):
        emulator, laneway = targets
        print(f"started: emulator (pid {emulator.pid}), laneway (pid {laneway.pid})", flush=True)
        model = routed_model(laneway.port)
        print(f"lane:{LANE} routes to {model}; the plain arm names it", flush=True)
        requests = requests_for(model, workloads)
        if not preflight(laneway.port, requests, workloads):
            raise SystemExit("an arm answered wrongly before any load: nothing measured")
        bench = Bench(emulator, laneway, requests, args)
        measured = bench.out if args.instructions_only else bench.all(workloads)
        if args.instruction_seconds:
            upstream = f"http://127.0.0.1:{EMULATOR_PORT}/v1"
            count_instructions(Path(tmp), upstream, requests, workloads, args, measured)
        within = report(measured, workloads, model, args) if measured.pairs else None
        within_ir = report_instructions(measured, workloads)
    if measured.failed:
        print("\n".join(f"!! {line}" for line in measured.failed))
        raise SystemExit("\n!! FAILED: some answers were not 2xx or some requests failed (above)")
    print_verdicts("all workloads within 5%", within, within_ir)


if __name__ == "__main__":
    main()
