"""The installed command: help, version, and exit statuses as a shell sees them."""

from __future__ import annotations

import subprocess
import sys

import click

from laneway.cli.main import COMMANDS, cli
from tests.cli.conftest import Run


def test_bare_command_prints_help_and_exits_2(run: Run) -> None:
    result = run()
    assert result.code == 2
    assert "Commands:" in result.err
    for command in ("cost", "models", "tokens"):
        assert command in result.err


def test_help_and_version_exit_0(run: Run) -> None:
    assert run("--help").code == 0
    result = run("--version")
    assert result.code == 0
    assert "laneway" in result.out


def test_unknown_command(run: Run) -> None:
    result = run("frobnicate")
    assert result.code == 2
    assert result.err.strip() == "laneway: error: No such command 'frobnicate'."


def test_module_entry_point_exit_statuses() -> None:
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "laneway",
            "cost",
            "-m",
            "gpt-5.2",
            "--input",
            "10k",
            "--output",
            "2k",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert '"total_usd": "0.0455"' in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "laneway", "cost", "-m", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("laneway: error: unknown model 'nope'")
    assert "Traceback" not in bad.stderr


def test_every_command_is_found_under_its_own_name() -> None:
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        assert command.name == name


def test_serve_loads_none_of_replays_libraries() -> None:
    """Commands are imported on use: a `laneway serve` process never loads numpy, scipy or
    jinja2 (replay's), which would add ~70 MB to its idle memory."""
    script = (
        "import sys, click\n"
        "from laneway.cli.main import cli\n"
        "cli.get_command(click.Context(cli), 'serve')\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'jinja2') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
    control = script.replace("'serve'", "'replay'")  # the check can see them load
    done = subprocess.run(
        [sys.executable, "-c", control], capture_output=True, text=True, timeout=60, check=True
    )
    assert "numpy" in done.stdout
