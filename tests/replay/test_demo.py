"""The demo workload shipped with the package: the generator's output byte for byte, a valid
workload drawing on every task family, through both APIs."""

from __future__ import annotations

from collections import Counter

import pytest

from laneway.emulator.skill_tasks import FAMILIES
from laneway.replay.demo import DEMO_LINES, DEMO_MODEL, DEMO_WORKLOAD, demo_jsonl, main
from laneway.replay.workload import Workload


def test_the_shipped_file_is_the_generator_output() -> None:
    # If this fails after a change to a family or the generator, regenerate the file:
    #   python -m laneway.replay.demo > src/laneway/replay/data/demo.jsonl
    assert DEMO_WORKLOAD.read_bytes() == demo_jsonl()


def test_main_writes_the_workload(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    main()
    assert capsysbinary.readouterr().out == demo_jsonl()


def test_the_same_seed_gives_the_same_lines_and_another_seed_others() -> None:
    assert demo_jsonl(5, 40) == demo_jsonl(5, 40)
    assert demo_jsonl(5, 40) != demo_jsonl(6, 40)


def test_the_demo_is_a_graded_workload_of_every_family_through_both_apis() -> None:
    workload = Workload.load(DEMO_WORKLOAD)
    lines = tuple(workload.lines())
    assert len(lines) == workload.count == DEMO_LINES
    assert workload.expectations == DEMO_LINES
    families = Counter(line.custom_id.split("-", 2)[2] for line in lines)
    assert set(families) == set(FAMILIES)
    assert min(families.values()) >= 30, families
    endpoints = Counter(line.endpoint for line in lines)
    assert endpoints["responses"] > endpoints["chat"] > 30, endpoints
    assert {line.body["model"] for line in lines} == {DEMO_MODEL}
    with_schema = [line for line in lines if "text" in line.body]
    assert with_schema, "some extraction lines ask for a JSON schema"
