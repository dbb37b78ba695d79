"""The `laneway` command in-process (tests/cli/conftest.py)."""

from tests.cli.conftest import run

__all__ = ["run"]
