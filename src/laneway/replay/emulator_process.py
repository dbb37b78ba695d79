"""The emulator a replay run calls when nothing else is configured, in a process of its own so
that its work does not share the runner's event loop or GIL.

    emulator = await EmulatorProcess.start(settings, catalog_files, log_path)
    ... emulator.base_url ...
    await emulator.stop()

The child announces its URL on stdout, logs to a file in the run directory, and watches its
stdin: when the runner's end closes (the runner exited, or was killed with SIGKILL) it stops
itself, so a killed run leaves no emulator behind. `python -m laneway.replay.emulator_process`
is the child.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from laneway.errors import LanewayError

_READY = "ready "
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


class EmulatorStartError(LanewayError):
    """The run's emulator did not start; the message names its log."""


class EmulatorProcess:
    def __init__(self, process: asyncio.subprocess.Process, base_url: str) -> None:
        self._process = process
        self.base_url = base_url

    @classmethod
    async def start(
        cls,
        *,
        speed: float,
        seed: int,
        tier: str | None,
        catalog: Sequence[Path],
        log: Path,
    ) -> EmulatorProcess:
        args = ["--speed", repr(speed), "--seed", str(seed), "--tier", tier or "none"]
        for path in catalog:
            args += ["--catalog", str(path)]
        with log.open("ab") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                __name__,
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log_file,
            )
        assert process.stdout is not None  # noqa: S101 - asked for above
        try:
            line = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT_S)
        except TimeoutError:
            line = b""
        text = line.decode(errors="replace").strip()
        if not text.startswith(_READY):
            await cls(process, "").stop()
            raise EmulatorStartError(f"the run's emulator did not start (its log: {log})")
        return cls(process, text.removeprefix(_READY))

    async def stop(self) -> None:
        """Close its stdin (it stops itself), then wait; killed if it does not stop in time."""
        process = self._process
        if process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()


def main(argv: Sequence[str] | None = None) -> None:
    """The child: serve until stdin closes (or SIGTERM, SIGINT)."""
    # Imported here: the runner imports this module only to start the child.
    from laneway.emulator.config import EmulatorConfig  # noqa: PLC0415
    from laneway.emulator.server import serve_forever  # noqa: PLC0415
    from laneway.pricing.catalog import Catalog  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="laneway.replay.emulator_process")
    parser.add_argument("--speed", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tier", default="none")
    parser.add_argument("--catalog", type=Path, action="append", default=[])
    options = parser.parse_args(argv)
    config = EmulatorConfig(seed=options.seed, speed=options.speed, tier=options.tier)
    threading.Thread(target=_stop_when_orphaned, daemon=True).start()

    def announce(url: str) -> None:
        print(f"{_READY}{url}", flush=True)  # noqa: T201 - the parent reads it

    serve_forever(config, Catalog.load(*options.catalog), "127.0.0.1", 0, on_ready=announce)


def _stop_when_orphaned() -> None:
    while sys.stdin.buffer.read(1 << 12):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    main()
