"""`laneway serve`'s log handler: INFO lines written in batches, yet every line written, in
order; a WARNING or worse (and what waited before it) at once; no line lost at a flush; and the
text the same as logging's own Formatter gives. Real handlers on a real event loop, no clock:
the timer is set far off (or to 0) so nothing here depends on speed."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from decimal import Decimal

import pytest

from laneway.pricing.money import usd_str
from laneway.server.log_lines import FORMAT, LineBuffer, LineFormatter

NEVER = 3600.0  # a timer that cannot fire during a test


def logger_to(handler: logging.Handler, name: str) -> logging.Logger:
    log = logging.getLogger(f"laneway.test_log_lines.{name}")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return log


def test_info_lines_wait_and_a_warning_writes_them_first_at_once() -> None:
    stream = io.StringIO()
    log = logger_to(LineBuffer(stream, flush_s=NEVER), "warning")

    async def main() -> list[str]:
        seen = []
        for n in range(3):
            log.info("req %d", n)
            seen.append(stream.getvalue())
        log.error("upstream down")
        seen.append(stream.getvalue())
        return seen

    waited = asyncio.run(main())
    assert waited[:3] == ["", "", ""]  # buffered while the loop runs
    name = log.name
    assert waited[3].splitlines() == [
        f"laneway: INFO {name}: req 0",
        f"laneway: INFO {name}: req 1",
        f"laneway: INFO {name}: req 2",
        f"laneway: ERROR {name}: upstream down",
    ]


def test_lines_are_written_by_the_loop_timer_and_at_lines_max() -> None:
    stream = io.StringIO()
    log = logger_to(LineBuffer(stream, flush_s=0), "timer")
    full = io.StringIO()
    capped = logger_to(LineBuffer(full, flush_s=NEVER, lines_max=3), "capped")

    async def main() -> None:
        log.info("one")
        assert stream.getvalue() == ""
        for _ in range(1000):  # a guard: the timer (due now) runs within a tick or two
            await asyncio.sleep(0)
            if stream.getvalue():
                break
        capped.info("a")
        capped.info("b")
        assert full.getvalue() == ""
        capped.info("c")

    asyncio.run(main())
    assert stream.getvalue() == f"laneway: INFO {log.name}: one\n"
    assert [line.rsplit(" ", 1)[1] for line in full.getvalue().splitlines()] == ["a", "b", "c"]


def test_flush_writes_every_waiting_line_in_order_after_the_loop_is_gone() -> None:
    stream = io.StringIO()
    handler = LineBuffer(stream, flush_s=NEVER)
    log = logger_to(handler, "flush")

    async def main() -> None:
        for n in range(200):  # past lines_max: some written in batches, the rest waiting
            log.info(f"req {n}")

    asyncio.run(main())
    assert len(stream.getvalue().splitlines()) < 200
    handler.flush()
    lines = stream.getvalue().splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines] == [str(n) for n in range(200)]
    log.info("no loop")  # with no loop running, a line is written at once
    assert stream.getvalue().endswith(f"laneway: INFO {log.name}: no loop\n")


@pytest.mark.parametrize(
    "record",
    [
        logging.LogRecord("laneway.x", logging.INFO, "f.py", 1, "plain", None, None),
        logging.LogRecord("laneway.x", logging.WARNING, "f.py", 1, "%s and %d", ("a", 2), None),
        logging.LogRecord("laneway.x", logging.INFO, "f.py", 1, 42, None, None),
    ],
)
def test_the_formatter_writes_what_logging_formatter_writes(record: logging.LogRecord) -> None:
    assert LineFormatter().format(record) == logging.Formatter(FORMAT).format(record)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert LineFormatter().format(record) == logging.Formatter(FORMAT).format(record)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0.000231000000", "0.000231"),
        ("0.000000175000", "0.000000175"),  # str() would say 1.75000E-7
        ("0E-12", "0"),
        ("-0.000000", "0"),
        ("1E+1", "10"),
        ("10", "10"),
        ("12.500", "12.5"),
    ],
)
def test_usd_str_is_plain_decimal_text(amount: str, text: str) -> None:
    assert usd_str(Decimal(amount)) == text
