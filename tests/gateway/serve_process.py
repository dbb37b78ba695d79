"""`laneway serve` as a process of its own, on a free port. A port found free can be taken by
another test's server before this one binds it (xdist runs several at once), so a start that
fails with "Address already in use" is tried again on another port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx2 as httpx

_TRIES = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve(
    args: Sequence[str], log: Path, env: Mapping[str, str], timeout_s: float = 20
) -> tuple[subprocess.Popen[bytes], int]:
    """`laneway serve ARGS --port P`, healthy: the process and its port. Its output goes to
    `log` (the last try's)."""
    for _ in range(_TRIES):
        port = free_port()
        with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                [sys.executable, "-m", "laneway", "serve", *args, "--port", str(port)],
                env=dict(env),
                stdout=stderr,
                stderr=stderr,
            )
        if _healthy(process, port, timeout_s):
            return process, port
        process.kill()
        process.wait()
        if "Address already in use" not in log.read_text():
            break
    raise AssertionError("laneway serve did not start: " + log.read_text())


def _healthy(process: subprocess.Popen[bytes], port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.05)
    return False


def until_both_workers_answered(port: int, model: str) -> tuple[set[str], int, int]:
    """Chat requests on fresh connections (the kernel spreads them over the workers) until
    each of two workers has answered some (each has its own request-id prefix; the second may
    bind a moment after the first): their ids, and the input and output tokens reported."""
    ids: set[str] = set()
    tokens_in = tokens_out = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=10) as client:
        for index in range(400):
            if index >= 40 and len({request_id[:28] for request_id in ids}) == 2:
                break
            answer = client.post(
                "/chat/completions",
                json={"model": model, "messages": [{"role": "user", "content": f"n{index}"}]},
                headers={"authorization": "Bearer sk-client", "connection": "close"},
            )
            assert answer.status_code == 200
            ids.add(answer.headers["x-laneway-request-id"])
            usage = answer.json()["usage"]
            tokens_in += usage["prompt_tokens"]
            tokens_out += usage["completion_tokens"]
    assert len({request_id[:28] for request_id in ids}) == 2
    return ids, tokens_in, tokens_out
