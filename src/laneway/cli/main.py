"""The `laneway` entry point: the click group and the one place errors become exit statuses."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from laneway.cli.errors import EXIT_USAGE, CliError, JsonLinesError
from laneway.errors import LanewayError
from laneway.telemetry.json_log import json_error

# Each command's module, imported only when that command runs (or --help lists them all): a
# `laneway serve` process then never loads replay's numpy, scipy and jinja2 (~70 MB of RSS).
COMMANDS = {
    "cost": "laneway.cli.cost:cost_command",
    "emulate": "laneway.cli.emulate:emulate_command",
    "keys": "laneway.cli.keys:keys_command",
    "lanes": "laneway.cli.lanes:lanes_command",
    "migrate": "laneway.cli.migrate:migrate_command",
    "models": "laneway.cli.models:models_command",
    "reconcile": "laneway.cli.reconcile:reconcile_command",
    "replay": "laneway.cli.replay:replay_command",
    "route": "laneway.cli.route:route_command",
    "serve": "laneway.cli.serve:serve_command",
    "tokens": "laneway.cli.tokens:tokens_command",
    "tune-effort": "laneway.cli.tune_effort:tune_effort_command",
    "usage": "laneway.cli.usage:usage_command",
    "workload": "laneway.cli.workload:workload_command",
}


class LazyGroup(click.Group):
    """click's group, its commands imported by name on first use (click's documented pattern
    for lazily loaded subcommands)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, _, name = where.partition(":")
        command: click.Command = getattr(importlib.import_module(module), name)
        return command


@click.group(
    cls=LazyGroup,
    name="laneway",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="laneway")
def cli() -> None:
    """laneway: an OpenAI-compatible LLM gateway with lanes, exact cost and budgets."""


def _fail(message: str, *, json: bool = False) -> int:
    # One line a person can act on per problem (a config file may have several); never a
    # traceback for something the user can fix.
    for line in message.split("\n"):
        if line.strip():
            text = " ".join(line.split())
            sys.stderr.write(json_error(text) + "\n" if json else f"laneway: error: {text}\n")
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(
            args=list(argv) if argv is not None else sys.argv[1:],
            prog_name="laneway",
            standalone_mode=False,
        )
    except click.exceptions.NoArgsIsHelpError as exc:
        # Bare `laneway`: show the help, as people expect, but still exit as a usage error.
        sys.stderr.write((exc.ctx.get_help() if exc.ctx else "") + "\n")
        return EXIT_USAGE
    except click.ClickException as exc:
        return _fail(exc.format_message())
    except click.Abort:
        return _fail("aborted")
    except (CliError, LanewayError) as exc:
        return _fail(str(exc), json=isinstance(exc, JsonLinesError))
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
