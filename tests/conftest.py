"""Shared fixtures: OpenAI's tiktoken as the reference o200k_base tokenizer, offline."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Protocol

import pytest

# tiktoken names its cache file after the SHA-1 of the vocabulary's public URL and checks the
# file's SHA-256 against the hash it pins before use: a wrong file is refused, not trusted.
_O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


class ReferenceEncoding(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


@pytest.fixture(scope="session")
def tiktoken_o200k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceEncoding]:
    """tiktoken's own o200k_base, fed the vocabulary file that the bpe-openai wheel ships."""
    import tiktoken  # noqa: PLC0415 - only the tokenizer tests need it

    # Located without importing bpe_openai: its import runs deprecated importlib calls, and only
    # its data file is wanted here.
    spec = find_spec("bpe_openai")
    assert spec is not None
    assert spec.submodule_search_locations
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    vocabulary = gzip.decompress((package_dir / "data" / "o200k_base.tiktoken.gz").read_bytes())
    cache: Path = tmp_path_factory.mktemp("tiktoken-cache")
    name = hashlib.sha1(_O200K_URL.encode(), usedforsecurity=False).hexdigest()
    (cache / name).write_bytes(vocabulary)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        # Any attempt to reach the network instead of the cache must fail loudly here.
        patch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        encoding: ReferenceEncoding = tiktoken.get_encoding("o200k_base")
        yield encoding
