"""The ``gfwizard`` command line. Each command's module is imported only when that command runs,
so ``gfwizard discover`` never pays for Textual, boto3 or the Kubernetes client."""

from __future__ import annotations

import importlib
from typing import Any, NoReturn

import click

from gfwizard import __version__

#: command name -> "module:attribute" of its click command.
COMMANDS: dict[str, tuple[str, str]] = {
    "wizard": ("gfwizard.commands.wizard:wizard", "The wizard (TUI); the default command."),
    "rehearse": ("gfwizard.commands.rehearse:rehearse", "The wizard against an embedded rehearsal honey + S3."),
    "discover": ("gfwizard.commands.discover:discover", "Kubeconfig discovery and classification."),
    "validate": ("gfwizard.commands.validate:validate", "Validate a context against the configured cluster."),
    "backend": ("gfwizard.commands.backend:backend", "State backend: check, render, locks, migrate."),
    "config": ("gfwizard.commands.config:config", "organization.yaml: init, validate, show."),
    "deploy": ("gfwizard.commands.deploy:deploy", "Plan and apply the stacks of an environment."),
    "status": ("gfwizard.commands.status:status", "Read-only status of cluster, stacks and state."),
    "audit": ("gfwizard.commands.audit:audit", "Check a checkout against the decision's exit criteria."),
    "doctor": ("gfwizard.commands.doctor:doctor", "Tools, config, cluster and backend checks in one run."),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return _unavailable(cmd_name, target[1])
            raise
        return getattr(module, attr)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the group's own options; with ``--json``, a usage error there is a JSON error object too
        (``gfwizard --json`` puts the option before any command)."""
        given = list(args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if "--json" not in given:
                raise
            remedy = "see `gfwizard --help`"
            if isinstance(exc, click.NoSuchOption) and exc.option_name == "--json":
                remedy = ("--json is an option of each command: put it after the command "
                          "(e.g. `gfwizard status --once --json`); " + remedy)
            _emit_usage_error(ctx, exc, remedy)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; with ``--json``, a usage error is the documented ``{"error": ...}`` object too."""
        args = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if "--json" not in args:
                raise
            if exc.ctx is not None and exc.ctx.parent is not None:
                where = exc.ctx.command_path
            else:  # raised while the command's own options were parsed: name it from the arguments
                where = self._command_named(ctx, args)
            _emit_usage_error(ctx, exc, f"see `{where} --help`")
        except (KeyboardInterrupt, click.Abort) as exc:
            # A command that does not report an interrupt itself (deploy and backend migrate do): click would
            # print "Aborted!", and a --json reader would get no object at all.
            _emit_interrupted(ctx, args, at_question=isinstance(exc, click.Abort))

    def _command_named(self, ctx: click.Context, args: list[str]) -> str:
        """``gfwizard <command> [<subcommand>]`` as named by the command-line arguments."""
        words = [a for a in args if not a.startswith("-")][:2]
        where = "gfwizard"
        if words and words[0] in COMMANDS:
            where += f" {words[0]}"
            group = self.get_command(ctx, words[0])
            if len(words) > 1 and isinstance(group, click.Group) and words[1] in group.commands:
                where += f" {words[1]}"
        return where

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _emit_usage_error(ctx: click.Context, exc: click.UsageError, remedy: str) -> NoReturn:
    """Print ``exc`` as the documented JSON error object and exit with its code."""
    from gfwizard.commands._common import emit_error_json

    emit_error_json(exc.format_message(), remedy, exc.exit_code)
    ctx.exit(exc.exit_code)


def _emit_interrupted(ctx: click.Context, args: list[str], *, at_question: bool) -> NoReturn:
    """Ctrl-C (or Ctrl-C / Ctrl-D at a question): the documented error object with ``--json``, else ``error:`` and
    ``remedy:`` lines, and exit 1 as any operation that did not finish (a deploy or migration interrupted exits 1).
    ``args``: the command line after ``gfwizard``, repeated in the remedy."""
    import shlex

    from gfwizard.commands._common import EXIT_CHECK_FAILED, echo, emit_error_json

    message = ("cancelled at a question (Ctrl-C or Ctrl-D): what it asked about was not done" if at_question
               else "interrupted (Ctrl-C) before it finished")
    remedy = f"run `{shlex.join(['gfwizard', *args])}` again"
    echo("", err=True)  # the terminal's ^C is not followed by a newline
    if "--json" in args:
        emit_error_json(message, remedy, EXIT_CHECK_FAILED)
    else:
        echo(f"error: {message}", err=True, fg="red")
        echo(f"remedy: {remedy}", err=True)
    ctx.exit(EXIT_CHECK_FAILED)


def _unavailable(name: str, help_text: str) -> click.Command:
    @click.command(name=name, help=help_text, context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def cmd(args: Any) -> None:
        raise click.UsageError(f"'gfwizard {name}' is not available in this build")

    return cmd


@click.group(cls=LazyGroup, invoke_without_command=True)
@click.version_option(__version__, prog_name="gfwizard")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """gfwizard — deploy GloriousFlywheel's stacks onto honey, safely.

    With no command, opens the wizard.
    """
    if ctx.invoked_subcommand is None:
        wizard = LazyGroup.get_command(cli, ctx, "wizard")  # type: ignore[arg-type]
        assert wizard is not None
        ctx.invoke(wizard)


def _reopen_closed_std_streams() -> None:
    """Put /dev/null behind a standard stream the caller closed (``<&-``, ``>&-``, a supervisor that
    starts gfwizard without them). Python leaves ``sys.stdin`` and friends ``None`` then, which every
    terminal check would crash on; worse, the first file gfwizard opened would take the free descriptor,
    and a child (terraform, kubectl) writing to its stdout would write into it."""
    import os
    import sys

    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        # The descriptors below fd are open, so the lowest free one os.open returns is fd itself.
        opened = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        if opened != fd:
            os.dup2(opened, fd)
            os.close(opened)
        setattr(sys, name, open(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False))


def _internal_error(exc: Exception) -> NoReturn:
    """A bug's last stop: its traceback goes to stderr redacted (an HTTP library's error may quote a
    credential the process registered), and with ``--json`` stdout still gets the documented error
    object; exit 1, as Python's own uncaught-exception exit."""
    import sys
    import traceback

    from gfwizard.commands._common import echo, emit_error_json, write
    from gfwizard.redact import redact

    write(redact("".join(traceback.format_exception(exc))), err=True)
    message = f"internal error: {type(exc).__name__}: {exc}"
    remedy = "this is a gfwizard bug: report it with the traceback above (credentials in it are masked)"
    if "--json" in sys.argv[1:]:
        emit_error_json(redact(message), remedy, 1)
    else:
        echo(f"error: {message}", err=True)
        echo(f"remedy: {remedy}", err=True)
    sys.exit(1)


def main() -> None:
    """Console-script entry point."""
    _reopen_closed_std_streams()
    try:
        cli(prog_name="gfwizard")
    except SystemExit as exc:
        _exit_with_output_lost(exc)
    except Exception as exc:  # click has already turned its own errors into exits; this is a bug
        _internal_error(exc)


def _exit_with_output_lost(exc: SystemExit) -> NoReturn:
    """Exit as ``exc`` does, but with 1 instead of success when stdout could not be written (a full disk):
    whoever reads that output got part of it (the command itself has said so on stderr)."""
    import sys

    if exc.code in (0, None) and "gfwizard.commands._common" in sys.modules:
        from gfwizard.commands._common import stdout_lost

        if stdout_lost():
            sys.exit(1)
    raise exc


if __name__ == "__main__":
    main()
