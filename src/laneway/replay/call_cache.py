"""A content-addressed cache of replay calls on disk, so an experiment re-run after changing only
its graders costs nothing (`laneway replay --reuse`).

A call's key is the SHA-256 of what decides its answer: the upstream it went to (its identity,
never its key), the endpoint, the body exactly as sent (model and effort included) and the repeat
index. The entry is the call's row as it ended, without grades (they are made again, by the
graders of the run that reuses it). Only answered calls are kept: an error, a refusal, a broken
stream or an answer without a known cost is never cached, so a reused row is always a real,
complete answer.

    <root>/ab/abcdef....json    one file per call, written whole (a temporary file renamed)

The cache holds answers (and so whatever the workload's prompts led to): it lives where the user
points it (`--cache-dir`, default `$XDG_CACHE_HOME/laneway/replay-calls`), never in the ledger.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from laneway.replay.rows import ResultRow

_VERSION = b"laneway-replay-call-1"  # a change of what a key covers starts a new cache


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    found = os.environ if env is None else env
    base = found.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "laneway" / "replay-calls"


def call_key(upstream: str, endpoint: str, body: bytes, repeat: int) -> str:
    digest = hashlib.sha256(_VERSION)
    for part in (upstream.encode(), endpoint.encode(), str(repeat).encode()):
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    digest.update(body)
    return digest.hexdigest()


def cacheable(row: ResultRow) -> bool:
    """Whether a row may be kept: a complete answer with a known cost."""
    return row.status == "ok" and row.output is not None and row.cost_usd is not None


class CallCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> ResultRow | None:
        """The cached call, or None (absent, or an entry that does not read: treated as
        absent, and overwritten by the next put)."""
        try:
            return ResultRow.from_json(self._path(key).read_bytes())
        except (OSError, ValueError, TypeError):
            return None

    def put(self, key: str, row: ResultRow) -> bool:
        """Keep `row` under `key` if it may be kept; False when it may not."""
        if not cacheable(row):
            return False
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(
            replace(row, grades=(), reused=False, judge_cost_usd=None, judge_records=()).to_json()
        )
        partial.replace(path)  # whole or absent, never torn
        return True
