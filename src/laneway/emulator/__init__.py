"""The OpenAI API emulator: the offline upstream, the test bed, and an independent bill.

    from laneway.emulator import emulator
    with emulator(EmulatorConfig(speed=0)) as base_url:
        client = OpenAI(base_url=base_url, api_key="sk-anything")

`EmulatorServer` (in `laneway.emulator.server`) is the same with its engine in reach (the bill,
the prompt cache) for tests that look inside.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer

__all__ = ["EmulatorConfig", "EmulatorServer", "emulator"]


@contextmanager
def emulator(
    config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Run an emulator on a background thread; yields its base URL (ending in /v1)."""
    with EmulatorServer(config, host=host, port=port) as server:
        yield server.base_url
