"""Replay at scale: 10,000 workload lines x 4 cells (40,000 calls) against the emulator at speed
0, in one run against one emulator process.

    .venv/bin/python -m bench.bench_replay [--lines 10000] [--concurrency 16] [--kill] [--seed 7]

Targets (issue 19):
- replay's peak RSS under 300 MB (`laneway replay` as a subprocess; wait4's rusage);
- replay's own CPU per call below the gateway's own per-request CPU. The gateway's own is
  measured by a minimal driver in a process of its own: the same calls (the same bodies with the
  cells' model and effort, the same concurrency) straight through `laneway.build_gateway`, with
  nothing else. Replay's own CPU is replay's minus the driver's, per call; both include start-up.
- with --kill: a second replay killed with SIGKILL at a random point (seeded), then resumed:
  every call exactly once in results.jsonl, none lost, and the calls repeated at most the
  concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

from bench import harness
from laneway.replay.demo import demo_jsonl

RSS_TARGET_MB = 300
CELLS = (("gpt-5.4-mini", "none"), ("gpt-5.4-mini", "low"), ("gpt-5.4", "none"))
EMULATOR_PORT = 4252
_URLS = {"/v1/responses": "responses", "/v1/chat/completions": "chat"}


def experiment_toml(workload: Path, concurrency: int) -> str:
    cells = ", ".join(f'{{ model = "{m}", effort = "{e}" }}' for m, e in CELLS)
    return (
        f'workloads = ["{workload}"]\nbaseline = "as-written"\nconcurrency = {concurrency}\n\n'
        f"[candidates]\ncells = [{cells}]\n"
    )


def measured(argv: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float]:
    """Run `argv` on CPU 0 to its end: (exit status, CPU seconds, peak RSS in MB)."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            harness.pinned(harness.SERVER_CPU, argv), stdout=out, stderr=subprocess.STDOUT, env=env
        )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def replay_argv(home: Path, experiment: Path, run_dir: Path) -> list[str]:
    config = home / "laneway.toml"
    return [sys.executable, "-m", "laneway", "replay", "--experiment", str(experiment),
            "--run-dir", str(run_dir), "--config", str(config)]  # fmt: skip


def on_disk(run_dir: Path) -> Counter[tuple[str, str, int]]:
    """How often each call has a whole row in a run directory's results.jsonl."""
    seen: Counter[tuple[str, str, int]] = Counter()
    with (run_dir / "results.jsonl").open("rb") as rows:
        for raw in rows:
            if raw.endswith(b"\n"):
                row = orjson.loads(raw)
                seen[(row["cell"], row["custom_id"], row["repeat"])] += 1
    return seen


def check_calls(run_dir: Path, expected: int) -> tuple[int, int]:
    """(rows, calls made twice) of a run directory's results.jsonl."""
    seen = on_disk(run_dir)
    twice = sum(1 for count in seen.values() if count > 1)
    if len(seen) != expected:
        print(f"  FAIL: {len(seen)} distinct calls on disk, {expected} expected")
    return sum(seen.values()), twice


# The driver: a process of its own, the gateway in-process and nothing else.


