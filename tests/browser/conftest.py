"""A real headless browser for the HTML pages laneway writes: Debian's Chromium
(/usr/bin/chromium, installed by scripts/bootstrap dev) driven by Playwright, which is told
that path and downloads no browser of its own.

`open_page(path)` loads a file and gives a `Page` whose `problems` are every console error,
uncaught page error and request that left the file (a report must open offline).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path(os.environ.get("LANEWAY_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags, Chromium's own calls home are refused by this
# machine's closed network at every start.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Loaded:
    page: Page
    problems: list[str] = field(default_factory=list)


# Per test (a launch is ~0.5 s): while Playwright's sync API is open, its event loop runs on the
# test thread, and any asyncio.run() on it fails (a session-wide browser broke every later test
# in its xdist worker). Build what a page needs before asking for `open_page`.
@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/bootstrap dev installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[Path], Loaded]]:
    contexts = []

    def load(path: Path) -> Loaded:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        loaded = Loaded(page)
        page.on(
            "console",
            lambda m: (
                loaded.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: loaded.problems.append(f"page error: {e}"))
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(("file:", "data:", "about:"))
                else loaded.problems.append(f"request: {r.url}")
            ),
        )
        page.goto(path.resolve().as_uri(), wait_until="load")
        return loaded

    yield load
    for context in contexts:
        context.close()
