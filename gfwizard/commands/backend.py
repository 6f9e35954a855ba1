"""``gfwizard backend check|render|locks|migrate --env E``: the state backend's commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from gfwizard.commands._common import (EXIT_CHECK_FAILED, EXIT_OK, FiniteFloatRange, ask_yes_no, command_line,
                                       config_option, echo, emit_json, given_options, handles_errors, json_option,
                                       print_checks, remember_options, resolve_config_path, verdict)
from gfwizard.commands._migrate_many import MIGRATE_TIMEOUT
from gfwizard.durations import duration
from gfwizard.errors import InputError
from gfwizard.textsafe import printable

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig


def env_option(f: Any) -> Any:
    """``--env E`` (required): the logical environment (dev, prod)."""
    return click.option("--env", "env", required=True, help="Environment name from organization.yaml (dev, prod).")(f)


def _load(config_path: Path | None) -> "OrgConfig":
    from gfwizard.orgconfig import load_config

    return load_config(resolve_config_path(config_path))


def _confirmer(yes: bool, as_json: bool, done: list[str]) -> Callable[[str], bool]:
    """Show each write before it happens; on a terminal (without --yes) ask for it."""

    def confirm(action: str) -> bool:
        echo(f"will {action}", err=as_json, bold=True)
        if not yes and sys.stdin.isatty():
            if not ask_yes_no(f"{action[0].upper()}{action[1:]}?"):
                return False
        done.append(action)
        return True

    return confirm


@click.group(name="backend")
def backend() -> None:
    """State backend: S3 checks and lock probe, rendered backend files, lock objects, HTTP → S3 migration."""


@backend.command(name="check")
@env_option
@click.option("--create-bucket", is_flag=True,
              help="Create the state bucket, with versioning on, if it does not exist (shows and asks first; "
                   "without a terminal, needs --yes).")
@click.option("--enable-versioning", is_flag=True,
              help="Enable bucket versioning if it is off (shows and asks first; without a terminal, needs --yes).")
@click.option("--yes", is_flag=True, help="Do what --create-bucket/--enable-versioning need without asking.")
@click.option("--connect-timeout", type=FiniteFloatRange(min=0.1), default=3.0, show_default=True,
              help="Seconds to wait for a connection to the S3 endpoint.")
@click.option("--read-timeout", type=FiniteFloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds to wait for an answer from the S3 endpoint.")
@config_option
@json_option
@handles_errors
def check(env: str, create_bucket: bool, enable_versioning: bool, yes: bool, connect_timeout: float,
          read_timeout: float, config_path: Path | None, as_json: bool) -> None:
    """Check the S3 state backend for ENV: endpoint, clock skew, credentials, bucket, versioning, the
    environment's state prefix, and the lock probe (the one write: a probe object, deleted again); with
    state.http, which stacks are still only on the HTTP backend. Exit 1 when a check fails."""
    from gfwizard.backend import check_s3, credential_source, s3_target

    given = given_options()
    # A slow store needed these: every `gfwizard backend check` this run prints waits as long.
    remember_options("backend check", [(f, v) for f, v in given if f in ("--connect-timeout", "--read-timeout")])
    cfg = _load(config_path)
    cfg.environment(env)
    if (create_bucket or enable_versioning) and not yes and not sys.stdin.isatty():
        writes = [f for f, on in (("--create-bucket", create_bucket), ("--enable-versioning", enable_versioning)) if on]
        flags = " ".join(writes)
        verb, needs = ("writes", "it needs") if len(writes) == 1 else ("write", "they need")
        again = command_line("backend check", given_options(plus=["--yes"]))  # every option given, plus --yes
        raise InputError(f"{flags} {verb} to the store; without a terminal to ask on, {needs} --yes "
                         "(nothing was checked or changed)", remedy=f"re-run with --yes: `{again}`")
    target = s3_target(cfg)
    source = credential_source()
    if not as_json:
        echo(f"S3 state backend for {env!r}: s3://{target.bucket}/{target.key_prefix}/{env}/ at {target.endpoint} "
             f"(endpoint from {target.endpoint_source}; credentials: {source.detail})", bold=True)
    done: list[str] = []
    checks = check_s3(cfg, env, create_bucket=create_bucket, enable_versioning=enable_versioning,
                      confirm=_confirmer(yes, as_json, done), timeouts=(connect_timeout, read_timeout))
    from gfwizard.backend_migrate import http_state_check

    http_state = http_state_check(cfg, env)  # read-only: GETs on the HTTP server, HEADs on S3
    if http_state is not None:
        checks.append(http_state)
    ok = all(c.ok for c in checks)
    if as_json:
        emit_json({"env": env, "endpoint": target.endpoint, "endpoint_source": target.endpoint_source,
                   "bucket": target.bucket, "key_prefix": target.key_prefix,
                   "credentials": {"kind": source.kind, "detail": source.detail},
                   "checks": checks, "actions": done, "ok": ok})
    else:
        print_checks(checks)
        echo(verdict(checks, ok), fg="green" if ok else "red")
    sys.exit(EXIT_OK if ok else EXIT_CHECK_FAILED)


@backend.command(name="render")
@env_option
@config_option
@json_option
@handles_errors
def render(env: str, config_path: Path | None, as_json: bool) -> None:
    """Write each stack's partial backend file(s) for ENV (no credentials; unchanged files are left alone)."""
    from gfwizard.backend import render_backends
    from gfwizard.layout import layout_for, require_work_dirs, require_work_root

    cfg = _load(config_path)
    cfg.environment(env)
    require_work_root(cfg.cluster.network, iac=False)  # a rehearsal renders into its workspace
    layout = layout_for(cfg.cluster.network)
    require_work_dirs(layout, env, cfg.stack_names, work="render")
    files = render_backends(cfg, env, layout)
    if as_json:
        emit_json({"env": env, "files": [{"stack": f.stack, "kind": f.kind, "path": str(f.path), "changed": f.changed}
                                         for f in files]})
    else:
        for f in files:
            echo(f"  {'written  ' if f.changed else 'unchanged'}  {f.path}", fg="green" if f.changed else None)
        changed = sum(f.changed for f in files)
        echo(f"{changed} file(s) written, {len(files) - changed} unchanged")
    sys.exit(EXIT_OK)


