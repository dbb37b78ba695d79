"""`laneway reconcile`: a real gateway's ledger against the emulator's Costs API, the residual
named by the reasons its records carry; a user's mistake is one line."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx
import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from tests.cli.conftest import Run, assert_one_line_error
from tests.gateway.conftest import Running, gateway_config, start
from tests.sdk import sdk

KEY_ENV = "RECONCILE_TEST_ADMIN_KEY"
PROMPT = "Tell me about the sea."


def serve(tmp: Path, faults: tuple[str, ...]) -> tuple[EmulatorServer, Path]:
    """Two answered requests and one per fault header, through a gateway; its ledger's path."""
    emulator = EmulatorServer(EmulatorConfig(seed=3, speed=0, tier="none")).start()
    ledger = tmp / "ledger.db"
    timeouts = {"first_byte_s": 5.0, "idle_s": 5.0, "total_s": 10.0}
    server, sleep = start(gateway_config(emulator, ledger, timeouts=timeouts))
    with server, sdk(server.base_url, "any") as client:
        for _ in range(2):
            client.responses.create(model="gpt-5.4-mini", input=PROMPT)
        for fault in faults:
            headers = {"x-emulator-fault": fault}
            try:
                with client.responses.stream(
                    model="gpt-5.4-mini", input=PROMPT, extra_headers=headers
                ) as events:
                    events.get_final_response()
            except Exception:  # noqa: BLE001, S110 - the ledger says what became of it
                pass
        Running(server, sleep).records()  # flushed
    return emulator, ledger


def reconcile_json(run: Run, emulator: EmulatorServer, ledger: Path) -> dict[str, object]:
    result = run("reconcile", "--bill-url", emulator.base_url, "--admin-key-env", KEY_ENV,
                 "--since", "1d", "--ledger", str(ledger), "--json")  # fmt: skip
    assert result.code == 0, result.err
    answer: dict[str, object] = json.loads(result.out)
    return answer


@pytest.fixture(autouse=True)
def admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-admin")


def test_an_exact_ledger_matches_the_bill(run: Run, tmp_path: Path) -> None:
    emulator, ledger = serve(tmp_path, ())
    try:
        answer = reconcile_json(run, emulator, ledger)
        text = run("reconcile", "--bill-url", emulator.base_url, "--admin-key-env", KEY_ENV,
                   "--since", "1d", "--ledger", str(ledger))  # fmt: skip
    finally:
        emulator.stop()
    assert answer["difference_usd"] == "0"
    assert Decimal(str(answer["bill_usd"])) > 0
    assert answer["named_by"] == []
    assert text.out.splitlines()[-1] == "the ledger matches the bill"


def test_the_difference_is_named_by_reason(run: Run, tmp_path: Path) -> None:
    # A stream cut after 5 events (estimated), one cut before its first (every attempt given
    # up, each billed its input).
    emulator, ledger = serve(tmp_path, ("cut=5", "cut=0"))
    try:
        answer = reconcile_json(run, emulator, ledger)
    finally:
        emulator.stop()
    by_basis = answer["by_basis"]
    assert isinstance(by_basis, dict)
    assert by_basis["exact"]["records"] == 2
    assert by_basis["estimated"]["records"] == 1
    assert by_basis["abandoned"]["records"] == 1
    assert by_basis["abandoned"]["attempts_given_up"] >= 1
    assert answer["named_by"] == ["estimated", "abandoned"]
    assert Decimal(str(answer["difference_usd"])) > 0  # the abandoned attempts' input
    assert answer["explained"] is True


def test_mistakes_are_one_line(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    args = ("reconcile", "--bill-url", url, "--admin-key-env", KEY_ENV, "--ledger",
            str(tmp_path / "absent.db"))  # fmt: skip
    assert_one_line_error(run(*args, "--since", "yesterday"), "--since", "not a time")
    assert_one_line_error(run(*args, "--since", "1d"), "cannot reach the Costs API", url)
    monkeypatch.delenv(KEY_ENV)
    assert_one_line_error(run(*args, "--since", "1d"), f"${KEY_ENV} is not set")


def test_a_refused_key_is_one_line_without_the_key(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "not-an-admin-key-0123456789")
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        result = run("reconcile", "--bill-url", emulator.base_url, "--admin-key-env", KEY_ENV,
                     "--since", "1d", "--ledger", str(tmp_path / "x.db"))  # fmt: skip
        assert httpx.get(emulator.base_url + "/models").status_code == 401
    assert_one_line_error(result, "the Costs API answered 401")
    assert "not-an-admin-key-0123456789" not in result.err
