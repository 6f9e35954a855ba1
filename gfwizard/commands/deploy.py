"""``gfwizard deploy --env E [--stack S]... [--plan-only] [--yes] [--resume] [--json]``.

The scripting and CI path onto the same engine the wizard uses (:class:`gfwizard.stacks.DeployEngine`).
Human output is a compact progress log and a per-stack table; ``--json`` prints one JSON object per
line per event and a final ``{"event": "result", ...}``. Exit 0 when everything planned/applied,
1 when a stack failed, was locked or interrupted, a gate failed or the journal could not be written, 2 on input errors (unknown env
or stack, dependency cycle, an apply that nobody can confirm, an unusable state directory).
"""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from gfwizard.commands._common import (
    ask_yes_no, config_option, echo, handles_errors, json_option, read_line, resolve_config_path, to_jsonable,
    with_config_obj, write,
)
from gfwizard.durations import duration
from gfwizard.errors import InputError
from gfwizard.stacks_events import (
    ApplyRefused, ApplyStarted, BackendRendered, DependencyWarning, DeployEvent, DeployResult, GateChecked, LogLine,
    PreviousRunUnfinished, ResourceApplied, ResourceFailed, ResourceProgress, RunFinished, RunNote, RunStarted,
    StackApplied, StackFailed, StackInterrupted, StackLocked, StackMaterialised, StackPlanned, StackSkipped,
)
from gfwizard.tofu_events import redact_obj


@click.command(name="deploy")
@click.option("--env", "env", required=True, help="Environment to deploy (e.g. dev, prod).")
@click.option("--stack", "stacks", multiple=True, help="Only this stack (repeatable); nothing else is included.")
@click.option("--plan-only", is_flag=True, help="Plan and summarise; apply nothing (the gates still run).")
@click.option("--yes", "assume_yes", is_flag=True,
              help="Do not ask for confirmation. Never skips the gates (cluster fingerprint, lock probe, state checks).")
@click.option("--resume", is_flag=True, help="Skip stacks the last run deployed (inputs unchanged); continue at the failed one.")
@click.option("--concurrency", type=click.IntRange(1, 8), default=2, show_default=True,
              help="How many stacks plan at once (applies follow depends_on, one at a time).")
@json_option
@config_option
@handles_errors
def deploy(env: str, stacks: tuple[str, ...], plan_only: bool, assume_yes: bool, resume: bool, concurrency: int,
           as_json: bool, config_path: Path | None) -> None:
    """Plan and apply the stacks of an environment, in dependency order."""
    # Start-up only allocates objects that live until exit (modules, models, the config): collecting
    # while it runs would only traverse them again and again. Frozen afterwards, later collections
    # skip them too.
    gc.disable()
    try:
        engine, printer, confirm = _prepare(env, stacks, plan_only, assume_yes, resume, concurrency, as_json,
                                            config_path)
    finally:
        gc.freeze()
        gc.enable()
    result = asyncio.run(_run(engine, printer, confirm))
    # Everything is written and flushed; spare the exit a full collection of every loaded module's
    # objects. atexit handlers still run.
    gc.freeze()
    sys.exit(result.exit_code)


def _prepare(env: str, stacks: tuple[str, ...], plan_only: bool, assume_yes: bool, resume: bool, concurrency: int,
             as_json: bool, config_path: Path | None) -> tuple[Any, "_Printer", "_TerminalConfirm | None"]:
    """Config, printer, confirmation and engine for one run (input errors raise before anything runs)."""
    from gfwizard.orgconfig import load_config
    from gfwizard.stacks import DeployEngine
    from gfwizard.stacks_selection import check_selection, deploy_command

    from gfwizard.layout import require_work_root

    cfg = load_config(resolve_config_path(config_path))
    # The engine checks the selection too; checked first here, an unknown name is refused before any other input.
    check_selection(cfg, env, stacks, plan_only=plan_only, assume_yes=assume_yes, resume=resume)
    require_work_root(cfg.cluster.network)  # plans, transcripts, the provider cache: a traceback mid-run otherwise
    interactive = sys.stdin.isatty()
    if not plan_only and not assume_yes and not interactive:
        # Each command repeats the operator's --stack and --resume (and --config): followed as printed, it deploys
        # what this one would have.
        def command(**flags: bool) -> str:
            return deploy_command(env, stacks, **{"plan_only": False, "assume_yes": False, "resume": resume, **flags})

        raise InputError("refusing to apply without --yes: there is no terminal to ask for confirmation",
                         remedy=f"pass --yes: {command(assume_yes=True)} (the cluster fingerprint and lock probe "
                                f"gates still run), or preview with {command(plan_only=True, resume=False)}, or run "
                                f"{command()} on a terminal")
    printer: _Printer = _JsonPrinter() if as_json else _HumanPrinter()
    confirm = _TerminalConfirm(printer) if (interactive and not assume_yes and not plan_only) else None
    engine = DeployEngine(cfg, env, stacks=list(stacks) or None, plan_only=plan_only, resume=resume,
                          assume_yes=assume_yes, confirm=confirm, on_event=printer.event, concurrency=concurrency)
    return engine, printer, confirm


