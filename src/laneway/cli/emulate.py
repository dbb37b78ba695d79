"""`laneway emulate`: the OpenAI API emulator on its own, until stopped."""

from __future__ import annotations

from pathlib import Path

import click

from laneway.cli.catalog_option import catalog_option, load_catalog
from laneway.cli.errors import CliError
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import serve_forever
from laneway.pricing.model_spec import TIERS


@click.command("emulate")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4142, show_default=True, type=click.IntRange(0, 65535))
@click.option("--seed", type=int, default=None, help="Seed for answers and faults [config: 0].")
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=None,
    help="Latency scale: 1 real time, 0 instant [config: 1].",
)
@click.option(
    "--tier",
    type=click.Choice([*TIERS, "none"]),
    default=None,
    help="Usage tier whose published limits are enforced; 'none' enforces none [config: tier-5].",
)
@click.option(
    "--abandoned-billing",
    type=click.Choice(["generated", "none"]),
    default=None,
    help="How a hang or a cut stream is billed: what was generated up to then, or nothing "
    "[config: generated].",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="An emulator config file (TOML): limits, keys, latency, faults.",
)
@catalog_option
def emulate_command(
    host: str,
    port: int,
    seed: int | None,
    speed: float | None,
    tier: str | None,
    abandoned_billing: str | None,
    config_path: Path | None,
    catalog_path: Path | None,
) -> None:
    """Serve an emulator of the OpenAI API (any 'sk-' key is accepted) until stopped."""
    config = EmulatorConfig.load(config_path) if config_path else EmulatorConfig()
    overrides = {
        name: value
        for name, value in (
            ("seed", seed),
            ("speed", speed),
            ("tier", tier),
            ("abandoned_billing", abandoned_billing),
        )
        if value is not None
    }
    if overrides:
        config = EmulatorConfig.model_validate({**config.model_dump(), **overrides})
    catalog = load_catalog(catalog_path)

    def announce(url: str) -> None:
        click.echo(
            f"laneway emulator on {url} (seed {config.seed}, speed {config.speed:g}, "
            f"tier {config.tier}, abandoned calls billed: {config.abandoned_billing}); "
            "any 'sk-' key; Ctrl-C stops it",
            err=True,
        )

    try:
        serve_forever(config, catalog, host, port, on_ready=announce)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
