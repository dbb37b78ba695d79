"""The emulator's throughput on one core, next to a raw ASGI app measured in the same run.

    .venv/bin/python -m bench.bench_emulator [--seconds 8] [--repeat 2]

Issue 3's target: with --speed 0 and small requests the emulator serves >= 10,000 non-streaming
requests/s on one core, or, on a slower host, at least half the rate of a raw ASGI app
(bench/raw_asgi.py: uvicorn + uvloop + httptools, a fixed answer). Both run on CPU 0, wrk on CPU
1, at 64 and 1 connections; the two alternate inside each repetition and the judged ratio is the
median over repetitions of emulator/raw for chat at 64 connections.
"""

from __future__ import annotations

import argparse
import sys
from statistics import median

from bench.harness import (
    SERVER_CPU,
    WORKLOADS,
    Run,
    add_run_options,
    check_ports_free,
    measure,
    require,
    rss_mb,
    run_line,
    server,
    subset,
)

RAW_PORT, EMULATOR_PORT = 4391, 4392
TARGET_RPS, TARGET_RATIO = 10_000, 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_run_options(parser, seconds=8, repeat=2)
    args = parser.parse_args()
    workloads = subset(parser, "workloads", args.workloads, list(WORKLOADS))
    require("wrk", "wrk")
    check_ports_free([RAW_PORT, EMULATOR_PORT])
    raw_cmd = [sys.executable, "-m", "bench.raw_asgi", str(RAW_PORT)]
    emulator_cmd = [sys.executable, "-m", "laneway", "emulate", "--port", str(EMULATOR_PORT)]
    emulator_cmd += ["--speed", "0", "--tier", "none"]
    runs: dict[tuple[str, str, int], list[Run]] = {}
    with (
        server(raw_cmd, RAW_PORT, cpu=SERVER_CPU) as raw,
        server(emulator_cmd, EMULATOR_PORT, cpu=SERVER_CPU) as emulator,
    ):
        idle = rss_mb(emulator)
        for _ in range(args.repeat):
            for connections in (64, 1):
                for workload in workloads:
                    targets = [("emulator", EMULATOR_PORT, emulator)]
                    if workload == "chat":  # the raw app answers the same fixed JSON to any
                        targets.insert(0, ("raw ASGI", RAW_PORT, raw))
                    for name, port, pid in targets:
                        run = measure(
                            port,
                            WORKLOADS[workload],
                            target=pid,
                            helpers=[],
                            stay=True,  # on CPU 0 at 1 connection too
                            connections=connections,
                            seconds=args.seconds,
                        )
                        print(run_line(f"{name:8} {workload:16} {connections:>2}", run), flush=True)
                        runs.setdefault((name, workload, connections), []).append(run)
        loaded = rss_mb(emulator)
    print("\n| target | workload | conns | req/s | p50 ms | p99 ms | CPU us/req | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, workload, connections), each in runs.items():
        print(
            f"| {name} | {workload} | {connections} | {median(r.result.rps for r in each):,.0f} "
            f"| {median(r.result.p50_ms for r in each):.3f} "
            f"| {median(r.result.p99_ms for r in each):.3f} "
            f"| {median(r.target_us for r in each):.0f} | {sum(r.result.errors for r in each)} |"
        )
    print(f"\nemulator RSS: idle {idle:.0f} MB, after load {loaded:.0f} MB")
    if ("raw ASGI", "chat", 64) in runs:
        pairs = zip(runs["emulator", "chat", 64], runs["raw ASGI", "chat", 64], strict=True)
        ratios = [e.result.rps / r.result.rps for e, r in pairs]
        rps = median(r.result.rps for r in runs["emulator", "chat", 64])
        ok = rps >= TARGET_RPS or median(ratios) >= TARGET_RATIO
        print(
            f"chat at 64: emulator/raw {median(ratios):.2f} (each: "
            f"{', '.join(f'{x:.2f}' for x in ratios)}); target >= {TARGET_RPS:,} req/s or >= "
            f"{TARGET_RATIO:g}x the raw app: {'PASS' if ok else 'FAIL'}"
        )
    if any(r.result.errors for each in runs.values() for r in each):
        raise SystemExit("!! FAILED: some answers were not 2xx or some requests failed (above)")


if __name__ == "__main__":
    main()