@backend.command(name="locks")
@env_option
@config_option
@json_option
@handles_errors
def locks(env: str, config_path: Path | None, as_json: bool) -> None:
    """List the state locks held in ENV (read-only: lists and reads the .tflock objects)."""
    from gfwizard.backend import list_locks

    cfg = _load(config_path)
    held = list_locks(cfg, env)
    if as_json:
        emit_json({"env": env, "locks": [lock.to_json() for lock in held]})
        sys.exit(EXIT_OK)
    if not held:
        echo(f"no state locks held in {env!r}")
    else:
        echo(f"{len(held)} state lock{'s' if len(held) != 1 else ''} held in {env!r}:")
    for lock in held:
        # Every field but the stack name is read from the lock object: anyone who can write to the bucket wrote it.
        if lock.error:
            echo(f"  {lock.stack:<18} {printable(lock.key)}: {printable(lock.error)}", fg="yellow")
            continue
        since = lock.created.isoformat(timespec="seconds") if lock.created else "?"
        echo(f"  {lock.stack:<18} {printable(lock.operation or '?'):<22} by {printable(lock.who or '?')} since {since} "
             f"({duration(lock.age)} ago)  ID {printable(lock.id or '')}")
        if lock.id:
            # The ID is the lock object's (anyone who can write to the bucket wrote it): quoted for the shell,
            # escaped for the terminal.
            echo(f"      if that run is gone for good (check that nobody is applying), release it: "
                 f"{printable(_unlock_steps(cfg, env, lock.stack, lock.id))}", dim=True)
    sys.exit(EXIT_OK)


