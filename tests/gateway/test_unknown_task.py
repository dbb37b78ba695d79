"""`model: "auto"` with a metadata.task no auto rule names: the route says so (header and
ledger), and `[routing] unknown_task_lane` names where it goes."""

from __future__ import annotations

import json
from pathlib import Path

from laneway.emulator.server import EmulatorServer
from tests.gateway.conftest import Running, gateway_config, start
from tests.sdk import sdk


def ask_auto(running: Running, task: str) -> tuple[str, str]:
    """The x-laneway-route header and the ledger's route for an auto request with this task."""
    with sdk(running.base_url, "any") as client:
        raw = client.responses.with_raw_response.create(
            model="auto", input="Say hi in French.", metadata={"task": task}
        )
    record = running.record(raw.headers["x-laneway-request-id"])
    assert record.route is not None
    return raw.headers["x-laneway-route"], record.route


def test_an_unknown_task_goes_to_the_default_lane_and_says_so(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    server, sleep = start(gateway_config(emulator, tmp_path / "ledger.db"))
    with server:
        running = Running(server, sleep)
        header, stored = ask_auto(running, "translation")
        known_header, _ = ask_auto(running, "coding")
    assert "auto: unknown task 'translation': auto default" in header
    route = json.loads(stored)
    assert route["lane"] == "frontier"
    assert route["via"] == "auto: unknown task 'translation': auto default"
    assert "unknown task" not in known_header


def test_the_config_names_the_lane_for_unknown_tasks(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    config = gateway_config(
        emulator, tmp_path / "ledger.db", routing={"unknown_task_lane": "extraction"}
    )
    server, sleep = start(config)
    with server:
        header, stored = ask_auto(Running(server, sleep), "translation")
    assert json.loads(stored)["lane"] == "extraction"
    assert "unknown task 'translation': auto.unknown_task" in header