async def _run(engine: Any, printer: "_Printer", confirm: "_TerminalConfirm | None") -> DeployResult:
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        # Cancel first: saying so may fail (a terminal that hung up), stopping may not.
        if interrupts == 1:
            engine.cancel()
            printer.note("interrupt: stopping gracefully (the binary finishes what is in flight, saves state and "
                         "releases the lock); press Ctrl-C again to force")
        else:
            engine.cancel(escalate=True)
            printer.note("second interrupt: terminating the binary (SIGTERM, then SIGKILL)")

    def on_hangup() -> None:
        # The terminal (or SSH session) went away: stop as gracefully as a first Ctrl-C, so the binary
        # saves state and releases its lock and the run is journaled. A hangup never escalates: the
        # shell may send one after an interrupt that is still being honoured.
        if interrupts == 0:
            on_interrupt()

    def install() -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_interrupt)
        loop.add_signal_handler(signal.SIGHUP, on_hangup)

    install()
    if confirm is not None:
        confirm.bind(loop, install)
    try:
        return await engine.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)


class _Printer:
    def event(self, event: DeployEvent) -> None:
        raise NotImplementedError

    def note(self, text: str) -> None:
        echo(text, err=True, fg="yellow")


class _JsonPrinter(_Printer):
    """One compact JSON object per line per event (log lines excluded); the last is the result."""

    def event(self, event: DeployEvent) -> None:
        if isinstance(event, LogLine):
            return
        if isinstance(event, RunFinished):
            data = {"event": "result", **to_jsonable(event.result), "exit_code": event.result.exit_code}
        else:
            data = {"event": event.kind, **to_jsonable(event)}
        write(json.dumps(redact_obj(with_config_obj(data)), separators=(",", ":"), default=str))

    def note(self, text: str) -> None:
        echo(text, err=True)


#: How the one-line gate summary marks each check's level.
_GATE_MARK = {"pass": "✓", "warn": "!", "fail": "✗"}


def _hang(first: str, text: str) -> str:
    """``first`` + ``text``, each further line of ``text`` indented under its first (a multi-line message
    otherwise starts its continuation at column 0, where it reads as the next entry)."""
    pad = " " * len(first)
    return "\n".join(((pad if i else first) + line).rstrip() for i, line in enumerate(text.split("\n")))


def _counts(summary: Any) -> str:
    return summary.counts() if summary is not None else ""


