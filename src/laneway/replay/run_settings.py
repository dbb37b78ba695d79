"""How a replay run is run: where it keeps its files, whose key it is charged to, and the
settings of the emulator it starts when no provider is configured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RunSettings:
    run_dir: Path
    key: str = "replay"  # the key name the run's ledger records are charged to
    fallbacks: bool = False  # model fallbacks off: a cell measures its model
    over_cap: bool = False  # start even when the worst case exceeds the cap
    # The usage tier whose limits the run's emulator enforces and laneway paces to (None: none
    # enforced), recorded for the throughput ceilings.
    tier: str | None = None
    # The run's own emulator (used when no provider is configured): 0 answers at once.
    emulator_speed: float = 0.0
    emulator_seed: int = 0
    # The call cache (laneway.replay.call_cache) to serve identical calls from and to keep this
    # run's answers in; None: no cache, every call is made.
    reuse: Path | None = None
    # The gateway config file the run was given (its hash is kept, so `laneway replay apply`
    # can tell whether the file changed since); None: none was.
    config_file: Path | None = None