def _unlock_steps(cfg: "OrgConfig", env: str, stack: str, lock_id: str) -> str:
    """The exact ``force-unlock`` command line(s) for a lock: on the data dir a deploy initialised for ``env``
    when there is one (as a deploy's own remedy says), else after an init with the rendered backend file."""
    import os
    import shlex
    import shutil

    from gfwizard.layout import layout_for
    from gfwizard.tofu import BIN_ENV

    layout = layout_for(cfg.cluster.network)
    binary = os.environ.get(BIN_ENV, "").strip() or ("tofu" if shutil.which("tofu") else "terraform")
    chdir = f"{shlex.quote(binary)} -chdir={shlex.quote(str(layout.stack_dir(stack)))}"
    unlock = f"{chdir} force-unlock {shlex.quote(lock_id)}"
    data_dir = layout.data_dir(env, stack)
    if (data_dir / "terraform.tfstate").is_file():
        return f"`TF_DATA_DIR={shlex.quote(str(data_dir))} {unlock}`"
    backend = shlex.quote(str(layout.backend_file(stack, env)))
    return (f"`{chdir} init -reconfigure -backend-config={backend}` (`gfwizard backend render --env {env}` "
            f"writes that file), then `{unlock}`")


@backend.command(name="migrate")
@env_option
@click.option("--stack", "stacks", multiple=True,
              help="A stack whose state moves from state.http to state.s3 (repeatable). Without it: every stack of "
                   "ENV whose state is still only on the HTTP backend, in dependency order.")
@click.option("--yes", is_flag=True, help="Migrate without asking (needed without a terminal).")
@click.option("--timeout", type=FiniteFloatRange(min=1), default=MIGRATE_TIMEOUT, show_default=True,
              help="Seconds the IaC binary may take before it is interrupted.")
@config_option
@json_option
@handles_errors
def migrate(env: str, stacks: tuple[str, ...], yes: bool, timeout: float, config_path: Path | None,
            as_json: bool) -> None:
    """Migrate a stack's state in ENV from the HTTP backend to S3: back up the source, refuse a
    destination with another lineage or a higher serial, `init -migrate-state`, then compare.
    Without --stack, every stack still only on HTTP, in dependency order (one question; stops at the first
    that does not end well)."""
    from gfwizard.backend import s3_target
    from gfwizard.backend_migrate import outcome_without_run
    from gfwizard.commands._migrate_many import (announce_writes, as_run_with, hold_env_lock, migrate_many,
                                                 migrate_one, print_report, refuse_without_terminal)
    from gfwizard.layout import layout_for, require_work_dirs, require_work_root
    from gfwizard.stacks_selection import check_stack_names

    cfg = _load(config_path)
    cfg.environment(env)
    check_stack_names(cfg, stacks, as_run_with)  # deploy's rule: a node role is said to be one, a typo guessed
    if cfg.state.http is None:
        raise InputError("state.http is not configured: there is no HTTP state to migrate from",
                         remedy="add state.http to organization.yaml")
    require_work_root(cfg.cluster.network)  # the source state's backup and the IaC binary's files go there
    layout = layout_for(cfg.cluster.network)
    require_work_dirs(layout, env, work="migrate")
    if len(set(stacks)) != 1:
        refuse_without_terminal(yes)
        migrate_many(cfg, env, stacks, layout, yes=yes, timeout=timeout, as_json=as_json)
    stack = stacks[0]
    target = s3_target(cfg)
    source, dest = cfg.state.http.address_for(env, stack), f"s3://{target.bucket}/{cfg.state_key(env, stack)}"
    refuse_without_terminal(yes)
    # Read-only, before any question or backup: nothing to do (in-sync, already-migrated) and refusals are
    # said as they are; only a run that will write is announced and asked for.
    report = outcome_without_run(cfg, env, stack, layout)
    if report is None:
        announce_writes(cfg, env, [stack], layout, as_json=as_json, each=False)
        if not yes:
            if not ask_yes_no(f"Migrate {stack} ({env}) state from {source} to {dest}?"):
                echo("not migrated: declined", err=True)
                sys.exit(EXIT_CHECK_FAILED)
        hold_env_lock(cfg, env)  # only a run that will write: nothing to do, or a "no", writes nothing, not even this
        # It reads both sides again: the destination may have changed while the question waited.
        report = migrate_one(cfg, env, stack, layout, yes=yes, timeout=timeout, as_json=as_json)
    if as_json:
        emit_json(report)
    else:
        print_report(report)
    sys.exit(EXIT_OK if report.ok else EXIT_CHECK_FAILED)

