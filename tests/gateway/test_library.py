"""The library example in docs/gateway.md is true: run as written (a fresh interpreter, no key, so
the built-in emulator answers), it prints what its comments say; and its ledger has the
records."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from laneway.assembly import Assembly
from laneway.config import GatewayConfig
from tests.paths import REPO

DOC = REPO / "docs" / "gateway.md"


def library_example() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## As a library") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "docs/gateway.md's library section has no Python example"
    return match.group(1)


def test_the_documented_library_example_runs_as_it_says(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LANEWAY_"))}
    env["LANEWAY_LEDGER"] = str(ledger)
    script = tmp_path / "example.py"
    script.write_text(library_example(), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    whole, stream, error = done.stdout.splitlines()
    status, model, attempts, cost = whole.split()
    assert (status, model, attempts) == ("200", "gpt-5.4-mini", "1")
    assert Decimal(cost) > 0
    drained, settled, stream_cost = stream.split()
    assert (drained, settled) == ("True", "True")
    assert Decimal(stream_cost) > 0
    assert error == "400 missing_required_parameter"
    with Assembly(GatewayConfig(), {"LANEWAY_LEDGER": str(ledger)}) as parts:
        records = list(parts.ledger.between(None, None))
    # The two answers, and the request without input, which upstream refused (laneway
    # forwards what it need not read): recorded as an error, at no cost.
    assert sorted((r.stream, r.status, r.http_status, r.cost_usd) for r in records) == [
        (False, "error", 400, None),
        (False, "ok", 200, Decimal(cost)),
        (True, "ok", 200, Decimal(stream_cost)),
    ]
