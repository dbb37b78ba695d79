"""Key secrets: their form, their randomness, what is stored of them, and how they are checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections import Counter

import pytest

from laneway.keys.model import VirtualKey
from laneway.keys.secret import (
    digest_of,
    find_by_secret,
    is_prefix,
    matches,
    new_secret,
    prefix_of,
)
from tests.keys.conftest import make_key

KEY_FORM = re.compile(r"lw-([a-z2-7]{10})-([a-z2-7]{52})")


def test_a_key_reads_lw_prefix_secret_and_only_its_digest_is_kept() -> None:
    made = new_secret()
    match = KEY_FORM.fullmatch(made.key)
    assert match is not None, made.key
    assert match.group(1) == made.prefix
    assert is_prefix(made.prefix)
    assert prefix_of(made.key) == made.prefix
    assert made.digest == hashlib.sha256(made.key.encode()).hexdigest()
    assert made.key not in repr(made)
    assert made.digest not in repr(made)


def test_the_secret_part_carries_256_random_bits() -> None:
    made = [new_secret() for _ in range(2000)]
    bodies = [KEY_FORM.fullmatch(m.key).group(2) for m in made]  # type: ignore[union-attr]
    # 52 base32 characters are 260 bits: 32 whole bytes and 4 zero pad bits.
    raw = [base64.b32decode(body.upper() + "====") for body in bodies]
    assert all(len(r) == 32 for r in raw)
    assert len(set(raw)) == len(raw)
    assert len({m.prefix for m in made}) == len(made)
    # Every base32 character turns up, about evenly: 2000 * 10 prefix characters, ~625 each.
    counts = Counter("".join(m.prefix for m in made))
    assert len(counts) == 32
    assert min(counts.values()) > 400
    assert max(counts.values()) < 850
    # Bytes of the secret part: all 256 values, none far from 2000 * 32 / 256 = 250.
    byte_counts = Counter(b"".join(raw))
    assert len(byte_counts) == 256
    assert min(byte_counts.values()) > 150
    assert max(byte_counts.values()) < 350


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "lw-",
        "sk-abcdefghij-" + "a" * 52,
        "lw-abcdefghij-" + "a" * 51,  # one character short
        "lw-abcdefghij-" + "a" * 53,
        "lw-ABCDEFGHIJ-" + "a" * 52,  # upper case is not the form
        "lw-abcdefgh1j-" + "a" * 52,  # 1 is not base32
        "lw-abcdefghij_" + "a" * 52,
        " lw-abcdefghij-" + "a" * 52,
        "lw-abcdefghij-" + "a" * 52 + "\n",
    ],
)
def test_a_malformed_key_has_no_prefix(presented: str) -> None:
    assert prefix_of(presented) is None


def test_lookup_finds_the_key_by_prefix_and_checks_the_whole_secret() -> None:
    key, secret = make_key()
    other, other_secret = make_key("team-b")
    by_prefix = {key.prefix: key, other.prefix: other}
    assert find_by_secret(secret, by_prefix.get) == key
    assert find_by_secret(other_secret, by_prefix.get) == other
    # The right prefix with a wrong secret, or another key's secret under this prefix.
    last = "b" if secret[-1] != "b" else "c"
    assert find_by_secret(secret[:-1] + last, by_prefix.get) is None
    assert find_by_secret(f"lw-{key.prefix}-{other_secret[14:]}", by_prefix.get) is None
    # Unknown prefix, malformed key: nothing, and a malformed one is never looked up.
    assert find_by_secret(new_secret().key, by_prefix.get) is None
    looked_up: list[str] = []

    def spy(prefix: str) -> VirtualKey | None:
        looked_up.append(prefix)
        return by_prefix.get(prefix)

    assert find_by_secret("Bearer " + secret, spy) is None
    assert find_by_secret(secret.upper(), spy) is None
    assert looked_up == []


def test_every_check_ends_in_one_constant_time_comparison_of_equal_lengths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found, wrong secret, unknown prefix, malformed: the same work, so timing tells nothing.
    key, secret = make_key()
    by_prefix = {key.prefix: key}
    real = hmac.compare_digest
    calls: list[tuple[int, int]] = []

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    presented = [secret, secret[:-1] + "x", new_secret().key, "not a key"]
    found = [find_by_secret(p, by_prefix.get) for p in presented]
    assert found == [key, None, None, None]
    assert calls == [(64, 64)] * 4


def test_matches_compares_digests() -> None:
    made = new_secret()
    assert matches(made.key, made.digest)
    assert not matches(made.key + "a", made.digest)
    assert digest_of(made.key) == made.digest
