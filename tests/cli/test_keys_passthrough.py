"""`laneway keys create --passthrough` and `laneway keys update`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Run, assert_one_line_error
from tests.cli.test_keys_command import isolated, postgres_config, sqlite_config

__all__ = ["isolated", "postgres_config", "sqlite_config"]  # fixtures, used by name


def listed(run: Run, config: str) -> dict[str, bool]:
    rows = json.loads(run("keys", "list", "--config", config, "--json").out)
    return {row["name"]: row["passthrough"] for row in rows}


@pytest.mark.parametrize("store", ["sqlite_config", "postgres_config"])
def test_the_grant_is_set_at_creation_and_changed_by_update(
    run: Run, store: str, request: pytest.FixtureRequest
) -> None:
    config = request.getfixturevalue(store)
    assert run("keys", "create", "--config", config, "--name", "a", "--passthrough").code == 0
    assert run("keys", "create", "--config", config, "--name", "b").code == 0
    assert listed(run, config) == {"a": True, "b": False}
    withdrawn = run("keys", "update", "--config", config, "a", "--no-passthrough")
    assert withdrawn.code == 0, withdrawn.err
    assert "withdrawn" in withdrawn.out
    assert run("keys", "update", "--config", config, "b", "--passthrough").code == 0
    assert listed(run, config) == {"a": False, "b": True}


def test_a_limited_key_is_never_granted(run: Run, sqlite_config: str) -> None:
    for limit in (["--lanes", "coding"], ["--models", "gpt-5.4"], ["--budget", "5/day"]):
        result = run(
            "keys", "create", "--config", sqlite_config, "--name", "x", "--passthrough", *limit
        )
        assert_one_line_error(result, "passthrough:", "without lanes, models, budgets")
    assert run("keys", "create", "--config", sqlite_config, "--name", "c", "--rpm", "5").code == 0
    assert_one_line_error(
        run("keys", "update", "--config", sqlite_config, "c", "--passthrough"), "passthrough:"
    )
    assert_one_line_error(run("keys", "update", "--config", sqlite_config, "c"), "nothing to")
    assert listed(run, sqlite_config) == {"c": False}
