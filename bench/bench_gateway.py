"""The gateway's overhead: laneway beside a minimal aiohttp proxy and LiteLLM, one emulator behind.

    .venv/bin/python -m bench.bench_gateway [--seconds 5] [--repeat 2] [--skip-litellm]
        [--targets emulator,aiohttp,laneway,litellm[,telemetry]] [--litellm-seconds 15]
        [--quiet-wait 30]

Issue 4. One emulator (`laneway emulate --speed 0 --tier none`, CPU 1) answers for every target:

- emulator: wrk straight at it, the baseline the added latency is measured against;
- aiohttp: bench/aiohttp_proxy.py, a minimal aiohttp pass-through on uvloop (the yardstick);
- laneway: `laneway serve`, one worker, its ledger on (SQLite), the emulator as an
  `openai-compatible` provider, no client keys;
- litellm: the LiteLLM proxy 1.106.2 from its own venv (bench/litellm_setup.sh), one worker, no
  database, a master key, its cost map local, its logging at ERROR;
- telemetry (only when named): laneway as above with metrics, tracing (1% of requests' spans
  sent to bench/otlp_sink.py on CPU 1) and JSON logs on: bench_arms' `telemetry` arm.

Before any load one request of each workload goes through each target and is checked (exactly
200, the right kind of answer; how a stream differs from the emulator's is noted). Then each
repetition measures every target back to back per workload and connection count, the order
rotating; ratios are medians over the repetitions of the pair measured in the same repetition.
LiteLLM's runs at 64 connections last --litellm-seconds (its answers take 0.5-2 s there). Any
non-2xx answer or socket error exits 1 after the report. Placement: bench/harness.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from statistics import median

from bench.arm_configs import OTLP_PORT, STATE
from bench.harness import (
    LOAD_CPU,
    NOISY,
    SATURATED,
    WORKLOADS,
    Checks,
    Quiet,
    Run,
    add_run_options,
    answer_problem,
    call,
    check_ports_free,
    emulator,
    gateway_command,
    gateway_config,
    measure,
    require,
    rotated,
    rss_mb,
    run_line,
    serve_problem,
    server,
    sse,
    subset,
    version_of,
    wrk_version,
)

# name -> port; "telemetry" runs only when named
TARGETS = {"emulator": 4411, "aiohttp": 4412, "laneway": 4413, "litellm": 4414, "telemetry": 4415}
DEFAULT_TARGETS = ("emulator", "aiohttp", "laneway", "litellm")
LITELLM_VERSION = "1.106.2"  # never 1.107.x (a compromised release of that line is reported)
LITELLM_VENV = os.environ.get("LANEWAY_BENCH_LITELLM_VENV", "~/.cache/laneway-bench/litellm-venv")
LITELLM_KEY = "sk-bench"  # its master key; wrk sends "Authorization: Bearer sk-bench" to all
# Issue 4's targets for laneway.
VS_AIOHTTP, VS_LITELLM, ADDED_P50_MS, IDLE_RSS_MB = 1.0, 50.0, 0.3, 80.0


def litellm_problem(venv: Path) -> str | None:
    if not (venv / "bin" / "litellm").exists():
        return f"no LiteLLM venv at {venv}: run bench/litellm_setup.sh"
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
    ).stdout.strip()
    return None if found == LITELLM_VERSION else f"{venv} has litellm {found or '?'}, not 1.106.2"


def start(stack: ExitStack, names: list[str], workdir: Path, venv: Path) -> dict[str, int]:
    """Start the emulator (CPU 1) and the proxies (CPU 0); name -> PID."""
    upstream = f"http://127.0.0.1:{TARGETS['emulator']}/v1"
    pids = {"emulator": stack.enter_context(emulator(TARGETS["emulator"], workdir / "emu.log"))}
    if "telemetry" in names:  # its spans' collector, on the emulator's CPU
        argv = [sys.executable, "-m", "bench.otlp_sink", "--port", str(OTLP_PORT)]
        sink = server(argv, OTLP_PORT, cpu=LOAD_CPU, log=workdir / "otlp.log")
        stack.enter_context(sink)
    for name in names:
        port, log = TARGETS[name], workdir / f"{name}.log"
        if name == "aiohttp":
            argv = [sys.executable, "-m", "bench.aiohttp_proxy", "--port", str(port)]
            pids[name] = stack.enter_context(server([*argv, "--upstream", upstream], port, log=log))
        elif name in ("laneway", "telemetry"):
            extra = STATE["telemetry"] if name == "telemetry" else ""
            config = gateway_config(workdir / name, TARGETS["emulator"], extra)
            argv, env = gateway_command(sys.executable, config, port)
            pids[name] = stack.enter_context(server(argv, port, env=env, log=log))
        elif name == "litellm":
            models = sorted({json.loads(body)["model"] for _, body in WORKLOADS.values()})
            params = {"api_base": upstream, "api_key": "sk-anything"}
            entries = [
                {"model_name": m, "litellm_params": {"model": f"openai/{m}", **params}}
                for m in models
            ]
            config = workdir / "litellm.yaml"
            config.write_text(json.dumps({"model_list": entries}))  # JSON is YAML
            env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
            env |= {
                "LITELLM_MASTER_KEY": LITELLM_KEY,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # else it fetches the map at import
                "LITELLM_LOG": "ERROR",
            }
            argv = [str(venv / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1"]
            argv += ["--port", str(port), "--num_workers", "1"]
            pids[name] = stack.enter_context(
                server(argv, port, env=env, log=log, start_timeout=120)
            )
    return pids


def preflight(names: list[str], check: Checks) -> list[str]:
    """Every workload through every target once; returns how streams differ from the emulator's."""
    notes, reference = [], {}
    for name in names:
        for workload, (path, body) in WORKLOADS.items():
            status, headers, answer = call(TARGETS[name], "POST", path, LITELLM_KEY, body)
            check(f"{name:8} {workload}", answer_problem(workload, status, headers, answer))
            events, data = sse(answer)
            if "stream" not in workload:
                continue
            if name == "emulator":
                reference[workload] = (len(events), len(data), data[-1:] == [b"[DONE]"])
            elif (got := (len(events), len(data), data[-1:] == [b"[DONE]"])) != reference[workload]:
                notes.append(
                    f"{name} {workload}: (event: lines, data: lines, ends in [DONE]) {got}, the "
                    f"emulator's {reference[workload]}"
                )
    return notes


