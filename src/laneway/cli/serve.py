"""`laneway serve`: the gateway, until stopped."""

from __future__ import annotations

import os
from pathlib import Path

import click

from laneway.cli.config_option import config_option
from laneway.cli.errors import CliError, JsonLinesError
from laneway.config import GatewayConfig
from laneway.errors import LanewayError
from laneway.server.log_level import DEFAULT, FORMATS, LEVELS, configure_logging
from laneway.server.run import serve_forever
from laneway.telemetry.json_log import json_announce


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on [config: 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="[config: 4141]")
@config_option
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="[config: 1]")
@click.option(
    "--log-level",
    type=click.Choice(LEVELS),
    default=DEFAULT,
    show_default=True,
    help="info logs one line per request (id, status, lane, model, latency, cost).",
)
@click.option(
    "--log-format",
    type=click.Choice(FORMATS),
    default=None,
    help="json: every line on stderr one JSON object (docs/tracing.md) [config: text].",
)
def serve_command(
    host: str | None,
    port: int | None,
    config_path: Path | None,
    workers: int | None,
    log_level: str,
    log_format: str | None,
) -> None:
    """Serve the OpenAI-compatible gateway: POST /v1/responses, /v1/chat/completions,
    GET /v1/models, /healthz, /readyz. With no provider configured and no OPENAI_API_KEY it
    answers from the built-in emulator."""
    try:
        config = _config(config_path, host, port, workers, log_format)
    except LanewayError as exc:  # a CliError too
        raise _reported(exc, log_format == "json") from None
    json = config.server.log_format == "json"
    configure_logging(log_level, config.server.log_format)

    def announce(line: str) -> None:
        click.echo(json_announce(line) if json else line, err=True)

    try:
        serve_forever(config, os.environ, announce, log_level)
    except OSError as exc:
        where = f"{config.server.host}:{config.server.port}"
        raise _reported(CliError(f"cannot listen on {where}: {exc.strerror}"), json) from exc
    except LanewayError as exc:
        raise _reported(exc, json) from None


def _config(
    config_path: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    log_format: str | None,
) -> GatewayConfig:
    """The config file's, with the command line's choices over it."""
    config = GatewayConfig.load(config_path)
    overrides = {
        name: value
        for name, value in (
            ("host", host),
            ("port", port),
            ("workers", workers),
            ("log_format", log_format),
        )
        if value is not None
    }
    if not overrides:
        return config
    server = config.server.model_copy(update=overrides)
    return config.model_copy(update={"server": server})


def _reported(error: LanewayError, json: bool) -> LanewayError:
    """In JSON mode the error is one more JSON line (the first ones, when the config cannot
    be read, only with --log-format json: the config's choice is not known then)."""
    return JsonLinesError(str(error)) if json else error
