"""``gfwizard backend migrate --env E`` without one ``--stack``: several stacks' state from HTTP to S3, one
after the other in dependency order, after one confirmation; the first stack that does not end well stops it.
Stacks given with ``--stack`` are read before that question, as the one-stack form reads its stack: those with
nothing to do are said and left out, and a refusal stops it before the question.

The pieces the one-stack form uses as well live here too: the refusal without a terminal, the announcement
of what will be written, one stack's migration with its echoes, and the printed report."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Sequence

import click

from gfwizard.commands._common import (EXIT_CHECK_FAILED, EXIT_OK, ask_yes_no, command_line, echo, emit_json,
                                       given_options, print_checks)
from gfwizard.errors import CheckFailure, GfwError, InputError

if TYPE_CHECKING:
    from gfwizard.backend_migrate import MigrationReport
    from gfwizard.layout import Layout
    from gfwizard.orgconfig import OrgConfig


#: Seconds ``backend migrate --timeout`` defaults to.
MIGRATE_TIMEOUT = 600.0


def as_run_with(stacks: Sequence[str]) -> str:
    """The backticked ``backend migrate`` as it runs (every option as given: ``--env``, ``--yes``, ``--timeout``,
    ``--config``, ``--json``), its ``--stack`` options, when there were any, replaced by ``stacks``: what goes on
    after a stop, or migrates the others when some given stacks are refused (without ``--stack``, every stack
    still on HTTP is what the operator asked for)."""
    options: list[tuple[str, str | None]] = []
    for flag, value in given_options():
        if flag != "--stack":
            options.append((flag, value))
        elif not any(f == "--stack" for f, _ in options):
            options += [("--stack", name) for name in stacks]
    return f"`{command_line('backend migrate', options)}`"


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


def refuse_without_terminal(yes: bool) -> None:
    """InputError when nobody can be asked and ``--yes`` was not given; its remedy is the running ``backend
    migrate`` command as given (every option: ``--stack``, ``--timeout``, ``--json``, ``--config``) plus ``--yes``."""
    if not yes and not sys.stdin.isatty():
        again = command_line("backend migrate", given_options(plus=["--yes"]))
        raise InputError("migrate writes state; without a terminal to ask on it needs --yes",
                         remedy=f"re-run with --yes: `{again}`")


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


def settle_given(cfg: "OrgConfig", env: str, stacks: Sequence[str], layout: "Layout") -> dict[str, "MigrationReport"]:
    """Read both sides of each given stack, before any question, as the one-stack form does: the reports whose
    outcome is known without a run (nothing to do, a refusal, a destination that cannot be read), by stack.

    Raises InputError as one stack's migration does (no ``TF_HTTP_PASSWORD``), and one CheckFailure naming every
    stack whose source cannot be read or holds nothing to migrate (nothing is written either way)."""
    from gfwizard.backend_migrate import outcome_without_run

    settled: dict[str, "MigrationReport"] = {}
    problems: dict[str, CheckFailure] = {}
    for stack in stacks:
        try:
            report = outcome_without_run(cfg, env, stack, layout)
        except CheckFailure as exc:
            problems[stack] = exc
            continue
        if report is not None:
            settled[stack] = report
    if problems:
        said = "; ".join(f"{stack}: {exc.message}" for stack, exc in problems.items())
        remedies = list(dict.fromkeys(exc.remedy for exc in problems.values() if exc.remedy))
        others = [s for s in stacks if s not in problems]
        if others:
            which = "it" if len(problems) == 1 else "them"
            remedies.append(f"or leave {which} out: {as_run_with(others)}")
        raise CheckFailure(f"nothing was migrated: {said}", remedy="; ".join(remedies))
    return settled


def migrate_many(cfg: "OrgConfig", env: str, given: Sequence[str], layout: "Layout", *, yes: bool, timeout: float,
                 as_json: bool) -> None:
    """Migrate the planned stacks one after the other (see the module doc); exits with the outcome.

    Given stacks are read first (:func:`settle_given`): nothing to do and refusals are said before the question,
    and a refusal stops the run before it (nothing asked or written); only the others are asked for and run."""
    from gfwizard.backend import s3_target

    stacks = plan(cfg, env, given)
    result: dict[str, Any] = {"env": env, "stacks": stacks, "reports": [], "done": [], "not_done": list(stacks),
                              "stopped": None, "outcome": "nothing-pending", "ok": True}
    settled = settle_given(cfg, env, stacks, layout) if given else {}
    for stack, report in settled.items():
        result["reports"].append(report)
        if report.ok:
            result["done"].append(stack)
            result["not_done"].remove(stack)
        if not as_json:
            echo(f"== {stack} ==", bold=True)
            print_report(report)
    refused = [s for s, r in settled.items() if not r.ok]
    pending = [s for s in stacks if s not in settled]
    if refused:
        which = ", ".join(f"{s} ({settled[s].outcome})" for s in refused)
        echo(f"not migrated: {which}; nothing was asked or written", err=as_json, fg="red", bold=True)
        if pending:
            echo(f"to migrate the others meanwhile: {as_run_with(pending)}", err=as_json)
        if as_json:
            emit_json({**result, "outcome": "refused", "ok": False})
        sys.exit(EXIT_CHECK_FAILED)
    if not pending:
        if as_json:
            emit_json(result)
        elif settled:
            echo(f"nothing to migrate: S3 holds the state of {', '.join(stacks)} already (nothing written)")
        else:
            echo(f"nothing to migrate: no stack of {env!r} has its state only on the HTTP backend (nothing written)")
        sys.exit(EXIT_OK)
    settled_note = f"; nothing to do for {', '.join(settled)}" if settled else ""
    echo(f"will migrate: {', '.join(pending)} (in dependency order, one after the other{settled_note})",
         err=as_json, bold=True)
    announce_writes(cfg, env, pending, layout, as_json=as_json, each=len(pending) > 1)
    target = s3_target(cfg)
    if not yes and not ask_yes_no(f"Migrate the state of {len(pending)} stack(s) ({env}) from the HTTP backend to "
                                  f"s3://{target.bucket}/{target.key_prefix}/{env}/?"):
        echo("not migrated: declined (nothing was written)", err=True)
        if as_json:
            emit_json({**result, "outcome": "declined", "ok": False})
        sys.exit(EXIT_CHECK_FAILED)
    hold_env_lock(cfg, env)  # only once something will be written: nothing pending, or a "no", writes nothing

    for index, stack in enumerate(pending, 1):
        echo(f"== {stack} ({index}/{len(pending)}) ==", err=as_json, bold=True)
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
            again = as_run_with(result["not_done"])
            result["stopped"] = {"stack": stack, "outcome": "interrupted", "detail": "interrupted (Ctrl-C)",
                                 "remedy": f"re-run {again} to go on"}
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
        echo(f"once it is sorted out, {as_run_with(result['not_done'])} goes "
             "on with the stacks still pending")
    else:
        migrated = [s for s in result["done"] if s not in settled]
        nothing = f"; nothing to do for {', '.join(settled)}" if settled else ""
        echo(f"done: {', '.join(migrated)} ({len(migrated)} stack(s) migrated{nothing})", fg="green", bold=True)
    sys.exit(EXIT_CHECK_FAILED if stopped else EXIT_OK)


def hold_env_lock(cfg: "OrgConfig", env: str) -> None:
    """Hold ``env``'s run lock (the one a deploy holds) until this process ends, or raise :class:`CheckFailure`
    naming the deploy or migration that holds it: two migrations of a stack both ran ``init -migrate-state``
    into the same destination (one overwrote the other, and their reports and transcript disagreed)."""
    from gfwizard.journal import new_run_id
    from gfwizard.layout import layout_for
    from gfwizard.stacks_runlock import MIGRATION_KIND, env_run_lock

    lock = env_run_lock(layout_for(cfg.cluster.network), env)
    lock.acquire(new_run_id(), "`gfwizard backend migrate`", kind=MIGRATION_KIND)
    _held_locks.append(lock)  # released when the process exits (the kernel drops the flock)


_held_locks: list[object] = []
