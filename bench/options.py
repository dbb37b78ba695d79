"""Command-line options shared by the benchmarks that compare arms of one gateway side by side
(bench_routing, bench_admission): run length, repetitions, workloads, connection counts, the
quiet-machine guards and the instruction counts. Each benchmark adds its own options after these.
"""

from __future__ import annotations

import argparse

from bench.bench_emulator import WORKLOADS
from bench.instructions import missing_tools

CONNECTIONS = (64, 1)  # 64 is judged; 1 reports the added latency


def add_side_by_side(parser: argparse.ArgumentParser, *, repeat_help: str, unit: str) -> None:
    """The shared options; `unit` names what is measured again when the machine was busy."""
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    parser.add_argument("--repeat", type=int, default=6, help=repeat_help)
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    parser.add_argument(
        "--connections",
        default=",".join(map(str, CONNECTIONS)),
        help="comma-separated: 64 (judged) and/or 1",
    )
    add_quiet_machine(parser, retry_s=60.0, measured_again=f"{unit} of runs", target="gateway")
    _add_instructions(parser)


def add_quiet_machine(
    parser: argparse.ArgumentParser, *, retry_s: float, measured_again: str, target: str
) -> None:
    """--quiet-wait, --retry-noisy and --split-at-1, as every wrk benchmark here has them."""
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds in all to wait, before runs, for other work on the machine to stop",
    )
    parser.add_argument(
        "--retry-noisy",
        type=float,
        default=retry_s,
        help=f"seconds in all that may be spent measuring again {measured_again} during which "
        "other processes used more than a tenth of a core",
    )
    parser.add_argument(
        "--split-at-1",
        action="store_true",
        help=f"keep the {target} on its own core at 1 connection too (adds cross-core wake-ups)",
    )


def _add_instructions(parser: argparse.ArgumentParser) -> None:
    """Options of the instruction counts (bench/instructions.py)."""
    parser.add_argument(
        "--instruction-seconds",
        type=int,
        default=20,
        help="length of each instruction count under callgrind (0: count none)",
    )
    parser.add_argument(
        "--instruction-repeat", type=int, default=2, help="instruction counts per arm and workload"
    )
    parser.add_argument(
        "--instructions-only", action="store_true", help="count instructions, time nothing"
    )


def parse_side_by_side(parser: argparse.ArgumentParser) -> tuple[argparse.Namespace, list[str]]:
    """Parse the command line; `args.connections` becomes a list of ints. Returns the args and
    the workloads chosen, both checked (a bad value exits with the parser's usage error)."""
    args = parser.parse_args()
    workloads = [n.strip() for n in args.workloads.split(",") if n.strip()]
    if unknown := set(workloads) - set(WORKLOADS):
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(WORKLOADS)}")
    try:
        args.connections = [int(n) for n in args.connections.split(",") if n.strip()]
    except ValueError:
        args.connections = []
    if not args.connections or not set(args.connections) <= set(CONNECTIONS):
        parser.error(f"--connections: choose from {', '.join(map(str, CONNECTIONS))}")
    if args.seconds < 1 or args.repeat < 1:
        parser.error("--seconds and --repeat must be at least 1")
    seconds = args.instruction_seconds
    if seconds < 0 or args.instruction_repeat < 1:
        parser.error("--instruction-seconds must not be negative, --instruction-repeat positive")
    if seconds and (why := missing_tools()) is not None:
        parser.error(f"cannot count instructions: {why} (or --instruction-seconds 0)")
    if args.instructions_only and not seconds:
        parser.error("--instructions-only needs --instruction-seconds above 0")
    return args, workloads
