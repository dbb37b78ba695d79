"""The recommendation on runs whose truth is written down (tests.replay.decided_runs): the
cheapest cell no worse than the baseline is picked, a dearer one that qualifies is not, a worse
one never is, nor one of unknown cost; the saving at the lane's traffic is exact; and when
nothing qualifies the text says why and how many more lines would settle the open candidate."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
import pytest

from laneway.ledger.record import LedgerRecord
from laneway.replay.lane_traffic import LaneTraffic, lane_traffic
from laneway.replay.recommend import Recommendation, recommend_run
from laneway.replay.recommend_text import recommendation_text, recommendation_value, sentence
from laneway.replay.run_dir import WORKLOAD, RunDir
from tests.replay.decided_runs import (
    AHEAD,
    FLAGSHIP,
    MINI,
    NANO,
    NOISY,
    RECOVERED,
    UNPRICED,
    decided_run,
)

TRAFFIC = LaneTraffic("legacy", 700, 7)  # 100 requests a day


def _recommend(run: RunDir, traffic: LaneTraffic | None = TRAFFIC) -> Recommendation:
    return recommend_run(run, np.random.default_rng(0), traffic=lambda lane: traffic)


def test_the_cheapest_cell_no_worse_than_the_baseline_is_picked(tmp_path: Path) -> None:
    found = _recommend(decided_run(tmp_path, (UNPRICED, NANO, FLAGSHIP, MINI)))
    verdicts = {option.label: option.verdict for option in found.options}
    assert verdicts[NANO.label] == "worse"
    assert verdicts[MINI.label] == verdicts[FLAGSHIP.label] == "non-inferior"
    assert verdicts[UNPRICED.label] == "non-inferior"  # qualifies, but its cost is unknown
    assert found.pick is not None
    assert found.pick.label == MINI.label  # cheaper than FLAGSHIP; NANO is cheaper but worse
    assert found.lane.lane == "legacy"
    assert found.lane.source == "experiment"
    unpriced = next(o for o in found.options if o.label == UNPRICED.label)
    assert unpriced.cost_per_request_usd is None
    assert unpriced.saving_per_day_usd is None


def test_the_saving_is_exact_at_the_lanes_traffic(tmp_path: Path) -> None:
    found = _recommend(decided_run(tmp_path, (NANO, MINI)))
    pick = found.pick
    assert pick is not None
    assert found.baseline.cost_per_request_usd == Decimal("0.004")
    assert pick.cost_per_request_usd == Decimal("0.001")
    assert pick.saving_per_request_usd == Decimal("0.003")
    assert pick.saving_share == Decimal("0.75")
    assert pick.saving_per_day_usd == Decimal("0.300")  # 100/day x $0.003
    assert (pick.calls, pick.failures, pick.recovered) == (600, {}, RECOVERED)
    assert pick.ceiling_rpm is not None
    assert found.baseline.ceiling_rpm is not None
    ratio = f"{float(pick.ceiling_rpm / found.baseline.ceiling_rpm):.1f}".removesuffix(".0")
    assert sentence(found) == (
        "move lane legacy from gpt-5.2 to gpt-5.4-mini at effort low: no worse than the "
        "baseline by more than 2 points (one-sided 95%, Holm-adjusted), 75% cheaper per "
        f"request, ceiling {ratio}x, saving $0.30/day at 100 requests/day (the last 7 days)"
    )
    assert "default plan's first step" in (found.plan or "")
    value = recommendation_value(found)
    assert value["pick"] == MINI.label
    assert value["candidates"][1]["saving_per_day_usd"] == "0.300"
    orjson.dumps(value)  # JSON as it is


@pytest.mark.parametrize("traffic", [None, LaneTraffic("legacy", 0, 7)])
def test_without_traffic_the_saving_per_day_is_unknown(
    tmp_path: Path, traffic: LaneTraffic | None
) -> None:
    # No ledger, or a ledger whose window holds no request of the lane: nothing to scale by.
    found = _recommend(decided_run(tmp_path, (MINI,)), traffic=traffic)
    assert found.pick is not None
    assert found.pick.saving_per_day_usd is None
    assert "saving $" not in sentence(found)
    assert "/day" not in sentence(found)
    assert sum("saving per day is unknown" in note for note in found.notes) == 1


def test_when_nothing_qualifies_it_says_why_and_how_many_more_lines(tmp_path: Path) -> None:
    found = _recommend(decided_run(tmp_path, (NANO, NOISY, UNPRICED)))
    verdicts = {option.label: option.verdict for option in found.options}
    assert verdicts == {
        NANO.label: "worse",
        NOISY.label: "inconclusive",
        UNPRICED.label: "non-inferior",
    }
    assert found.pick is None
    text = recommendation_text(found)
    assert text.splitlines()[0] == (
        "keep lane legacy on gpt-5.2: no candidate that qualifies is cheaper than the baseline "
        f"({UNPRICED.label}: cost unknown, never picked)"
    )
    assert f"  {NANO.label}: worse (lower bound" in text
    assert found.settle is not None
    assert found.settle.label == NOISY.label
    more = found.settle.more_lines
    assert more is not None
    assert more.lines is not None
    assert more.toward == "non-inferior"
    assert f"about {more.lines:,} more line(s) would likely settle {NOISY.label}" in text
    assert "gpt-5.2 earns its keep" in text


def test_when_no_candidate_qualifies_each_verdict_is_given(tmp_path: Path) -> None:
    found = _recommend(decided_run(tmp_path, (NANO, NOISY)))
    assert found.pick is None
    assert found.reason == (
        f"no candidate is non-inferior or better ({NANO.label} worse; {NOISY.label} inconclusive)"
    )


def test_a_run_of_captured_lines_from_one_lane_is_that_lanes(tmp_path: Path) -> None:
    run = decided_run(tmp_path, (MINI,), lane=None)
    assert _recommend(run).lane.lane is None
    lines = run.file(WORKLOAD).read_bytes().splitlines()
    captured = [orjson.loads(raw) | {"laneway": {"lane": "coding"}} for raw in lines]
    run.file(WORKLOAD).write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in captured))
    found = _recommend(run)
    assert (found.lane.lane, found.lane.source) == ("coding", "capture")
    assert sentence(found).startswith("move lane coding from gpt-5.2 to gpt-5.4-mini")


def test_lane_traffic_counts_only_clients_requests_to_the_lane() -> None:
    def record(n: int, **fields: object) -> LedgerRecord:
        values: dict[str, object] = {"status": "ok", "lane": "legacy", **fields}
        return LedgerRecord(f"r{n}", 1000.0, "k", "responses", "gpt-5.2", False, **values)  # type: ignore[arg-type]

    records = [
        record(1),
        record(2, status="error"),  # it reached the upstream: traffic
        record(3, run_id="run_x"),  # a replay run's
        record(4, shadow=True),
        record(5, status="refused"),  # laneway answered it without a call
        record(6, lane="coding"),
        record(7, lane=None),
    ]
    found = lane_traffic(records, "legacy", 2)
    assert (found.requests, found.per_day) == (2, Decimal(1))


def test_a_better_cell_is_said_to_be_better(tmp_path: Path) -> None:
    found = _recommend(decided_run(tmp_path, (AHEAD,)))
    assert found.pick is not None
    assert found.pick.verdict == "better"
    assert sentence(found).startswith(
        "move lane legacy from gpt-5.2 to gpt-5.4 at effort medium: better than the baseline "
        "(one-sided 95%, Holm-adjusted), 50% cheaper per request, ceiling "
    )
    assert found.plan == (
        "the default plan: high-volume lanes to gpt-5.4-mini, the frontier lane to gpt-5.4"
    )


def test_an_unknown_baseline_cost_recommends_nothing(tmp_path: Path) -> None:
    run = decided_run(tmp_path, (MINI,))
    rows = run.file("results.jsonl").read_bytes().splitlines(keepends=True)
    unpriced = [raw.replace(b'"cost_usd":"0.004"', b'"cost_usd":null') for raw in rows]
    assert unpriced != rows
    run.file("results.jsonl").write_bytes(b"".join(unpriced))
    found = _recommend(run)
    assert found.pick is None
    assert found.reason == "the baseline's cost per request is unknown: no saving can be shown"
    assert found.options[0].saving_per_request_usd is None
