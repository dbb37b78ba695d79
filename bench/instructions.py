"""Instructions per request: a gateway under valgrind's callgrind, counted per arm.

This host's speed moves by 10-30% within seconds, so requests/s ratios of arms a few percent
apart need many repetitions and still land on either side of a 5% target. Instruction counts
hardly move with the host: two 20 s counts of one arm on one server agree to about 1%, counts on
fresh servers in separate runs to 2-3% (what runs once a second is spread over however many
requests the slowed server completed). They are not time (a cache miss costs many instructions'
worth), so the benchmarks report them beside requests/s, never instead of it.

How: `laneway serve` starts under `valgrind --tool=callgrind --instr-atstart=no` (roughly 50x
slower, so it is loaded with few connections). For each measurement wrk warms the arm up
uninstrumented, then `callgrind_control` zeroes the counters and turns instrumentation on, wrk
loads the arm for the given seconds, instrumentation goes off, the counters are dumped, and the
dump's total (all threads: the event loop, the ledger writer, the checkpointer) is divided by
the requests wrk completed. Requests still in flight when wrk stops (at most one per connection)
are counted in instructions but not in requests: the same small bias (well under 1% at 16
connections and 20 s) for every arm.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import Result, load, server

CONNECTIONS = 16  # enough to keep a 50x slower server busy, few enough to drain quickly
WARM_UP_S = 3
START_TIMEOUT_S = 180.0  # valgrind translates the interpreter and laneway's imports first
_TOTAL = re.compile(rb"^totals:\s+(\d+)", re.M)  # written last: the dump is whole


def print_verdicts(claim: str, by_requests: bool | None, by_instructions: bool | None) -> None:
    """The closing lines: `claim` (e.g. "all workloads within 5%") by requests/s at 64
    connections and by instructions, each printed only when it was measured."""
    verdicts = (
        ("at 64 connections by requests/s", by_requests),
        (f"by instructions (at {CONNECTIONS} connections)", by_instructions),
    )
    for label, verdict in verdicts:
        if verdict is not None:
            print(f"{claim} {label}: {'yes' if verdict else 'no'}")


def missing_tools() -> str | None:
    """Why instructions cannot be counted here, or None."""
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install -y valgrind)"
    return None


@dataclass(frozen=True)
class Count:
    instructions: int
    requests: int
    errors: int

    @property
    def per_request(self) -> float:
        return self.instructions / max(self.requests, 1)


class Callgrind:
    """One server under callgrind; `count` measures one arm against it."""

    def __init__(self, pid: int, port: int, out_dir: Path) -> None:
        self.pid = pid
        self.port = port
        self._out_dir = out_dir
        self._dumps = 0

    def count(self, path: str, body: bytes, *, seconds: int, bearer: str = "sk-bench") -> Count:
        url = f"http://127.0.0.1:{self.port}{path}"
        load(url, body, connections=CONNECTIONS, seconds=WARM_UP_S, pid=self.pid, bearer=bearer)
        self._control("-z")
        self._control("-i", "on")
        try:
            result: Result = load(
                url,
                body,
                connections=CONNECTIONS,
                seconds=seconds,
                pid=self.pid,
                timeout_s=30,
                bearer=bearer,
            )
        finally:
            self._control("-i", "off")
        return Count(self._dump(), result.requests, result.errors)

    def record(
        self,
        counts: dict[tuple[str, str], list[Count]],
        failed: list[str],
        arm: str,
        workload: str,
        request: tuple[str, bytes],
        *,
        seconds: int,
        repetition: int,
        bearer: str = "sk-bench",
    ) -> None:
        """Count one arm's workload, print the count, keep it in `counts` by (arm, workload);
        a count with errors is named in `failed`."""
        count = self.count(*request, seconds=seconds, bearer=bearer)
        counts.setdefault((arm, workload), []).append(count)
        print(
            f"  instructions rep {repetition + 1} {arm:6} {workload:16} "
            f"{count.per_request:,.0f} per request ({count.requests:,} requests)",
            flush=True,
        )
        if count.errors:
            failed.append(f"instructions {arm} {workload}: {count.errors} errors")

    def _dump(self) -> int:
        """Dump the counters and read their total from the new file."""
        self._dumps += 1
        before = set(self._out_dir.glob("callgrind.out.*"))
        self._control("-d", f"dump-{self._dumps}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for dump in set(self._out_dir.glob("callgrind.out.*")) - before:
                match = _TOTAL.search(dump.read_bytes())
                if match is not None:  # else still being written
                    return int(match.group(1))
            time.sleep(0.2)
        raise RuntimeError(f"callgrind wrote no dump in {self._out_dir} within 30 s")

    def _control(self, *args: str) -> None:
        subprocess.run(
            ["callgrind_control", *args, str(self.pid)],
            check=True,
            capture_output=True,
            timeout=60,
        )


@contextmanager
def under_callgrind(
    argv: Sequence[str],
    port: int,
    out_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[Callgrind]:
    """Start `argv` (a server listening on `port`) under callgrind, instrumentation off, with
    a fixed hash seed (dict layouts, and so instruction counts, repeat from run to run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    valgrind = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out_dir}/callgrind.out.%p",
        *argv,
    ]
    environment = dict(os.environ if env is None else env) | {"PYTHONHASHSEED": "0"}
    with server(valgrind, port, env=environment, log=log, start_timeout=START_TIMEOUT_S) as pid:
        yield Callgrind(pid, port, out_dir)
