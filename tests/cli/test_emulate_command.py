"""`laneway emulate` as a user runs it: a real process, the official SDK, a clean stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai import OpenAI

from laneway.emulator.config import EmulatorConfig, EmulatorConfigError
from tests.cli.conftest import Run, assert_one_line_error


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the emulator did not start listening")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serves_the_sdk_until_stopped(tmp_path: Path, stop: signal.Signals) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text(
        'tier = "none"\n[keys."sk-only-nano"]\nmodels = ["gpt-5.4-nano"]\n', encoding="utf-8"
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "laneway", "emulate", "--port", str(port), "--speed", "0",
         "--seed", "5", "--abandoned-billing", "none", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_until_listening(port, process)
        base = f"http://127.0.0.1:{port}/v1"
        with OpenAI(base_url=base, api_key="sk-x", _strict_response_validation=True) as client:
            response = client.responses.create(model="gpt-5.2", input="hello")
            assert response.status == "completed"
        with OpenAI(base_url=base, api_key="sk-only-nano", max_retries=0) as restricted:
            assert [m.id for m in restricted.models.list()] == ["gpt-5.4-nano"]
    finally:
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    assert b"Traceback" not in stderr
    assert f"laneway emulator on http://127.0.0.1:{port}/v1".encode() in stderr
    assert b"abandoned calls billed: none" in stderr


def test_port_in_use_is_one_line(run: Run) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert_one_line_error(run("emulate", "--port", str(port)), "cannot listen", str(port))


def test_bad_config_file_is_one_line(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text("speed = -1\ncolour = 'blue'\n", encoding="utf-8")
    # One line per problem, each naming the file.
    result = run("emulate", "--config", str(config))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"laneway: error: {config}: speed: must be 0 or more, got -1",
        f"laneway: error: {config}: unknown key 'colour'",
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[faults]]\nkind = 'cut'\n", "needs 'after_events'"),
        (
            "[[faults]]\nkind = 'status'\nstatus = 200\n",
            "item 1 status: must be 400 or more, got 200",
        ),
        ("[output_tokens]\nmin = 50\nmax = 10\n", "min exceeds max"),
        (
            "tier = 'tier-9'\n",
            "tier: must be 'free', 'tier-1', 'tier-2', 'tier-3', 'tier-4', "
            "'tier-5' or 'none', got 'tier-9'",
        ),
        ("abandoned_billing = 'sometimes'\n", "abandoned_billing: must be 'generated' or 'none'"),
        ("speed = ", "not valid TOML"),
    ],
)
def test_config_validation(tmp_path: Path, text: str, fragment: str) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(EmulatorConfigError, match=fragment):
        EmulatorConfig.load(config)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(EmulatorConfigError, match="cannot read"):
        EmulatorConfig.load(tmp_path / "absent.toml")
