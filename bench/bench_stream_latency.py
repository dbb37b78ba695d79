"""Does laneway hold stream events back? Arrival times of each event, direct and through it.

    .venv/bin/python -m bench.bench_stream_latency [--streams 20]

The emulator paces its events in real time (speed 1: an event every ~10-20 ms). The same
streams are read directly from the emulator and through `laneway serve` in front of it, and for
every event the time since the request was sent is taken. The first event's added delay is the
request's overhead; each later event's delay beyond that (matched by position: the emulator is
deterministic, so the streams are the same) shows any buffering: a relay that waited for more
data would add up to the whole stream's length.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

from bench.harness import BEARER, emulator, gateway_command, gateway_config, server

EMULATOR_PORT, GATEWAY_PORT = 4431, 4432
BODY = {"model": "gpt-5.4-mini", "stream": True, "input": "Describe a lighthouse at night."}


def arrivals(url: str, client: httpx.Client) -> list[float]:
    started = time.perf_counter()
    times: list[float] = []
    buffered = b""
    with client.stream(
        "POST", url, json=BODY, headers={"authorization": f"Bearer {BEARER}"}
    ) as answer:
        answer.raise_for_status()
        for data in answer.iter_raw():
            now = time.perf_counter() - started
            buffered += data
            while b"\n\n" in buffered:
                _, buffered = buffered.split(b"\n\n", 1)
                times.append(now)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        config = gateway_config(Path(scratch), EMULATOR_PORT)
        argv, env = gateway_command(sys.executable, config, GATEWAY_PORT)
        with (
            emulator(EMULATOR_PORT, Path(scratch) / "emulator.log", speed="1"),
            server(argv, GATEWAY_PORT, env=env, log=Path(scratch) / "laneway.log"),
            httpx.Client(timeout=60) as client,
        ):
            added: list[float] = []
            first: list[float] = []
            events = 0
            for _ in range(args.streams):
                direct = arrivals(f"http://127.0.0.1:{EMULATOR_PORT}/v1/responses", client)
                relayed = arrivals(f"http://127.0.0.1:{GATEWAY_PORT}/v1/responses", client)
                if len(direct) != len(relayed):
                    raise SystemExit(f"streams differ: {len(direct)} vs {len(relayed)} events")
                events += len(direct)
                first.append((relayed[0] - direct[0]) * 1000)
                # Later events against the first: the request's own overhead taken out.
                added += [
                    ((r - relayed[0]) - (d - direct[0])) * 1000
                    for d, r in zip(direct[1:], relayed[1:], strict=True)
                ]
    added.sort()
    p99 = added[min(len(added) - 1, int(len(added) * 0.99))]
    print(
        f"{args.streams} streams, {events} events. First event, added: "
        f"p50 {statistics.median(first):.2f} ms. Each later event, added beyond that: "
        f"p50 {statistics.median(added):.2f} ms, p99 {p99:.2f} ms, max {added[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
