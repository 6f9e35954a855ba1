"""Shared pieces of every command: the ``--json`` and ``--config`` options, output, exit codes."""

from __future__ import annotations

import errno
import functools
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

import click

from gfwizard.errors import GfwError
from gfwizard.redact import redact
from gfwizard.textsafe import printable_lines

if TYPE_CHECKING:
    from gfwizard.checks import Check

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_INPUT = 2


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``nan`` and ``inf`` (a bound compared with ``nan`` is never
    crossed, so ``--connect-timeout nan`` would pass the range and break later, or ``inf`` overflow a
    timer), as a usage error naming the option."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class NonEmptyPath(click.Path):
    """``click.Path`` that refuses an empty value as a usage error naming the option: ``Path("")`` is
    ``.``, so ``--config "$UNSET"`` would read the current directory, ``gfwizard audit "$UNSET"`` audit it
    and ``rehearse --workspace "$UNSET"`` fill it."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value == "":
            self.fail("the path is empty.", param, ctx)
        return super().convert(value, param, ctx)


def json_option(f: F) -> F:
    """Add ``--json``: machine-readable output with the keys documented in docs/json-output.md."""
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(f)


#: The ``--config`` this process was given, if any: commands it prints for the operator to run carry it.
_explicit_config: Path | None = None
#: The commands that read organization.yaml (and so take ``--config``).
_CONFIG_COMMANDS = (r"(?:validate|deploy|status|doctor|discover|wizard|backend (?:check|render|locks|migrate)"
                    r"|config (?:init|validate|show))")


#: This process's own command and the options a command of the same kind it prints repeats (e.g. ``validate``
#: with its ``--context`` and ``--kubeconfig``): a remedy followed as printed checks the same thing.
_own_options: tuple[str, tuple[tuple[str, str | None], ...]] | None = None


def remember_options(command: str, options: "Sequence[tuple[str, str | None]]") -> None:
    """Make every backticked ``gfwizard <command> ...`` this process prints repeat ``options`` ((flag, value) pairs;
    value None for a flag without one), each unless the printed command names that flag already. ``command``
    is one of the commands that read organization.yaml (:data:`_CONFIG_COMMANDS`)."""
    global _own_options
    _own_options = (command, tuple(options)) if options else None


def given_options(ctx: click.Context | None = None, *, plus: "Sequence[str]" = ()) -> list[tuple[str, str | None]]:
    """The options the running command was given on its command line (defaults left out), and the flags ``plus``
    (e.g. ``--yes``) as if given, in the command's order, as ``(flag, value)`` pairs (value None for a flag) for
    :func:`remember_options` and :func:`command_line`: a command printed for the operator to run repeats what
    they typed."""
    from click.core import ParameterSource

    ctx = ctx if ctx is not None else click.get_current_context()
    given: list[tuple[str, str | None]] = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name is None:
            continue
        flag, value = max(param.opts, key=len), ctx.params.get(param.name)
        if param.is_flag and flag in plus:
            given.append((flag, None))
            continue
        if ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        if param.is_flag:
            if value:
                given.append((flag, None))
            continue
        for one in value if param.multiple else (value,):
            given.append((flag, str(one)))  # str(float) reads back as the same float
    return given


def command_line(command: str, options: "Sequence[tuple[str, str | None]]") -> str:
    """``gfwizard <command>`` with ``options`` ((flag, value) pairs, value None for a flag), values quoted for
    the shell; put it in backticks in a message."""
    import shlex

    words = [f"gfwizard {command}"]
    for flag, value in options:
        words.append(flag if value is None else f"{flag} {shlex.quote(value)}")
    return " ".join(words)


def remember_config(path: Path) -> None:
    """Make ``path`` the config every command this process prints carries (``--config``, or the PATH
    argument of ``config validate``)."""
    global _explicit_config
    _explicit_config = path


def _remember_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None:
        remember_config(value)
    return value


def config_option(f: F) -> F:
    """Add ``--config PATH`` (default ``$GFW_CONFIG`` or ``config/organization.yaml``)."""
    return click.option(
        "--config",
        "config_path",
        type=NonEmptyPath(dir_okay=False, path_type=Path),
        default=None,
        callback=_remember_config,
        help="organization.yaml to read (default: $GFW_CONFIG or config/organization.yaml).",
    )(f)


def with_config(text: str) -> str:
    """``text`` with every backticked gfwizard command that reads organization.yaml given the
    ``--config`` this process was run with (a remedy followed as printed acts on the same config), and a
    command of this process's own kind the options it was run with (:func:`remember_options`).

    Only backticked commands are rewritten, so every message that names a command backticks it
    (tests/unit/test_remedy_config.py checks the sources for bare ones)."""
    if (_explicit_config is None and _own_options is None) or "`gfwizard " not in text:
        return text
    import re
    import shlex

    def add(match: "re.Match[str]") -> str:
        command = match.group(1)
        if "--help" in command:  # --help reads no config and checks nothing
            return match.group(0)
        words = command.split()

        def named(flag: str) -> bool:
            return any(w == flag or w.startswith(flag + "=") for w in words)

        if _own_options is not None and (command + " ").startswith(_own_options[0] + " "):
            for flag, value in _own_options[1]:
                if not named(flag):
                    command += f" {flag}" if value is None else f" {flag} {shlex.quote(value)}"
        if _explicit_config is not None and not named("--config"):
            command += f" --config {shlex.quote(str(_explicit_config))}"
        return f"`gfwizard {command}`"

    return re.sub(rf"`gfwizard ({_CONFIG_COMMANDS}(?: [^`]*)?)`", add, text)


def with_config_obj(obj: Any) -> Any:
    """:func:`with_config` applied to every string of a JSON-ready value."""
    if _explicit_config is None and _own_options is None:
        return obj
    if isinstance(obj, str):
        return with_config(obj)
    if isinstance(obj, dict):
        return {k: with_config_obj(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [with_config_obj(v) for v in obj]
    return obj


#: A text report is laid out for at least this many columns (below it a table's rows are already one
#: labelled line each; a narrower layout only adds lines).
MIN_REPORT_WIDTH = 40


def report_width() -> int:
    """The width a text report (``status --once``, ``discover``) is laid out for: ``$COLUMNS`` when set,
    else the terminal's when stdout is one, else 80 (a pipe or a file is pasted into an incident channel
    or read on a phone, not in this terminal)."""
    return max(MIN_REPORT_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def has_terminal() -> bool:
    """Whether stdin and stdout are both terminals (a full-screen view needs both)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def require_terminal(what: str, remedy: str) -> None:
    """Raise an input error (exit 2) naming ``what`` unless :func:`has_terminal`: without one a
    full-screen view would wait forever for keys nobody can type."""
    if not has_terminal():
        from gfwizard.errors import InputError

        raise InputError(f"{what} needs a terminal (stdin and stdout)", remedy=remedy)