async def drive(config_path: Path, workload: Path, concurrency: int) -> int:
    import laneway  # noqa: PLC0415 - the driver's process only

    config = laneway.GatewayConfig.load(config_path)
    calls: list[tuple[str, bytes]] = []
    for raw in workload.read_bytes().splitlines():
        line = orjson.loads(raw)
        endpoint, body = _URLS[line["url"]], line["body"]
        calls.append((endpoint, orjson.dumps(body)))  # the baseline, as written
        for model, effort in CELLS:
            cell = {**body, "model": model}
            if endpoint == "chat":
                cell["reasoning_effort"] = effort
            else:
                cell["reasoning"] = {"effort": effort}
            calls.append((endpoint, orjson.dumps(cell)))
    pending = iter(calls)
    headers = {b"x-emulator-repeat": b"0"}
    async with laneway.build_gateway(config) as gateway:

        async def worker() -> int:
            done = 0
            for endpoint, body in pending:
                # An error is a call made, as replay's error rows are.
                with contextlib.suppress(laneway.ApiError):
                    await gateway.handle(endpoint, body, headers=headers)  # type: ignore[arg-type]
                done += 1
            return done

        counts = await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kill", action="store_true", help="also kill -9 a run and resume it")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--driver", nargs=2, metavar=("CONFIG", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        made = asyncio.run(drive(Path(args.driver[0]), Path(args.driver[1]), args.concurrency))
        print(f"driver: {made} calls")
        return
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as folder:
        run_bench(Path(folder), args)


Figures = dict[tuple[str, int], tuple[float, float, float]]  # (name, lines) -> cpu, rss, wall


def run_bench(home: Path, args: argparse.Namespace) -> None:
    harness.check_ports_free([EMULATOR_PORT])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANEWAY_", "OPENAI_"))}
    env[harness.UPSTREAM_KEY_ENV] = harness.UPSTREAM_KEY
    sizes = (args.lines // 5, args.lines)  # two sizes: the difference is the cost per call
    print(
        f"replay bench: {sizes[0]} and {sizes[1]} lines x {1 + len(CELLS)} cells, concurrency "
        f"{args.concurrency}, emulator at speed 0 on CPU {harness.LOAD_CPU}"
    )
    figures: Figures = {}
    with harness.emulator(EMULATOR_PORT, home / "emulator.log"):
        for lines in sizes:
            folder = home / f"lines-{lines}"
            folder.mkdir()
            workload = folder / "workload.jsonl"
            workload.write_bytes(demo_jsonl(lines=lines))
            experiment = folder / "experiment.toml"
            experiment.write_text(experiment_toml(workload, args.concurrency))
            for name in ("driver", "replay"):  # each with its own ledger
                figures[(name, lines)] = one(folder, name, workload, experiment, env, args)
            rows, twice = check_calls(folder / "run", lines * (1 + len(CELLS)))
            print(f"  replay rows {rows}, calls made twice {twice}")
        report(figures, sizes)
        if args.kill:
            folder = home / f"lines-{sizes[1]}"
            calls = sizes[1] * (1 + len(CELLS))
            kill_and_resume(
                folder, folder / "experiment.toml", env, calls, random.Random(args.seed)
            )


def one(
    folder: Path,
    name: str,
    workload: Path,
    experiment: Path,
    env: dict[str, str],
    args: argparse.Namespace,
) -> tuple[float, float, float]:
    """One process to its end: (CPU seconds, peak RSS in MB, wall seconds)."""
    config = harness.gateway_config(folder / name, EMULATOR_PORT)
    if name == "driver":
        argv = [sys.executable, "-m", "bench.bench_replay", "--concurrency",
                str(args.concurrency), "--driver", str(config), str(workload)]  # fmt: skip
    else:
        argv = replay_argv(folder / name, experiment, folder / "run")
    started = time.monotonic()
    status, cpu, rss = measured(argv, env, folder / f"{name}.log")
    wall = time.monotonic() - started
    if status != 0:
        tail = (folder / f"{name}.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"{name} exited {status}\n{tail}")
    calls = sum(1 for _ in workload.open("rb")) * (1 + len(CELLS))
    print(f"  {name:6} {calls:6} calls: {wall:6.1f} s wall, {cpu:6.1f} s CPU, "
          f"{cpu / calls * 1e6:5.0f} µs CPU per call, peak RSS {rss:5.0f} MB")  # fmt: skip
    return cpu, rss, wall


def report(figures: Figures, sizes: tuple[int, int]) -> None:
    """Replay's own CPU per call against the gateway's: whole processes at the larger size
    (start-up, plan and summary included), and per added call (the slope between the sizes)."""
    small, large = sizes
    cells = 1 + len(CELLS)
    calls = large * cells
    added = (large - small) * cells
    driver, replay = figures[("driver", large)][0], figures[("replay", large)][0]
    gateway, own = driver / calls, (replay - driver) / calls
    print(f"  whole processes: replay's own CPU per call {own * 1e6:.0f} µs / the gateway's "
          f"{gateway * 1e6:.0f} µs = {own / gateway:.2f} (target < 1)")  # fmt: skip
    driver_slope = (driver - figures[("driver", small)][0]) / added
    replay_slope = (replay - figures[("replay", small)][0]) / added
    own_slope = replay_slope - driver_slope
    print(f"  per added call: replay's own {own_slope * 1e6:.0f} µs / the gateway's "
          f"{driver_slope * 1e6:.0f} µs = {own_slope / driver_slope:.2f} (target < 1); "
          f"replay's fixed cost {replay - replay_slope * calls:.1f} s CPU, "
          f"the driver's {driver - driver_slope * calls:.1f} s")  # fmt: skip
    rss_small, rss_large = figures[("replay", small)][1], figures[("replay", large)][1]
    verdict = "met" if rss_large < RSS_TARGET_MB else "NOT met"
    print(f"  replay peak RSS {rss_small:.0f} MB at {small} lines, {rss_large:.0f} MB at {large} "
          f"(target < {RSS_TARGET_MB}): {verdict}")  # fmt: skip


def kill_and_resume(
    home: Path,
    experiment: Path,
    env: dict[str, str],
    calls: int,
    draw: random.Random,
) -> None:
    # A random point of the run: when results.jsonl reaches a random share of the full run's.
    full = (home / "run" / "results.jsonl").stat().st_size  # the complete run's
    share = draw.uniform(0.05, 0.95)
    run_dir = home / "killed"
    results = run_dir / "results.jsonl"
    with (home / "killed.log").open("wb") as out:
        process = subprocess.Popen(
            replay_argv(home / "replay", experiment, run_dir), stdout=out, stderr=out, env=env
        )
    started = time.monotonic()
    while (
        process.poll() is None
        and (results.stat().st_size if results.exists() else 0) < share * full
    ):
        time.sleep(0.01)
    at = time.monotonic() - started
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = sum(on_disk(run_dir).values()) if (run_dir / "results.jsonl").exists() else 0
    argv = [sys.executable, "-m", "laneway", "replay", "--resume", str(run_dir), "--json",
            "--config", str(home / "replay" / "laneway.toml")]  # fmt: skip
    resumed = subprocess.run(argv, env=env, capture_output=True, check=False)
    if resumed.returncode != 0:
        raise SystemExit(f"resume exited {resumed.returncode}\n{resumed.stderr.decode()[-2000:]}")
    summary = orjson.loads(resumed.stdout)
    rows, twice = check_calls(run_dir, calls)
    repeated = summary["repeated"]
    print(f"  kill -9 after {at:.1f} s ({share:.0%} of the rows' bytes), {before} rows on disk; "
          f"resumed: {rows} rows, "
          f"{twice} made twice, {repeated} in flight repeated "
          f"({'ok' if rows == calls and twice == 0 else 'FAIL'})")  # fmt: skip


if __name__ == "__main__":
    main()
