"""``gfwizard backend migrate --env E`` without one ``--stack``: several stacks' state from HTTP to S3, one
after the other in dependency order, after one confirmation; the first stack that does not end well stops it.

The pieces the one-stack form uses as well live here too: the refusal without a terminal, the announcement
of what will be written, one stack's migration with its echoes, and the printed report."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Sequence

import click

from gfwizard.commands._common import EXIT_CHECK_FAILED, EXIT_OK, ask_yes_no, echo, emit_json, print_checks
from gfwizard.errors import CheckFailure, GfwError, InputError

if TYPE_CHECKING:
    from gfwizard.backend_migrate import MigrationReport
    from gfwizard.layout import Layout
    from gfwizard.orgconfig import OrgConfig


def print_report(report: "MigrationReport") -> None:
    """One migration's checks, outcome, backup, transcript and (when it did not end well) remedy."""
    print_checks(report.checks)
    # A detail that starts with the outcome ("migrated X → Y") is not prefixed with it a second time.
    said = report.detail if report.detail.startswith(f"{report.outcome} ") else f"{report.outcome}: {report.detail}"
    echo(said, fg="green" if report.ok else "red")
    if report.backup_path is not None:  # none when nothing ran: a backup is kept only before a run writes
        echo(f"backup: {report.backup_path}")
    if report.transcript:
        echo(f"transcript: {report.transcript}")
    if not report.ok and report.remedy:
        echo(f"remedy: {report.remedy}")


def refuse_without_terminal(env: str, given: Sequence[str], yes: bool) -> None:
    """InputError when nobody can be asked and ``--yes`` was not given; its remedy repeats the ``--stack``
    options ``given``."""
    if not yes and not sys.stdin.isatty():
        options = "".join(f" --stack {name}" for name in given)
        raise InputError("migrate writes state; without a terminal to ask on it needs --yes",
                         remedy=f"re-run with --yes: `gfwizard backend migrate --env {env}{options} --yes`")


def announce_writes(cfg: "OrgConfig", env: str, stacks: Sequence[str], layout: "Layout", *, as_json: bool,
                    each: bool) -> None:
    """Name what the migration of ``stacks`` writes before it asks: the backend files it renders, and where the
    source states are backed up (``each``: several sources)."""
    from gfwizard.backend_migrate import backend_files_to_write, backup_dir

    for stack in stacks:
        # In a checkout these are tofu/stacks/<stack>/<env>.*.tfbackend.
        for path in backend_files_to_write(cfg, env, stack, layout):
            echo(f"will write {path} before the IaC runs (missing or stale; it holds no credential)", err=as_json)
    echo(f"will back up {'each source state' if each else 'the source state'} under {backup_dir(layout, env)} "
         "first (the source itself is never written)", err=as_json)


def migrate_one(cfg: "OrgConfig", env: str, stack: str, layout: "Layout", *, yes: bool, timeout: float,
                as_json: bool) -> "MigrationReport":
    """One stack's migration, saying as it goes what it writes; an overwrite of older S3 state is asked for on a
    terminal (``yes``: not asked)."""
    from gfwizard.backend import migrate_http_to_s3

    def confirm_overwrite(question: str) -> bool:
        echo(f"will {question}", err=as_json, bold=True)
        return yes or (sys.stdin.isatty() and ask_yes_no(f"{question[0].upper()}{question[1:]}?"))

    return migrate_http_to_s3(
        cfg, env, stack, layout, confirm_overwrite=confirm_overwrite, timeout=timeout,
        on_backup=lambda path: echo(f"backup of the source state: {path}", err=as_json),
        on_note=lambda note: echo(f"note: {note}", err=True),
        on_line=None if as_json else (lambda line: echo(f"  | {line}", err=True)),
    )


