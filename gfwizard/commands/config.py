"""``gfwizard config init|validate|show``: create, check and read ``organization.yaml``.

Kept import-light: ``config validate`` loads pydantic and ruamel.yaml only (no Kubernetes client,
boto3 or Textual); the wizard is imported only by ``config init`` without ``--plain``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gfwizard.commands._common import (
    EXIT_CHECK_FAILED,
    EXIT_INPUT,
    EXIT_OK,
    NonEmptyPath,
    config_option,
    echo,
    emit_json,
    handles_errors,
    json_option,
    print_checks,
    remember_config,
    require_terminal,
    resolve_config_path,
)

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

#: Exit code of ``config init --plain`` when the operator presses Ctrl-C or Ctrl-D (nothing is written).
EXIT_CANCELLED = 130


@click.group(name="config")
def config() -> None:
    """organization.yaml: init, validate, show."""


@config.command("validate")
@click.argument("path", required=False, type=NonEmptyPath(path_type=Path))
@config_option
@json_option
def validate(path: Path | None, config_path: Path | None, as_json: bool) -> None:
    """Check organization.yaml and list every problem.

    PATH defaults to --config, $GFW_CONFIG, then config/organization.yaml. Exit 0 when valid, 1 when invalid (every problem listed as file:line:col: field: message),
    2 when the file is missing or unreadable (or PATH and --config name two different files). A valid file can
    still get warnings (WARN, with a remedy; exit 0), e.g. a prod environment without require_confirmation.
    --json keys: path, valid, problems [{file, line, column, field, message}], warnings [{name, level, detail,
    remedy}] (exit 0), remedy (exit 1) (and error {message, remedy, exit_code} on exit 2).
    """
    from gfwizard.errors import InputError
    from gfwizard.orgconfig import ConfigError, load_config

    if path is not None:
        remember_config(path)  # "run `gfwizard config validate` again" must check this file, not the default
    target = path if path is not None else resolve_config_path(config_path)
    try:
        if path is not None and config_path is not None and path.resolve() != config_path.resolve():
            # Checking one of the two would report on a file the operator may not have meant: check neither.
            raise InputError(f"PATH {path} and --config {config_path} name two different files; nothing was checked",
                             f"name the file to check once, as PATH or with --config (e.g. "
                             f"`gfwizard config validate --config {shlex.quote(str(path))}`)")
        cfg = load_config(target)
    except ConfigError as exc:
        _report_invalid(target, exc, as_json)
        sys.exit(EXIT_CHECK_FAILED)
    except InputError as exc:
        if as_json:
            emit_json({"path": str(target), "valid": False, "problems": [],
                       "error": {"message": exc.message, "remedy": exc.remedy, "exit_code": EXIT_INPUT}})
        else:
            echo(f"error: {exc.message}", err=True, fg="red")
            if exc.remedy:
                echo(f"remedy: {exc.remedy}", err=True)
        sys.exit(EXIT_INPUT)
    from gfwizard.orgconfig_checks import config_warnings

    warnings = config_warnings(cfg, str(target))
    if as_json:
        emit_json({"path": str(target), "valid": True, "problems": [],
                   "warnings": [w.model_dump(mode="json") for w in warnings]})
    else:
        echo(f"{target}: valid — {_summary(cfg)}")
        if warnings:
            print_checks(warnings)
            echo(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''} (WARN above): the file is valid, "
                 "but see the remedy", fg="yellow")
    sys.exit(EXIT_OK)  # a warning never makes the file invalid


def _report_invalid(target: Path, exc: Any, as_json: bool) -> None:
    if as_json:
        emit_json({"path": str(target), "valid": False, "problems": [p.to_json() for p in exc.problems],
                   "remedy": exc.remedy})
        return
    # The report is this command's result, on stdout like a valid one's (exit 1 says it failed).
    count = len(exc.problems)
    echo(f"{target}: invalid ({count} problem{'s' if count != 1 else ''})", fg="red")
    for problem in exc.problems:
        echo(str(problem))
    echo(f"remedy: {exc.remedy}")


def _summary(cfg: "OrgConfig") -> str:
    cluster = cfg.cluster
    return (f"organization {cfg.organization.name}, cluster {cluster.name} (context {cluster.context}, "
            f"{cluster.network}), state {cfg.state.backend}, environments {', '.join(cfg.environments)}, "
            f"stacks {' -> '.join(cfg.stack_order())}")


@config.command("show")
@config_option
@json_option
@handles_errors
def show(config_path: Path | None, as_json: bool) -> None:
    """Show the effective config, stack order and state keys.

    Defaults are filled in; the state key of each environment and stack is listed. --json keys: path, config, stack_order, placement {stack: role|null}, state_keys {env: {stack: key}},
    http_addresses {env: {stack: address}} (http backend only).
    """
    from gfwizard.orgconfig import load_config
    from gfwizard.orgconfig_save import effective_yaml

    target = resolve_config_path(config_path)
    cfg = load_config(target)
    report = effective_report(cfg, target)
    if as_json:
        emit_json(report)
        return
    echo(f"# effective config of {target} (defaults filled in)")
    echo(effective_yaml(cfg).rstrip("\n"))
    echo("")
    echo(f"stack order: {' -> '.join(report['stack_order'])}")
    echo("placement:")
    for stack, role in report["placement"].items():
        selector = cfg.node_selector_for(stack)
        where = f"{role} ({', '.join(f'{k}={v}' for k, v in selector.items())})" if role else "any node"
        echo(f"  {stack}: {where}")
    echo(f"state ({cfg.state.backend}):")
    for env, keys in report["state_keys"].items():
        for stack, key in keys.items():
            location = report["http_addresses"][env][stack] if "http_addresses" in report else key
            echo(f"  {env}/{stack}: {location}")


def effective_report(cfg: "OrgConfig", path: Path) -> dict[str, Any]:
    """What ``config show --json`` prints."""
    order = cfg.stack_order()
    report: dict[str, Any] = {
        "path": str(path),
        "config": cfg.model_dump(mode="json"),
        "stack_order": order,
        "placement": {stack: cfg.role_for_stack(stack) for stack in order},
        "state_keys": {env: {stack: cfg.state_key(env, stack) for stack in order} for env in cfg.environments},
    }
    if cfg.state.backend == "http" and cfg.state.http is not None:
        http = cfg.state.http
        report["http_addresses"] = {env: {stack: http.address_for(env, stack) for stack in order}
                                    for env in cfg.environments}
    return report


@config.command("init")
@click.option("--plain", is_flag=True, help="Ask with plain prompts (questionary) instead of the full-screen wizard.")
@config_option
@click.option("--force", is_flag=True,
              help="With --plain: start from the defaults when the existing file is invalid (it is kept as .bak "
                   "when written).")
@handles_errors
def init(plain: bool, config_path: Path | None, force: bool) -> None:
    """Create or update organization.yaml (wizard, or --plain prompts).

    Without --plain, opens the wizard at its Config step; --plain asks every field as a plain prompt
    (the wizard asks no API server or network: they come from the file, or are honey's). Both need
    a terminal (exit 2 without one).
    Shows the file (and a diff against the existing one) and writes only on confirmation,
    atomically, keeping the previous file as PATH.bak (organization.yaml.bak). Ctrl-C (or Ctrl-D
    at a choice, a yes/no or an empty answer) writes nothing (exit 130).
    """
    target = resolve_config_path(config_path)
    if force and not plain:
        from gfwizard.errors import InputError

        # The wizard refuses an invalid file whatever --force says: taking it silently would read as done.
        raise InputError("--force works with --plain only: the full-screen wizard does not start from the defaults "
                         "over an invalid file; nothing was started",
                         f"use `gfwizard config init --plain --force` (the old file is kept as {target.name}.bak), or "
                         "fix the file (see `gfwizard config validate`) and run `gfwizard config init`")
    if not plain:
        from gfwizard.plain import WITHOUT_A_TERMINAL

        require_terminal("config init without --plain opens the full-screen wizard, which",
                         remedy="run it in a terminal (`gfwizard config init --plain` asks every field as a plain "
                                f"prompt, also in a terminal), or {WITHOUT_A_TERMINAL}")
        try:
            from screens.launch import run_wizard
        except ImportError as exc:
            echo(f"error: the full-screen wizard is not available ({exc})", err=True, fg="red")
            echo("remedy: use `gfwizard config init --plain`", err=True)
            sys.exit(EXIT_INPUT)
        result = run_wizard(start_at="config", config_path=target)
        sys.exit(result if isinstance(result, int) else EXIT_OK)

    from gfwizard import plain as plain_mode

    outcome = plain_mode.run_plain_init(target, plain_mode.make_prompter(), force=force, echo=echo)
    if outcome is plain_mode.Outcome.CANCELLED:
        sys.exit(EXIT_CANCELLED)
