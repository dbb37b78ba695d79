"""Token counting throughput: laneway's counter vs OpenAI's tiktoken, same text, same run.

    .venv/bin/python -m bench.bench_tokens [--megabytes 8] [--repeat 5]

Target (issue 2): at least 10 MB of text per second on one core. Prints MB/s for both counters
(best of --repeat), their ratio, and whether the counts agree.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.reference_tokenizer import load_reference

from laneway import count_tokens

TARGET_MB_PER_S = 10.0

_PROSE = (
    "the model routes each request to the cheapest lane that can serve it with reasoning effort "
    "none low medium high xhigh budget ledger token cache prompt response stream retry fallback"
)
_WORDS = _PROSE.split()
_CODE = (
    'def handle(request):\n    body = json.loads(request.body)\n    return {"ok": True, "n": 42}\n'
)
_OTHER = "日本語のテキスト, Ünïcödé façade, emoji 🎉🚀, числа 12345.678, العربية "


def corpus(megabytes: float, seed: int = 7) -> str:
    """Deterministic mixed text: English prose, code, multilingual runs, numbers, whitespace."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < megabytes * 1_000_000:
        kind = rng.random()
        if kind < 0.6:
            chunk = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 120))) + ".\n\n"
        elif kind < 0.85:
            chunk = _CODE * rng.randint(1, 4)
        else:
            chunk = _OTHER * rng.randint(1, 3) + "\n"
        parts.append(chunk)
        size += len(chunk.encode())
    return "".join(parts)


def best_rate(count: Callable[[str], int], text: str, repeat: int) -> tuple[float, int]:
    megabytes = len(text.encode()) / 1_000_000
    best = float("inf")
    tokens = 0
    for _ in range(repeat):
        start = time.perf_counter()
        tokens = count(text)
        best = min(best, time.perf_counter() - start)
    return megabytes / best, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    text = corpus(args.megabytes)
    count_tokens("warm up")  # load the vocabulary outside the timed region
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TIKTOKEN_CACHE_DIR"] = cache
        reference = load_reference(Path(cache))
        ours, our_tokens = best_rate(count_tokens, text, args.repeat)
        theirs, their_tokens = best_rate(
            lambda t: len(reference.encode_ordinary(t)), text, args.repeat
        )
        # The BPE worst case: one long run with no whitespace to split on (hostile prompts).
        rng = random.Random(11)
        hostile = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(300_000))
        ours_bad, _ = best_rate(count_tokens, hostile, 1)
        theirs_bad, _ = best_rate(lambda t: len(reference.encode_ordinary(t)), hostile, 1)
    print(f"text: {len(text.encode()) / 1e6:.1f} MB, {our_tokens:,} o200k_base tokens")
    print(f"laneway.count_tokens  {ours:7.1f} MB/s")
    print(f"tiktoken (reference)  {theirs:7.1f} MB/s")
    print(f"ratio                 {ours / theirs:7.1f}x")
    print(f"counts agree          {our_tokens == their_tokens}")
    print(f"worst case (0.3 MB without whitespace): {ours_bad:.1f} vs {theirs_bad:.1f} MB/s")
    verdict = "PASS" if ours >= TARGET_MB_PER_S and our_tokens == their_tokens else "FAIL"
    print(f"target >= {TARGET_MB_PER_S:g} MB/s    {verdict}")


if __name__ == "__main__":
    main()