def plan(cfg: "OrgConfig", env: str, stacks: Sequence[str]) -> list[str]:
    """The stacks to migrate in dependency order: those given, or (none given) every stack of ``env`` whose
    state is still only on the HTTP backend, found by the lookup the wizard uses (read-only)."""
    import os

    from gfwizard.backend_migrate import http_state_lookup

    order = cfg.stack_order()
    if stacks:
        return [s for s in order if s in set(stacks)]
    if not os.environ.get("TF_HTTP_PASSWORD"):
        raise InputError("TF_HTTP_PASSWORD is not set: it is the HTTP state server's password/token, needed to "
                         "find the stacks still on the HTTP backend (nothing was read or written)",
                         remedy="set TF_HTTP_PASSWORD in this shell's environment to the state server's token "
                                "(it is never written to a file or printed)")
    found = http_state_lookup(cfg, env)
    if found.unreadable:
        unreadable = "; ".join(f"{stack}: {why}" for stack, why in found.unreadable.items())
        raise CheckFailure(f"could not read the HTTP state of {', '.join(found.unreadable)} ({unreadable}); "
                           "nothing was migrated", remedy="fix the HTTP state server or its credentials and re-run, "
                           f"or migrate single stacks with `gfwizard backend migrate --env {env} --stack S`")
    return found.pending


def migrate_many(cfg: "OrgConfig", env: str, given: Sequence[str], layout: "Layout", *, yes: bool, timeout: float,
                 as_json: bool) -> None:
    """Migrate the planned stacks one after the other (see the module doc); exits with the outcome."""
    from gfwizard.backend import s3_target

    stacks = plan(cfg, env, given)
    result: dict[str, Any] = {"env": env, "stacks": stacks, "reports": [], "done": [], "not_done": list(stacks),
                              "stopped": None, "outcome": "nothing-pending", "ok": True}
    if not stacks:
        if as_json:
            emit_json(result)
        else:
            echo(f"nothing to migrate: no stack of {env!r} has its state only on the HTTP backend (nothing written)")
        sys.exit(EXIT_OK)
    echo(f"will migrate: {', '.join(stacks)} (in dependency order, one after the other)", err=as_json, bold=True)
    announce_writes(cfg, env, stacks, layout, as_json=as_json, each=True)
    target = s3_target(cfg)
    if not yes and not ask_yes_no(f"Migrate the state of {len(stacks)} stack(s) ({env}) from the HTTP backend to "
                                  f"s3://{target.bucket}/{target.key_prefix}/{env}/?"):
        echo("not migrated: declined (nothing was written)", err=True)
        if as_json:
            emit_json({**result, "outcome": "declined", "ok": False})
        sys.exit(EXIT_CHECK_FAILED)

    for index, stack in enumerate(stacks, 1):
        echo(f"== {stack} ({index}/{len(stacks)}) ==", err=as_json, bold=True)
        try:
            report = migrate_one(cfg, env, stack, layout, yes=yes, timeout=timeout, as_json=as_json)
        except GfwError as exc:
            result["stopped"] = {"stack": stack, "outcome": "error", "detail": exc.message, "remedy": exc.remedy}
            echo(f"error: {exc.message}", err=True, fg="red")
            if exc.remedy:
                echo(f"remedy: {exc.remedy}", err=True)
            break
        except (KeyboardInterrupt, click.Abort):
            # Outside the IaC run (that one reports "interrupted" itself): reading a state, or at a question.
            result["stopped"] = {"stack": stack, "outcome": "interrupted", "detail": "interrupted (Ctrl-C)",
                                 "remedy": f"re-run `gfwizard backend migrate --env {env}` to go on"}
            echo("", err=True)
            break
        result["reports"].append(report)
        if not as_json:
            print_report(report)
        if not report.ok:
            result["stopped"] = {"stack": stack, "outcome": report.outcome, "detail": report.detail,
                                 "remedy": report.remedy}
            break
        result["done"].append(stack)
        result["not_done"].remove(stack)
    stopped = result["stopped"]
    result["outcome"], result["ok"] = ("stopped", False) if stopped else ("migrated", True)
    if as_json:
        emit_json(result)
    elif stopped:
        echo(f"stopped at {stopped['stack']} ({stopped['outcome']}): done: {', '.join(result['done']) or 'none'}; "
             f"not done: {', '.join(result['not_done'])}", fg="red", bold=True)
        echo(f"once it is sorted out, `gfwizard backend migrate --env {env}` goes on with the stacks still pending")
    else:
        echo(f"done: {', '.join(result['done'])} ({len(result['done'])} stack(s) migrated)", fg="green", bold=True)
    sys.exit(EXIT_CHECK_FAILED if stopped else EXIT_OK)
