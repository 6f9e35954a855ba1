"""``gfwizard`` / ``gfwizard wizard``: the full-screen wizard on the real machine."""

from __future__ import annotations

from pathlib import Path

import click

from gfwizard.commands._common import config_option, handles_errors, resolve_config_path

STEP_CHOICES = ("preflight", "kubeconfig", "validate", "backend", "config", "deploy", "done")


@click.command()
@config_option
@click.option("--step", "start_at", type=click.Choice(STEP_CHOICES), default="preflight",
              help="Start at this step (later steps still check what they need).")
@handles_errors
def wizard(config_path: Path | None, start_at: str) -> None:
    """Walk through kubeconfig, validation, backend, config and deploy, one step at a time."""
    from screens.launch import run_wizard  # the UI loads only here

    run_wizard(start_at=start_at, config_path=resolve_config_path(config_path))
