"""The `laneway` entry point: the click group and the one place errors become exit statuses."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from laneway.cli.cost import cost_command
from laneway.cli.emulate import emulate_command
from laneway.cli.errors import EXIT_USAGE, CliError, JsonLinesError
from laneway.cli.keys import keys_command
from laneway.cli.lanes import lanes_command
from laneway.cli.migrate import migrate_command
from laneway.cli.models import models_command
from laneway.cli.reconcile import reconcile_command
from laneway.cli.replay import replay_command
from laneway.cli.route import route_command
from laneway.cli.serve import serve_command
from laneway.cli.tokens import tokens_command
from laneway.cli.tune_effort import tune_effort_command
from laneway.cli.usage import usage_command
from laneway.cli.workload import workload_command
from laneway.errors import LanewayError
from laneway.telemetry.json_log import json_error


@click.group(
    name="laneway",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="laneway")
def cli() -> None:
    """laneway: an OpenAI-compatible LLM gateway with lanes, exact cost and budgets."""


cli.add_command(cost_command)
cli.add_command(emulate_command)
cli.add_command(keys_command)
cli.add_command(lanes_command)
cli.add_command(migrate_command)
cli.add_command(models_command)
cli.add_command(reconcile_command)
cli.add_command(replay_command)
cli.add_command(route_command)
cli.add_command(serve_command)
cli.add_command(tokens_command)
cli.add_command(tune_effort_command)
cli.add_command(usage_command)
cli.add_command(workload_command)


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
