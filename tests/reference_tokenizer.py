"""OpenAI's tiktoken o200k_base, built offline: the reference laneway's counts are checked against.

tiktoken downloads its vocabulary unless its cache holds it. The bpe-openai wheel ships the same
file; we place it where tiktoken's cache looks (named after the SHA-1 of the public URL), and
tiktoken itself verifies the file's SHA-256 against the hash it pins before using it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from importlib.util import find_spec
from pathlib import Path
from typing import Protocol

_O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


class ReferenceEncoding(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


def install_vocabulary(cache_dir: Path) -> None:
    """Write o200k_base into `cache_dir` the way tiktoken's cache expects it."""
    # Located without importing bpe_openai: its import runs deprecated importlib calls, and only
    # its data file is wanted here.
    spec = find_spec("bpe_openai")
    assert spec is not None
    assert spec.submodule_search_locations
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    vocabulary = gzip.decompress((package_dir / "data" / "o200k_base.tiktoken.gz").read_bytes())
    name = hashlib.sha1(_O200K_URL.encode(), usedforsecurity=False).hexdigest()
    (cache_dir / name).write_bytes(vocabulary)


def load_reference(cache_dir: Path) -> ReferenceEncoding:
    """tiktoken's o200k_base from `cache_dir`; the caller sets TIKTOKEN_CACHE_DIR to it."""
    import tiktoken  # noqa: PLC0415 - a dev-only dependency

    assert os.environ.get("TIKTOKEN_CACHE_DIR") == str(cache_dir)
    install_vocabulary(cache_dir)
    encoding: ReferenceEncoding = tiktoken.get_encoding("o200k_base")
    return encoding