Reps = dict[tuple[str, int], list[dict[str, Run]]]


def measure_all(names: list[str], pids: dict[str, int], args: argparse.Namespace) -> Reps:
    quiet = Quiet(list(pids.values()), args.quiet_wait)

    def one(name: str, workload: str, connections: int, seconds: int, label: str) -> Run:
        quiet()
        run = measure(
            TARGETS[name],
            WORKLOADS[workload],
            target=pids[name],
            helpers=[pids["emulator"]],
            connections=connections,
            seconds=seconds,
        )
        print(run_line(f"{label} {name:8} {workload:16} {connections:>2}", run), flush=True)
        return run

    for name in names:  # warm-up (LiteLLM imports lazily on first use)
        for workload in args.workloads:
            one(name, workload, 4, 1, "warm-up")
    reps: Reps = {}
    for repetition in range(args.repeat):
        for connections in (64, 1):
            for workload in args.workloads:
                runs = {}
                for name in rotated(names, repetition):
                    slow = name == "litellm" and connections > 1
                    seconds = max(args.seconds, args.litellm_seconds) if slow else args.seconds
                    runs[name] = one(name, workload, connections, seconds, f"rep {repetition + 1}")
                reps.setdefault((workload, connections), []).append(runs)
    return reps


def report(reps: Reps, names: list[str], rss: dict[str, tuple[float, float]]) -> bool:
    """The tables; True when no run had an error."""
    print(
        "\nMedians over the repetitions (CPU 1 and other: the highest of any repetition):\n\n"
        "| target | workload | conns | req/s | p50 ms | p99 ms | added p50 ms "
        "| target CPU us/req | CPU 1 | other | errors |\n" + "|---" * 11 + "|"
    )
    errors = 0
    for (workload, connections), runs in reps.items():
        for name in names:
            each = [rep[name] for rep in runs]
            errors += sum(r.result.errors for r in each)
            added = median(rep[name].result.p50_ms - rep["emulator"].result.p50_ms for rep in runs)
            print(
                f"| {name} | {workload} | {connections} "
                f"| {median(r.result.rps for r in each):,.0f} "
                f"| {median(r.result.p50_ms for r in each):.3f} "
                f"| {median(r.result.p99_ms for r in each):.3f} "
                f"| {'' if name == 'emulator' else f'{added:.3f}'} "
                f"| {median(r.target_us for r in each):.0f} | {max(r.cpu1 for r in each):.0%} "
                f"| {max(r.other for r in each):.0%} | {sum(r.result.errors for r in each)} |"
            )
    print("\n| target | RSS idle MB | RSS after load MB |\n|---|---|---|")
    for name in names:
        print(f"| {name} | {rss[name][0]:.0f} | {rss[name][1]:.0f} |")
    every = [r for runs in reps.values() for rep in runs for r in rep.values()]
    if noisy := sum(r.other > NOISY for r in every):
        print(f"note: other processes used over a tenth of a core in {noisy} of {len(every)} runs")
    return not errors


