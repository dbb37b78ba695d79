"""Object ids ("resp_...", "msg_...", "req_..."): unique, cheap, and not secrets.

A random per-process prefix plus a counter: unique across restarts and replicas without a
system call per id (os.urandom for every id showed up in the emulator's profile).
"""

from __future__ import annotations

import itertools
import secrets

_PROCESS = secrets.token_hex(12)
_COUNTER = itertools.count()


def new_id(prefix: str, separator: str = "_") -> str:
    return f"{prefix}{separator}{_PROCESS}{next(_COUNTER):016x}"
