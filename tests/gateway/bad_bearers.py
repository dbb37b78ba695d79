"""A flood of requests with bearers that match no key, as a process of its own (so that it takes
no time from the test's process):

    python -m tests.gateway.bad_bearers PORT RATE START PHASE_S PHASES CONNS

From START (a `time.monotonic()` reading: the clock is the system's, shared by processes) time
is cut into PHASES phases of PHASE_S seconds; the flood runs in the odd ones only, so that the
test measures legitimate latency with and without it side by side, interleaved. Each connection
sends its share of RATE per second as keep-alive POSTs, pipelined BATCH at a time (one write,
answers read in bulk: the flood's own CPU stays small, so what is measured is the gateway's),
each with a bearer of its own. The statuses received are written as JSON ({"401": n, ...}).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections import Counter

BODY = b'{"model":"gpt-5.4-mini","messages":[{"role":"user","content":"hi"}]}'
BATCH = 10
STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")
SECRET = "flood-secret-"  # noqa: S105 - a fake; each bearer is this and a number


def request(n: int) -> bytes:
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        + f"authorization: Bearer {SECRET}{n:08d}\r\n".encode()
        + b"content-type: application/json\r\n"
        + f"content-length: {len(BODY)}\r\n\r\n".encode()
        + BODY
    )


class Schedule:
    def __init__(self, start: float, phase_s: float, phases: int) -> None:
        self.start = start
        self.phase_s = phase_s
        self.end = start + phase_s * phases

    def next_flood(self, now: float) -> float:
        """When the flood may send next: `now` in a flood phase, else the next one's start."""
        phase = int((now - self.start) // self.phase_s)
        if phase < 0:
            return self.start
        if phase % 2 == 1:
            return now
        return self.start + (phase + 1) * self.phase_s


async def connection(
    port: int, index: int, interval: float, schedule: Schedule, seen: Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    due = schedule.start + interval * BATCH * index / 8  # spread the connections' starts
    n = index * 10_000_000
    while True:
        due = max(due, schedule.next_flood(due))
        if due >= schedule.end:
            break
        pause = due - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        due += interval * BATCH
        writer.write(b"".join(request(n + k) for k in range(BATCH)))
        n += BATCH
        answers = b""
        while answers.count(b"HTTP/1.1 ") < BATCH:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError("the gateway closed the connection")
            answers += chunk
        for status in STATUS.findall(answers):
            seen[int(status)] += 1
    writer.close()


async def flood(port: int, rate: float, schedule: Schedule, conns: int) -> Counter[int]:
    seen: Counter[int] = Counter()
    interval = conns / rate
    await asyncio.gather(*(connection(port, i, interval, schedule, seen) for i in range(conns)))
    return seen


def main() -> None:
    port, rate, start, phase_s, phases, conns = sys.argv[1:7]
    schedule = Schedule(float(start), float(phase_s), int(phases))
    seen = asyncio.run(flood(int(port), float(rate), schedule, int(conns)))
    sys.stdout.write(json.dumps({str(status): n for status, n in seen.items()}) + "\n")


if __name__ == "__main__":
    main()