def resolve_config_path(config_path: Path | None) -> Path:
    """The ``--config`` value, or the default when it was not given."""
    from gfwizard.paths import default_config_path

    return config_path if config_path is not None else default_config_path()


def to_jsonable(obj: Any) -> Any:
    """Turn pydantic models, dataclasses, paths and enums into JSON-ready values."""
    import dataclasses
    from enum import Enum

    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    return obj


def emit_json(obj: Any, *, compact: bool = False) -> None:
    """Print ``obj`` as redacted JSON on stdout (``compact``: on one line, as the error object is, so a
    consumer reading a stream line by line, such as ``deploy --json``'s, gets it whole)."""
    from gfwizard.tofu_events import redact_obj

    # Each string is redacted before it is encoded (keys too; a secret-named key's value whatever it looks
    # like), and so is the text of a value JSON has no type for: redacting the encoded text let a secret's value at the
    # end of a string (``"who": "bob password=…"``) take the closing quote with it, and the output was no
    # longer JSON.
    write(json.dumps(redact_obj(with_config_obj(to_jsonable(obj)), keys=True), indent=None if compact else 2,
                     separators=(",", ":") if compact else None, sort_keys=False,
                     default=lambda value: redact(str(value))))


_MARK = {"pass": ("PASS", "green"), "warn": ("WARN", "yellow"), "fail": ("FAIL", "red")}


def name_width(checks: "Sequence[Check]", floor: int = 17, cap: int = 32) -> int:
    """The name column's width for ``checks``: the longest name (``s3 state prefix [prod]``), at least
    ``floor``; a name longer than ``cap`` pushes only its own line's detail to the right."""
    return min(cap, max([floor, *(len(c.name) for c in checks)]))


def print_checks(checks: "Sequence[Check]", indent: str = "  ", width: int | None = None, *,
                 skipped_remedies: bool = True) -> None:
    """Print checks as ``PASS/WARN/FAIL name detail`` with the remedy under each non-pass; the names in one
    column of ``width`` (by default :func:`name_width` of ``checks``), so the details line up.

    Without ``skipped_remedies``, a check whose detail starts with ``skipped:`` shows no remedy: the remedy
    of the failure that stopped it is already printed above it."""
    width = name_width(checks) if width is None else width
    for check in checks:
        label, colour = _MARK[check.level.value]
        echo(f"{indent}{label}  {check.name:<{width}} {check.detail}", fg=colour)
        if check.level.value != "pass" and check.remedy and (skipped_remedies
                                                              or not check.detail.startswith("skipped:")):
            echo(f"{indent}      {'':<{width}} remedy: {check.remedy}")


def verdict(checks: "Sequence[Check]", ok: bool) -> str:
    """The last line of a check report: ``all checks passed``, saying how many of them only with a warning
    (an operator skimming for the verdict must not read a WARN as nothing), or ``some checks failed``."""
    if not ok:
        return "some checks failed"
    warned = sum(1 for c in checks if c.level.value == "warn")
    return f"all checks passed, {warned} with a warning (WARN above)" if warned else "all checks passed"


