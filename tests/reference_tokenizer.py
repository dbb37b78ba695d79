"""OpenAI's tiktoken o200k_base, built offline, for tests and benchmarks to check counts against.

The loading lives in `laneway.tokens` (which also uses tiktoken for the rare text its fast
counter misreads); this module points it at a private cache directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from laneway.tokens import install_tiktoken_vocabulary


class ReferenceEncoding(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


def load_reference(cache_dir: Path) -> ReferenceEncoding:
    """tiktoken's o200k_base from `cache_dir`; the caller sets TIKTOKEN_CACHE_DIR to it."""
    import tiktoken  # noqa: PLC0415

    assert os.environ.get("TIKTOKEN_CACHE_DIR") == str(cache_dir)
    install_tiktoken_vocabulary(cache_dir)
    encoding: ReferenceEncoding = tiktoken.get_encoding("o200k_base")
    return encoding