class _HumanPrinter(_Printer):
    """A compact progress log, then a per-stack table."""

    width = 18

    def line(self, stack: str, what: str, detail: str = "", **style: Any) -> None:
        echo(_hang(f"  {stack:<{self.width}} {what:<13} ", detail), **style)

    def event(self, event: DeployEvent) -> None:  # noqa: C901 - one branch per event type
        if isinstance(event, RunStarted):
            mode = "plan only" if event.plan_only else "plan + apply"
            resuming = f", resuming run {event.resumes}" if event.resumes else ""
            echo(f"deploy {event.env} ({mode}{resuming}) with {event.binary}: {' → '.join(event.stacks)}", bold=True)
        elif isinstance(event, RunNote):
            echo(f"note: {event.message}", err=True, dim=True)
        elif isinstance(event, BackendRendered):
            echo(f"  rendered {len(event.files)} backend file(s)", dim=True)
        elif isinstance(event, (DependencyWarning, PreviousRunUnfinished)):
            echo(f"warning: {event.detail}", err=True, fg="yellow")
        elif isinstance(event, StackSkipped):
            # A skip found deployed names the earlier deploy's plan; one that was never planned reads as the
            # result table says it (not-run), so the two never disagree.
            never_planned = event.reason.startswith("not planned")
            self.line(event.stack, "not-run" if never_planned else "skipped", event.reason, dim=True)
        elif isinstance(event, StackPlanned):
            detail = _counts(event.summary) if event.summary.has_changes else "no changes"
            destructive = event.summary.destroy or event.summary.replace
            self.line(event.stack, "planned", f"{detail}  ({event.duration:.1f}s)", fg="red" if destructive else None)
            for action, address in event.summary.destructive:
                echo(f"      {action.upper():<8} {address}", fg="red")
        elif isinstance(event, GateChecked):
            # A warning is marked as one: a tick beside it read as "nothing to see" on the one line people skim.
            marks = "  ".join(f"{_GATE_MARK[c.level.value]} {c.name}" for c in event.checks)
            echo(f"gates: {marks}", fg=None if event.ok else "red")
            for check in event.checks:
                if not check.ok:
                    echo(f"  ✗ {check.name}: {check.detail}", fg="red")
                    echo(f"    remedy: {check.remedy}")
                elif check.level.value == "warn":
                    echo(f"  ! {check.name}: {check.detail}", fg="yellow")
                    echo(f"    remedy: {check.remedy}")
        elif isinstance(event, ApplyRefused):
            echo(event.reason, fg="yellow")
        elif isinstance(event, ApplyStarted):
            self.line(event.stack, "applying", _counts(event.summary))
        elif isinstance(event, ResourceProgress):
            # A helm release can take minutes: without these, a log (CI's above all) says nothing meanwhile.
            self.line(event.stack, "", f"{event.action} {event.address} still running ({event.elapsed_seconds:.0f}s)",
                      dim=True)
        elif isinstance(event, ResourceApplied):
            self.line(event.stack, "", f"{event.action} {event.address} ({event.elapsed_seconds:.0f}s)", dim=True)
        elif isinstance(event, ResourceFailed):
            self.line(event.stack, "", f"{event.action} {event.address} failed", fg="red")
        elif isinstance(event, StackApplied):
            self.line(event.stack, "applied", f"{event.added} added, {event.changed} changed, "
                                              f"{event.destroyed} destroyed ({event.duration:.1f}s)", fg="green")
        elif isinstance(event, StackMaterialised):
            self.line(event.stack, "materialised", f"{event.namespaces} namespace(s), {event.workloads} workload(s) "
                                                   "in the rehearsal API", dim=True)
        elif isinstance(event, StackFailed):
            self.line(event.stack, "FAILED", f"{event.phase}: {event.message}", fg="red", bold=True)
            for detail in event.diagnostics[:10]:
                echo(_hang("      ", detail), fg="red")
            echo(_hang("      remedy: ", event.remedy))
        elif isinstance(event, StackLocked):
            lock = event.lock
            age = f", for {duration(event.age_seconds)}" if event.age_seconds is not None else ""
            holder = f"{lock.who or '?'} ({lock.operation or '?'}, lock {lock.id}){age}" if lock and lock.id \
                else "another run"
            self.line(event.stack, "LOCKED", f"state lock held by {holder}", fg="red", bold=True)
            echo(_hang("      remedy: ", event.remedy))
        elif isinstance(event, StackInterrupted):
            self.line(event.stack, "interrupted", f"during {event.phase}; transcript {event.transcript}", fg="yellow")
        elif isinstance(event, RunFinished):
            self.table(event.result)

    def table(self, result: DeployResult) -> None:
        echo("")
        echo(f"{'STACK':<{self.width}} {'OUTCOME':<12} {'CHANGES':<16} PLAN", bold=True)
        for row in result.stacks:
            if row.outcome == "skipped":
                changes = "-"  # its summary is the earlier deploy's: counts here would read as this run's
            else:
                changes = _counts(row.summary) if row.summary and row.summary.has_changes else (
                    "none" if row.summary else "")
            plan = (row.plan_hash or "")[:19]
            colour = {"failed": "red", "locked": "red", "interrupted": "yellow"}.get(row.outcome)
            echo(f"{row.stack:<{self.width}} {row.outcome:<12} {changes:<16} {plan}", fg=colour)
        for message in result.messages:
            echo(message, fg="yellow")
        colour = "green" if result.exit_code == 0 else "red"
        quiet = result.outcome == "applied" and bool(result.stacks) and all(
            row.outcome in ("no-changes", "skipped") for row in result.stacks)
        outcome = f"{result.outcome}, nothing changed" if quiet else result.outcome
        echo(f"result: {outcome} (run {result.run_id}; journal {result.journal})", fg=colour, bold=True)


_PROMPT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _TerminalConfirm:
    """Asks on the terminal: destructive changes first, in red; prod needs the env name typed."""

    def __init__(self, printer: _Printer) -> None:
        self.printer = printer
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reinstall: Any = None
        #: True while the prompt reads: a signal then interrupts the read.
        self._reading = False
        #: A signal came while the question was open: the answer is no, whatever was typed.
        self._interrupted = False

    def bind(self, loop: asyncio.AbstractEventLoop, reinstall: Any) -> None:
        """Remember the loop whose signal handlers must step aside while the prompt reads input."""
        self._loop, self._reinstall = loop, reinstall

    def _decline(self, signum: int, frame: Any) -> None:
        self._interrupted = True
        # Raised only into the read: a second Ctrl-C while the prompt returns (saying the first, putting the
        # loop's handlers back) would otherwise escape as a traceback.
        if self._reading:
            raise KeyboardInterrupt

    def __call__(self, request: Any) -> bool | str:
        if request.destructive:
            echo("Destructive changes:", err=True, fg="red", bold=True)
            for change in request.destructive:
                echo(f"  {change.action.upper():<8} {change.stack}: {change.address}", err=True, fg="red")
        # While reading input the loop's handlers cannot run: Ctrl-C, SIGTERM or a hangup declines
        # instead (nothing runs yet; the saved plans are deleted on the way out).
        answer: bool | str = False
        self._reading, self._interrupted = True, False
        try:
            try:
                if self._loop is not None:
                    for sig in _PROMPT_SIGNALS:
                        self._loop.remove_signal_handler(sig)
                        signal.signal(sig, self._decline)
                answer = read_line(f"{request.prompt}: ") if request.typed else ask_yes_no(request.prompt)
            finally:
                self._reading = False
        except click.Abort:  # Ctrl-C, a signal or a closed terminal at the yes/no question
            pass
        except (KeyboardInterrupt, EOFError, OSError):  # OSError: the terminal went away while reading
            echo("", err=True)
        finally:
            if self._reinstall is not None:
                self._reinstall()
        return False if self._interrupted else answer
