"""What storing a lane's routing explanation costs the ledger: one candidate's route against three.

    .venv/bin/python -m bench.bench_route_storage [--requests 40000] [--batches 4,8,16]
        [--repeat 3] [--cpu 0] [--dir /tmp]

bench_routing's two arms differ in what they leave in the ledger as well as in what they compute:
the lane's settled row carries a route with three candidates (~290 bytes of JSON), the plain
model id's a route with one (~150). This measures that difference alone, in process, with the
real `SQLiteLedger` and rows made by `to_row` from records shaped as the gateway settles them
(one attempt, usage, cost, timings): each "request" is reserved (no route yet, as the gateway
reserves) in one batch and settled in the next, `--batches` requests to a batch, one commit per
batch, as the ledger writer commits under load. The two routes are those `Route.to_json` writes
for bench_routing's plain and lane requests.

Per request, medians over `--repeat` alternating runs, each on a fresh file in `--dir` (on the
disk the gateway's ledger would use: the kernel's share depends on the file system):
- CPU in user space and in the kernel (the process, pinned to `--cpu`), the checkpointer's
  included: it copies the WAL into the database once a second, as in `laneway serve`;
- WAL frames (one 4 KiB page and its header each: what a commit writes) and the bytes the
  process caused to be written to storage (/proc/self/io write_bytes, checkpoints included).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from laneway.ledger.record import Attempt, LedgerRecord, to_row
from laneway.ledger.sqlite import SQLiteLedger
from laneway.routing.explain import Route
from laneway.usage import Usage

_PAGE = 4096
_FRAME = _PAGE + 24  # a WAL frame: its header, then the page


def _route(lane: bool) -> str:
    """The route bench_routing's requests leave in the ledger (bench_routing's preflight shows
    the same choice): the lane prices three candidates, a plain model id names one."""
    if not lane:
        route = Route(None, "model", "model", chosen="gpt-5.4-mini@emulator")
        route.rows = [("gpt-5.4-mini@emulator", True, "", None, None)]
        return route.to_json()
    route = Route("bench3", "model lane:bench3", "cheapest", chosen="gpt-5.4-mini@emulator")
    route.rows = [
        ("gpt-5.4-nano@emulator", True, "price unknown: ranked last", None, None),
        ("gpt-5.4-mini@emulator", True, "", 136_500_000, None),
        ("gpt-5.4@emulator", True, "", 1_920_065_000_000, None),
    ]
    return route.to_json()


def _reserved(number: int, lane: bool) -> LedgerRecord:
    return LedgerRecord(
        id=f"req_e28b356a7c93e375063266bd{number:016x}",
        created_at=time.time(),
        key_id="key_2d82044abdf76aa3",
        endpoint="responses",
        requested_model="lane:bench3" if lane else "gpt-5.4-mini",
        stream=False,
        lane="bench3" if lane else None,
    )


def _settle(record: LedgerRecord, route: str) -> LedgerRecord:
    record.status = "ok"
    record.answering_model = "gpt-5.4-mini"
    record.provider = "emulator"
    record.upstream_request_id = "req_5d07730233be609872f361680000000000194fd6"
    record.attempts = (Attempt("emulator", "gpt-5.4-mini", 200, 4.575439999996433),)
    record.http_status = 200
    record.usage = Usage(input_tokens=15, output_tokens=26)
    record.cost_usd = Decimal("0.00012825")
    record.ttfb_ms, record.latency_ms = 4.590752000012799, 4.604263000032915
    record.settled_at = time.time()
    record.route = route
    return record


def _storage_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class Run:
    user_us: float
    kernel_us: float
    frames: float  # WAL frames written per request, counted on a file never checkpointed
    stored: float  # bytes written to storage per request

    @property
    def cpu_us(self) -> float:
        return self.user_us + self.kernel_us


def run_once(directory: Path, lane: bool, requests: int, batch: int) -> Run:
    route = _route(lane)
    with tempfile.TemporaryDirectory(dir=directory, prefix="laneway-route-storage-") as tmp:
        path = Path(tmp) / "ledger.db"
        # The WAL is counted with no checkpoint in the way, then again with them, as served.
        frames = _frames(path.with_name("frames.db"), lane, route, min(requests, 20_000), batch)
        ledger = SQLiteLedger(path)
        before, stored = resource.getrusage(resource.RUSAGE_SELF), _storage_bytes()
        _write(ledger, lane, route, requests, batch)
        ledger.close()  # its last checkpoint included
        after, stored = resource.getrusage(resource.RUSAGE_SELF), _storage_bytes() - stored
    return Run(
        user_us=(after.ru_utime - before.ru_utime) / requests * 1e6,
        kernel_us=(after.ru_stime - before.ru_stime) / requests * 1e6,
        frames=frames,
        stored=stored / requests,
    )


def _write(ledger: SQLiteLedger, lane: bool, route: str, requests: int, batch: int) -> None:
    previous: list[LedgerRecord] = []
    for start in range(0, requests + batch, batch):
        fresh = [_reserved(n, lane) for n in range(start, min(start + batch, requests))]
        ledger.write([to_row(r) for r in fresh], [to_row(_settle(r, route)) for r in previous])
        previous = fresh


def _frames(path: Path, lane: bool, route: str, requests: int, batch: int) -> float:
    ledger = SQLiteLedger(path, checkpoint_every_s=3600.0)
    try:
        _write(ledger, lane, route, requests, batch)
        return os.path.getsize(path.with_name(path.name + "-wal")) / _FRAME / requests
    finally:
        ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=40_000, help="per run")
    parser.add_argument("--batches", default="4,8,16", help="requests per commit")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0, help="the one CPU to pin to; -1: no pin")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    batches = [int(b) for b in args.batches.split(",") if b]
    print(
        f"routes: plain {len(_route(False))} bytes, lane {len(_route(True))} bytes; "
        f"{args.requests:,} requests per run, {args.repeat} runs per arm, files in {args.dir}\n"
    )
    print(
        "| requests per commit | CPU us/req plain / lane (kernel) | lane - plain us "
        "| WAL frames/req plain / lane | stored bytes/req plain / lane |"
    )
    print("|---|---|---|---|---|")
    for batch in batches:
        runs: dict[bool, list[Run]] = {False: [], True: []}
        for repetition in range(args.repeat):
            for lane in (False, True) if repetition % 2 == 0 else (True, False):
                runs[lane].append(run_once(args.dir, lane, args.requests, batch))

        def median(lane: bool, field: str, runs: dict[bool, list[Run]] = runs) -> float:
            return float(statistics.median(getattr(run, field) for run in runs[lane]))

        plain_cpu, lane_cpu = median(False, "cpu_us"), median(True, "cpu_us")
        print(
            f"| {batch} | {plain_cpu:.1f} ({median(False, 'kernel_us'):.1f}) / {lane_cpu:.1f} "
            f"({median(True, 'kernel_us'):.1f}) | {lane_cpu - plain_cpu:+.1f} "
            f"| {median(False, 'frames'):.2f} / {median(True, 'frames'):.2f} "
            f"| {median(False, 'stored'):,.0f} / {median(True, 'stored'):,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
