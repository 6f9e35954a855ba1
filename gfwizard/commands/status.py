"""``gfwizard status``: the read-only incident view (live TUI, or one snapshot with ``--once``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from gfwizard.commands._common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    FiniteFloatRange,
    config_option,
    echo,
    emit_json,
    handles_errors,
    report_width,
    require_terminal,
    resolve_config_path,
)


@click.command()
@click.option("--once", is_flag=True, help="Print one snapshot and exit (1 when anything is unhealthy).")
@click.option("--json", "as_json", is_flag=True, help="Print the --once snapshot as JSON (needs --once).")
@config_option
@click.option("--env", "env", default=None, metavar="E", help="Show only environment E (default: all).")
@click.option("--lock-age-threshold", "lock_age", type=FiniteFloatRange(min=0, min_open=True), default=30.0,
              show_default=True, metavar="MIN", help="Minutes after which a held state lock counts as old.")
@click.option("--refresh", "refresh", type=FiniteFloatRange(min=0.5, max=3600), default=2.0, show_default=True,
              metavar="SECONDS", help="Live view only (refused with --once): seconds between API probes and age "
                                       "updates.")
@handles_errors
def status(once: bool, as_json: bool, config_path: Path | None, env: str | None, lock_age: float,
           refresh: float) -> None:
    """Read-only status of cluster, stacks, state locks and recent deploys. Never changes anything."""
    from gfwizard.status import StatusOptions, collect_once, load_status_config, resolve_envs

    if as_json and not once:
        raise click.UsageError("--json prints one snapshot: use it with --once")
    if once and click.get_current_context().get_parameter_source("refresh") is not ParameterSource.DEFAULT:
        from gfwizard.errors import InputError

        # Taking it silently would read as "probing every N seconds" while one snapshot is printed.
        raise InputError("--refresh works with the live view only: --once prints one snapshot and exits; nothing "
                         "was probed",
                         "drop --refresh for one snapshot (`gfwizard status --once`), or drop --once for the live "
                         "view (`gfwizard status --refresh SECONDS`); to watch without a terminal, repeat "
                         "`gfwizard status --once` (e.g. with watch -n SECONDS)")
    path = resolve_config_path(config_path)
    cfg = load_status_config(path)
    options = StatusOptions(envs=resolve_envs(cfg, env), lock_age_threshold_minutes=lock_age,
                            refresh_seconds=refresh)
    if not once:
        require_terminal("the live status view",
                         remedy="use `gfwizard status --once` (add --json for a machine-readable snapshot)")
        from screens.status_app import run_status_app  # the UI loads only here

        run_status_app(path, options=options)
        return
    snapshot = collect_once(cfg, config_path=path, options=options)
    if as_json:
        emit_json(snapshot.to_json())
    else:
        from gfwizard.status_text import render_text

        echo(render_text(snapshot, width=report_width()))
    sys.exit(EXIT_OK if snapshot.healthy else EXIT_CHECK_FAILED)
