"""The per-cell summary, checked figure by figure against rows built by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from laneway.replay.graders import Grade
from laneway.replay.rows import RowUsage
from laneway.replay.run_dir import RunDir, RunDirError
from laneway.replay.summary import AGREEMENT_NOTE, EMULATED_NOTE, summarise
from laneway.wire.features import exact_input_tokens
from tests.replay.built_runs import BASELINE, CANDIDATE, build_run, line, row

EXACT = {"exact": "4"}
PASS = Grade("exact", 1.0, "4", "exactly '4'?")
MISS = Grade("exact", 0.0, "5", "exactly '4'?")
BROKEN = Grade("regex", None, "", "could not grade", "regex '(' does not compile")


def _graded_run(path: Path) -> None:
    lines = [line(f"q{n}", EXACT) for n in range(1, 5)]
    rows = [
        *(row(BASELINE, f"q{n}", cost="0.01", grades=[PASS]) for n in range(1, 5)),
        row(CANDIDATE, "q1", cost="0.001", latency_ms=100, grades=[PASS]),
        row(CANDIDATE, "q2", cost="0.002", latency_ms=200, attempts=3, grades=[MISS]),
        row(CANDIDATE, "q3", "error", attempts=2, error_kind="rate_limit", latency_ms=50),
        row(CANDIDATE, "q4", cost="0.003", latency_ms=400, grades=[PASS, BROKEN]),
    ]
    build_run(path, lines, rows)


def test_a_cells_calls_failures_and_retries(tmp_path: Path) -> None:
    _graded_run(tmp_path)
    cell = summarise(RunDir(tmp_path)).cells[1]
    assert (cell.label, cell.planned, cell.calls, cell.ok) == ("gpt-5.4-mini@low", 4, 4, 3)
    assert cell.failures == {"rate_limit": 1}
    assert (cell.recovered, cell.retries) == (1, 3)  # q2 took 3 attempts, q3 2


def test_costs_are_exact_per_request_per_thousand_and_per_passing_answer(tmp_path: Path) -> None:
    _graded_run(tmp_path)
    summary = summarise(RunDir(tmp_path))
    cost = summary.cells[1].cost
    assert cost.total_usd == Decimal("0.006")
    assert cost.per_request_usd == Decimal("0.0015")  # the failed call is a call too
    assert cost.per_1k_usd == Decimal("1.5")
    assert cost.per_pass_usd == Decimal("0.006")  # one passing answer (q1)
    assert summary.spent_usd == Decimal("0.046")
    assert summary.baseline.cost.per_pass_usd == Decimal("0.01")


def test_a_grader_error_is_counted_apart_never_as_zero(tmp_path: Path) -> None:
    _graded_run(tmp_path)
    summary = summarise(RunDir(tmp_path))
    quality = summary.cells[1].quality
    assert quality.kind == "expectations"
    assert (quality.graded, quality.grader_errors, quality.passing) == (2, 1, 1)
    assert quality.mean == 0.5  # q1 1.0 and q2 0.0; q4 is neither
    by_name = {g.grader: g for g in quality.graders}
    assert by_name["exact"].mean == pytest.approx(2 / 3)
    assert by_name["exact"].graded == 3
    assert (by_name["regex"].graded, by_name["regex"].errors) == (0, 1)
    assert any("1 answer(s) a grader could not grade" in note for note in summary.notes)


def test_latency_percentiles_over_answered_calls(tmp_path: Path) -> None:
    _graded_run(tmp_path)
    latency = summarise(RunDir(tmp_path)).cells[1].latency
    # [100, 200, 400], linear between ranks; the failed call's 50 ms is not an answer's.
    assert latency.p50_ms == 200.0
    assert latency.p95_ms == pytest.approx(380.0)
    assert latency.p99_ms == pytest.approx(396.0)
    assert (latency.streamed, latency.ttft_p50_ms, latency.ttft_p95_ms) == (0, None, None)


def test_time_to_first_token_counts_streamed_lines_only(tmp_path: Path) -> None:
    lines = [line("s1", stream=True), line("s2", stream=True), line("n1")]
    rows = [
        row(BASELINE, "s1", ttfb_ms=40.0),
        row(BASELINE, "s2", ttfb_ms=60.0),
        row(BASELINE, "n1", ttfb_ms=500.0),  # a whole answer's first byte is no token
    ]
    build_run(tmp_path, lines, rows, cells=[BASELINE])
    latency = summarise(RunDir(tmp_path)).cells[0].latency
    assert (latency.streamed, latency.ttft_p50_ms, latency.ttft_p95_ms) == (2, 50.0, 59.0)


def test_partial_credit_shows_in_the_mean_but_is_not_a_pass(tmp_path: Path) -> None:
    half = Grade("json_fields", 0.5, "{}", "unequal: b")
    build_run(
        tmp_path,
        [line("j1", {"json_fields": {"a": 1, "b": 2}})],
        [row(BASELINE, "j1", cost="0.01", grades=[half])],
        cells=[BASELINE],
    )
    cell = summarise(RunDir(tmp_path)).cells[0]
    assert (cell.quality.mean, cell.quality.passing) == (0.5, 0)
    assert cell.cost.per_pass_usd is None  # no passing answer: no such figure


def test_an_unknown_cost_makes_the_per_request_figures_unknown(tmp_path: Path) -> None:
    build_run(
        tmp_path,
        [line("q1", EXACT), line("q2", EXACT), line("q3", EXACT)],
        [
            row(BASELINE, "q1", cost="0.01", grades=[PASS]),
            row(BASELINE, "q2", cost=None, grades=[PASS]),  # answered, priced unknown
            row(BASELINE, "q3", "refused", cost=None, attempts=0, error_kind="spend_cap"),
        ],
        cells=[BASELINE],
    )
    summary = summarise(RunDir(tmp_path))
    cost = summary.cells[0].cost
    assert (cost.total_usd, cost.unknown) == (Decimal("0.01"), 1)  # q3 was never sent
    assert (cost.per_request_usd, cost.per_1k_usd, cost.per_pass_usd) == (None, None, None)
    assert summary.unknown_costs == 1
    assert any("1 call(s) of unknown cost" in note for note in summary.notes)


def test_without_expectations_quality_is_agreement_with_the_baseline(tmp_path: Path) -> None:
    lines = [line("a1"), line("a2"), line("a3")]
    rows = [  # the candidate's rows come first: the baseline's are read in a pass of their own
        row(CANDIDATE, "a1", text="Paris is the capital"),
        row(CANDIDATE, "a2", text="nothing alike"),
        row(CANDIDATE, "a3", text="anything"),
        row(BASELINE, "a1", text="the capital is Paris"),
        row(BASELINE, "a2", text="Berlin"),
        row(BASELINE, "a3", "error", error_kind="server_error"),
    ]
    build_run(tmp_path, lines, rows)
    summary = summarise(RunDir(tmp_path))
    assert summary.quality_kind == "agreement"
    assert AGREEMENT_NOTE in summary.notes
    candidate = summary.cells[1].quality
    assert (candidate.graded, candidate.ungraded, candidate.passing) == (2, 1, 1)
    assert candidate.mean == 0.5  # a1 agrees in full (same words), a2 not at all
    assert [g.grader for g in candidate.graders] == ["agreement"]
    baseline = summary.baseline.quality
    assert (baseline.mean, baseline.passing) == (1.0, 2)


def test_a_python_grader_means_expectations_without_expect_keys(tmp_path: Path) -> None:
    graded = Grade("graders:mine", 1.0, "x", "fine")
    build_run(
        tmp_path,
        [line("p1")],
        [row(BASELINE, "p1", grades=[graded])],
        cells=[BASELINE],
        graders=["graders:mine"],
    )
    summary = summarise(RunDir(tmp_path))
    assert summary.quality_kind == "expectations"
    assert AGREEMENT_NOTE not in summary.notes
    assert summary.cells[0].quality.graders[0].grader == "graders:mine"


def test_tokens_by_kind_in_total_and_per_request(tmp_path: Path) -> None:
    build_run(
        tmp_path,
        [line("t1"), line("t2")],
        [
            row(BASELINE, "t1", usage=RowUsage(100, 40, 30, 10)),
            row(BASELINE, "t2", usage=RowUsage(300, 0, 50, 20)),
        ],
        cells=[BASELINE],
    )
    tokens = summarise(RunDir(tmp_path)).cells[0].tokens
    assert tokens.totals == {
        "input": 400,
        "cached": 40,
        "uncached": 360,
        "output": 80,
        "reasoning": 30,
    }
    assert (tokens.requests, tokens.per_request("uncached")) == (2, 180.0)


def test_the_ceiling_counts_input_plus_the_requested_cap(tmp_path: Path) -> None:
    capped = line("c1", max_output_tokens=999)
    uncapped = line("c2")  # no cap: the model's own maximum output (128,000) is counted
    build_run(tmp_path, [capped, uncapped], [], tier="tier-1")
    summary = summarise(RunDir(tmp_path))
    inputs = [exact_input_tokens("responses", x["body"]) for x in (capped, uncapped)]
    mix = Decimal(inputs[0] + 999 + inputs[1] + 128_000) / 2
    baseline = summary.baseline.throughput  # gpt-5.2 at tier-1: 500 RPM, 500,000 TPM
    assert (baseline.tier, baseline.bound_by, baseline.tokens_per_request) == (
        "tier-1",
        "tpm",
        mix,
    )
    assert baseline.ceiling_rpm == int(500_000 / mix)
    # gpt-5.4-mini's tier-1 limits are not in the catalog: unknown, never unlimited.
    candidate = summary.cells[1].throughput
    assert (candidate.ceiling_rpm, candidate.bound_by) == (None, "unknown")


def test_no_tier_means_no_ceiling(tmp_path: Path) -> None:
    build_run(tmp_path, [line("c1")], [], tier=None)
    summary = summarise(RunDir(tmp_path))
    assert summary.baseline.throughput.ceiling_rpm is None
    assert "no usage tier: throughput ceilings are unknown" in summary.notes


def test_achieved_throughput_is_the_cells_rows_over_its_own_span(tmp_path: Path) -> None:
    build_run(
        tmp_path,
        [line("r1"), line("r2"), line("r3")],
        [
            row(BASELINE, "r1", started_at=1000.0, latency_ms=500),
            row(BASELINE, "r2", started_at=1010.0, latency_ms=500),
            row(BASELINE, "r3", started_at=1030.0, latency_ms=30_000),  # ends at 1060
        ],
        cells=[BASELINE],
    )
    throughput = summarise(RunDir(tmp_path)).cells[0].throughput
    assert throughput.span_s == 60.0
    assert throughput.achieved_rpm == 3.0


def test_calls_restarted_after_a_stop_are_counted_from_started(tmp_path: Path) -> None:
    key = (BASELINE.label, "s1", 0)
    build_run(
        tmp_path,
        [line("s1"), line("s2")],
        [row(BASELINE, "s1")],
        cells=[BASELINE],
        started=[key, (BASELINE.label, "s2", 0), key],  # s1 in flight at a stop, sent again
    )
    summary = summarise(RunDir(tmp_path))
    assert (summary.repeated, summary.unfinished, summary.completed) == (1, 1, 1)
    assert "1 call(s) in flight when the run stopped were made again" in summary.notes
    assert summary.resumed_from is None  # only a live run knows


def test_the_emulator_is_named_and_a_real_upstream_is_not(tmp_path: Path) -> None:
    build_run(tmp_path / "e", [line("x")], [], cells=[BASELINE])
    build_run(tmp_path / "o", [line("x")], [], cells=[BASELINE], upstream="openai")
    emulated = summarise(RunDir(tmp_path / "e"))
    real = summarise(RunDir(tmp_path / "o"))
    assert (emulated.emulated, EMULATED_NOTE in emulated.notes) == (True, True)
    assert (real.emulated, EMULATED_NOTE in real.notes) == (False, False)


def test_a_row_of_a_cell_the_manifest_lacks_is_refused(tmp_path: Path) -> None:
    build_run(tmp_path, [line("x")], [row(CANDIDATE, "x")], cells=[BASELINE])
    with pytest.raises(RunDirError, match=r"gpt-5\.4-mini@low"):
        summarise(RunDir(tmp_path))
