"""The browser harness itself: it must see what the report tests rely on it to see."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.browser.conftest import Loaded


def test_a_quiet_page_has_no_problems(open_page: Callable[[Path], Loaded], tmp_path: Path) -> None:
    page = tmp_path / "quiet.html"
    page.write_text(
        '<!doctype html><title>q</title><svg width=9 height=9><rect width="5" height="5"/></svg>'
    )
    loaded = open_page(page)
    assert loaded.problems == []
    assert loaded.page.locator("svg rect").count() == 1


def test_script_errors_and_outside_requests_are_problems(
    open_page: Callable[[Path], Loaded], tmp_path: Path
) -> None:
    page = tmp_path / "noisy.html"
    page.write_text(
        "<!doctype html><title>n</title>"
        "<script>console.error('boom'); undefinedName();</script>"
        '<img src="http://127.0.0.1:9/x.png">'
    )
    problems = open_page(page).problems
    assert any("console error: boom" in p for p in problems), problems
    assert any(p.startswith("page error:") and "undefinedName" in p for p in problems), problems
    assert any(p == "request: http://127.0.0.1:9/x.png" for p in problems), problems
