"""The `--config` option every command that reads the gateway's config shares, and the one way
those commands reach what the config names (`laneway.assembly`)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from laneway.assembly import Assembly
from laneway.cli.output import warn
from laneway.config import GatewayConfig

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    envvar="LANEWAY_CONFIG",
    help="The gateway's config file (TOML) [env LANEWAY_CONFIG].",
)


def assembly_of(config: GatewayConfig | Path | None) -> Assembly:
    """The parts a command reaches, from the config (or its file) and this environment."""
    if not isinstance(config, GatewayConfig):
        config = GatewayConfig.load(config)
    return Assembly(config, os.environ, warn=warn)
