from decimal import Decimal

import pytest

from laneway.replay.graders import Grade
from laneway.replay.rows import ResultRow, RowUsage
from laneway.wire.answers import AnswerView, ToolCall


def test_a_row_reads_back_as_it_was_written_with_money_as_exact_text() -> None:
    row = ResultRow(
        "gpt-5.4-mini@low",
        "q-1",
        2,
        "ok",
        1_700_000_000.5,
        record_id="req_1",
        usage=RowUsage(100, 20, 30, 10),
        cost_usd=Decimal("0.0000123456789"),
        output=AnswerView("42", (ToolCall("add", '{"a": 1}'),)),
        grades=(Grade("exact", 1.0, "42", "equal"), Grade("regex", None, "42", "x", "bad")),
    )
    line = row.to_json()
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert b'"cost_usd":"0.0000123456789"' in line
    assert ResultRow.from_json(line) == row
    assert row.key == ("gpt-5.4-mini@low", "q-1", 2)


def test_an_unknown_cost_stays_unknown() -> None:
    row = ResultRow("m", "q", 0, "error", 0.0, error_kind="server_error", error="boom")
    back = ResultRow.from_json(row.to_json())
    assert back.cost_usd is None
    assert back.usage is None
    assert back.output is None
    assert back == row


def test_a_line_that_is_not_a_row_is_refused() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        ResultRow.from_json(b"[1, 2]")
