"""`run` (the `laneway` command in-process) for the upgrade tests, as in tests/cli."""

from tests.cli.conftest import run

__all__ = ["run"]