def ratios(reps: Reps, names: list[str]) -> dict[tuple[str, str, str, int], float]:
    """Print each pair's median requests/s ratio over the repetitions; return them."""
    candidates = (
        ("laneway", "aiohttp"),
        ("laneway", "litellm"),
        ("aiohttp", "litellm"),
        ("telemetry", "aiohttp"),
        ("telemetry", "laneway"),
    )
    pairs = [(a, b) for a, b in candidates if a in names and b in names]
    out = {}
    print("\nRequests/s ratios, median over repetitions (each repetition's):")
    for (workload, connections), runs in reps.items():
        for a, b in pairs:
            each = [rep[a].result.rps / max(rep[b].result.rps, 1e-9) for rep in runs]
            out[a, b, workload, connections] = median(each)
            listed = ", ".join(f"{x:.2f}" for x in each)
            print(f"  {workload} at {connections}: {a}/{b} {median(each):.2f} ({listed})")
        busy = max(r.cpu1 for rep in runs for n, r in rep.items() if n != "emulator")
        if connections > 1 and busy > SATURATED:
            print(f"    note: CPU 1 was {busy:.0%} busy: the upstream side may have set the rate")
    return out


def verdicts(reps: Reps, ratio: dict[tuple[str, str, str, int], float], idle_mb: float) -> None:
    print("\nIssue 4's targets for laneway:")
    for (workload, connections), runs in reps.items():
        lines = []
        if (x := ratio.get(("laneway", "aiohttp", workload, connections))) and connections > 1:
            lines.append((f"{x:.2f}x the aiohttp proxy's req/s (>= {VS_AIOHTTP:g})", x >= 1))
        if (x := ratio.get(("laneway", "litellm", workload, connections))) and connections > 1:
            lines.append((f"{x:.0f}x LiteLLM's req/s (>= {VS_LITELLM:g})", x >= VS_LITELLM))
        if connections == 1:
            x = median(r["laneway"].result.p50_ms - r["emulator"].result.p50_ms for r in runs)
            lines.append((f"adds {x:.3f} ms at p50 (<= {ADDED_P50_MS})", x <= ADDED_P50_MS))
        for what, ok in lines:
            print(f"  {'PASS' if ok else 'FAIL'}  {workload} at {connections}: {what}")
    print(f"  {'PASS' if idle_mb < IDLE_RSS_MB else 'FAIL'}  idle RSS {idle_mb:.0f} MB (< 80)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_run_options(parser, seconds=5, repeat=2)
    parser.add_argument(
        "--targets", default=",".join(DEFAULT_TARGETS), help=f"comma-separated, of {list(TARGETS)}"
    )
    parser.add_argument("--skip-litellm", action="store_true", help="leave LiteLLM out")
    parser.add_argument("--litellm-venv", type=Path, default=Path(LITELLM_VENV).expanduser())
    parser.add_argument("--litellm-seconds", type=int, default=15, help="its runs at 64 conns")
    args = parser.parse_args()
    args.workloads = subset(parser, "workloads", args.workloads, list(WORKLOADS))
    names = subset(parser, "targets", args.targets, list(TARGETS))
    names = [n for n in TARGETS if n in names or n == "emulator"]  # the emulator is the baseline
    if args.skip_litellm and "litellm" in names:
        names.remove("litellm")
    require("wrk", "wrk")
    if {"laneway", "telemetry"} & set(names) and (why := serve_problem(sys.executable)):
        parser.exit(1, f"`laneway serve` is not available ({why})\n")
    if "litellm" in names and (why := litellm_problem(args.litellm_venv)):
        parser.exit(1, f"{why}; or leave LiteLLM out: --skip-litellm\n")
    check_ports_free([TARGETS[n] for n in names] + ([OTLP_PORT] if "telemetry" in names else []))
    check = Checks()
    print(
        f"Python {sys.version.split()[0]}, laneway {version_of('laneway')}, aiohttp "
        f"{version_of('aiohttp')}, uvloop {version_of('uvloop')}, litellm "
        f"{LITELLM_VERSION if 'litellm' in names else '-'}, wrk {wrk_version()}; {args.seconds} s "
        f"runs (LiteLLM's at 64 connections {args.litellm_seconds} s), {args.repeat} repetitions"
    )
    with tempfile.TemporaryDirectory(prefix="laneway-bench-") as tmp, ExitStack() as stack:
        pids = start(stack, names, Path(tmp), args.litellm_venv)
        idle = {name: rss_mb(pid) for name, pid in pids.items()}
        notes = preflight(names, check)
        if check.failed:
            raise SystemExit("a target answered wrongly before any load: nothing measured")
        reps = measure_all(names, pids, args)
        rss = {name: (idle[name], rss_mb(pid)) for name, pid in pids.items()}
    clean = report(reps, names, rss)
    ratio = ratios(reps, names)
    if "laneway" in names:
        verdicts(reps, ratio, rss["laneway"][0])
    print("\n".join(f"note: {note}" for note in notes))
    if not clean:
        raise SystemExit("\n!! FAILED: some answers were not 2xx or some requests failed (above)")


if __name__ == "__main__":
    main()