def emit_error_json(message: str, remedy: str | None, exit_code: int) -> None:
    """The common ``{"error": {message, remedy, exit_code}}`` object, on one line."""
    emit_json({"error": {"message": message, "remedy": remedy, "exit_code": exit_code}}, compact=True)


def echo(text: str = "", err: bool = False, **style: Any) -> None:
    """Print redacted text (styled when ``style`` is given and the stream is a terminal); commands in
    it carry this process's ``--config``; control characters other than newline and tab are shown
    escaped (text from outside never drives the terminal)."""
    write(printable_lines(redact(with_config(text))), err=err, **style)


#: The streams (False: stdout, True: stderr) whose reader went away; nothing more is written to them.
_closed: set[bool] = set()


def write(text: str = "", err: bool = False, **style: Any) -> None:
    """Print ``text`` as it is; a closed pipe (``| head``, a killed ``tee``) or a terminal that hung up
    silences that stream instead of raising, so a command in the middle of a deploy still finishes and
    journals its run."""
    if err in _closed:
        return
    try:
        if style and not os.environ.get("NO_COLOR"):  # https://no-color.org: any non-empty value
            click.secho(text, err=err, **style)
        else:
            click.echo(text, err=err)
    except OSError as exc:
        # EPIPE: the reader of a pipe is gone; EIO: the terminal hung up (a closed window, a dropped SSH).
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EIO:
            _silence(err)
            return
        if err:
            raise
        # stdout redirected to a file that cannot take more (a full disk, a quota, /dev/full): the rest of
        # the output is lost, not the command's work: it goes on as with a closed pipe, and fails at the end.
        _lost_stdout.append(exc.strerror or type(exc).__name__)
        _silence(err, lost=_lost_stdout[0])


#: Why stdout could not be written (a full disk), once it could not: the command then exits 1 (:func:`stdout_lost`).
_lost_stdout: list[str] = []


def stdout_lost() -> str:
    """Why stdout could not be written (``""`` when it could, or when only its reader went away)."""
    return _lost_stdout[0] if _lost_stdout else ""


def _silence(err: bool, lost: str = "") -> None:
    """Point a stream whose reader is gone (or that cannot be written, ``lost`` saying why) at /dev/null (the
    exit's own flush would fail again) and say so once on the other stream."""
    import os

    _closed.add(err)
    stream = sys.stderr if err else sys.stdout
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind it: nothing is left to flush into a pipe
        pass
    if not err and lost:
        write(f"error: stdout cannot be written ({lost}): the output is incomplete; the command goes on without "
              "printing (a deploy still journals every outcome and keeps its transcripts) and exits 1", err=True)
        write("remedy: free space where stdout goes (or send it elsewhere), then run the command again; after a "
              "deploy, `gfwizard status --once` and the journal say what it did", err=True)
    elif not err:
        write("note: stdout was closed; the command goes on without printing (a deploy still journals "
              "every outcome and keeps its transcripts)", err=True)


def handles_errors(f: F) -> F:
    """Turn :class:`GfwError` into a message, its remedy and the right exit code (never a traceback)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except GfwError as exc:
            as_json = bool(kwargs.get("as_json"))
            if as_json:
                emit_error_json(exc.message, exc.remedy, exc.exit_code)
            else:
                echo(f"error: {exc.message}", err=True, fg="red")
                if exc.remedy:
                    echo(f"remedy: {exc.remedy}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def read_line(prompt: str) -> str:
    """One line typed on the terminal (EOFError when it is closed). A signal during the wait raises
    from its handler whichever thread the kernel delivered it to: a blocking read would only wake for
    one delivered to this thread, so the wait is a select() that the signal wakeup fd also ends."""
    import os
    import select
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread gets a wakeup fd
        write(prompt, err=True, nl=False)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    previous = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    try:
        write(prompt, err=True, nl=False)
        while True:
            ready, _, _ = select.select([sys.stdin, wake_r], [], [])
            if wake_r in ready:
                os.read(wake_r, 64)  # the handler has run (or runs now, in this thread) and raised
                continue
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\r\n")
    finally:
        signal.set_wakeup_fd(previous)
        os.close(wake_r)
        os.close(wake_w)


def ask_yes_no(question: str) -> bool:
    """``question [y/N]`` on the terminal (default no). Ctrl-C or a closed terminal aborts, as with
    click's own prompt; unlike it, the wait ends whichever thread the signal was delivered to."""
    while True:
        try:
            answer = read_line(f"{question} [y/N]: ").strip().lower()
        except (KeyboardInterrupt, EOFError):
            echo("", err=True)
            raise click.Abort() from None
        if answer in ("y", "yes", "n", "no", ""):
            return answer in ("y", "yes")
        echo("Error: invalid input", err=True)
