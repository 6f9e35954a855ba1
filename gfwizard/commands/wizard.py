"""``gfwizard`` / ``gfwizard wizard``: the full-screen wizard on the real machine."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gfwizard.commands._common import config_option, handles_errors, require_terminal, resolve_config_path

#: What to do instead of the wizard when there is no terminal.
NO_TERMINAL_REMEDY = ("run `gfwizard wizard` in a terminal; without one, its steps are non-interactive commands: "
                      "`gfwizard doctor`, `gfwizard validate`, `gfwizard backend check --env ENV`, "
                      "`gfwizard config validate`, `gfwizard deploy --env ENV` (see `gfwizard --help`)")

STEP_CHOICES = ("preflight", "kubeconfig", "validate", "backend", "config", "deploy", "done")


@click.command()
@config_option
@click.option("--step", "start_at", type=click.Choice(STEP_CHOICES), default="preflight",
              help="Start at this step (later steps still check what they need).")
@handles_errors
def wizard(config_path: Path | None, start_at: str) -> None:
    """Walk through kubeconfig, validation, backend, config and deploy, one step at a time.

    Needs a terminal: without one it exits 2 and names the non-interactive commands instead.
    """
    require_terminal("the wizard", remedy=NO_TERMINAL_REMEDY)
    from screens.launch import run_wizard  # the UI loads only here

    sys.exit(run_wizard(start_at=start_at, config_path=resolve_config_path(config_path)))
