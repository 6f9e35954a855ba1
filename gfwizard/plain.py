"""``gfwizard config init --plain``: the wizard's Config questions with questionary, no full-screen UI.

Questions go through a small :class:`Prompter` protocol (tests pass a fake one). The answers build
the config with :func:`gfwizard.answers.build_config` — the function the wizard uses — and the file
is rendered with :func:`gfwizard.orgconfig.render_config`, shown (with a diff against the existing
file) and written only on confirmation. Ctrl-C at any prompt writes nothing, and so does Ctrl-D at a choice, a
yes/no or an empty text line.
"""

from __future__ import annotations

import difflib
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from gfwizard.answers import QUESTIONS, ConfigAnswers, Question, build_config, questions_for, validate_answer
from gfwizard.errors import InputError

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

Validator = Callable[[str], "str | None"]


class Prompter(Protocol):
    """Asks one question at a time; returns None when the operator cancels (Ctrl-C, or Ctrl-D)."""

    def text(self, key: str, message: str, default: str = "", validate: Validator | None = None,
             help: str = "") -> str | None:
        """Free text; ``validate`` returns an error message or None."""

    def select(self, key: str, message: str, choices: Sequence[str], default: str | None = None,
               help: str = "") -> str | None:
        """One of ``choices``."""

    def confirm(self, key: str, message: str, default: bool = False) -> bool | None:
        """Yes or no."""


class QuestionaryPrompter:
    """The real prompt layer (questionary); needs an interactive terminal.

    ``input``/``output`` are prompt_toolkit streams (tests drive the real prompts through a pipe).
    """

    def __init__(self, input: Any = None, output: Any = None) -> None:
        self._io = {k: v for k, v in (("input", input), ("output", output)) if v is not None}

    def text(self, key: str, message: str, default: str = "", validate: Validator | None = None,
             help: str = "") -> str | None:
        import questionary

        current = default
        while True:
            value = _ask(questionary.text(message, default=current, instruction=_instruction(help), **self._io))
            error = validate(value) if validate and value is not None else None
            if error is None:
                return value
            # Said whole above the question asked again (with the answer kept for editing): questionary's
            # own validation line is one row, and these messages (what is wrong, what to do) are longer.
            output = {"output": self._io["output"]} if "output" in self._io else {}
            questionary.print(f"✗ {error}", style="fg:ansired", **output)
            current = value

    def select(self, key: str, message: str, choices: Sequence[str], default: str | None = None,
               help: str = "") -> str | None:
        import questionary

        return _ask(_end_of_input_cancels(questionary.select(message, choices=list(choices), default=default,
                                                             instruction=_instruction(help), **self._io)))

    def confirm(self, key: str, message: str, default: bool = False) -> bool | None:
        import questionary

        return _ask(questionary.confirm(message, default=default, **self._io))


def _ask(question: Any) -> Any:
    """The answer, or None when the operator cancelled: Ctrl-C, or Ctrl-D (end of input) at a yes/no or a choice
    or on an empty text line, which questionary lets through as EOFError (on a line with text, Ctrl-D deletes the
    character under the cursor, as in a shell)."""
    try:
        return question.ask()
    except EOFError:
        return None


def _end_of_input_cancels(question: Any) -> Any:
    """``question`` (a questionary select) ended by Ctrl-D as end of input, as a yes/no or an empty text prompt
    is: questionary's select binds only Ctrl-C and Ctrl-Q, so Ctrl-D did nothing there."""
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

    bindings = KeyBindings()

    @bindings.add("c-d", eager=True)
    def _end_of_input(event: Any) -> None:
        event.app.exit(exception=EOFError, style="class:aborting")

    app = question.application
    app.key_bindings = merge_key_bindings([app.key_bindings, bindings])
    return question


def _instruction(help_text: str) -> str | None:
    return f"({help_text})" if help_text else None


#: The way to an organization.yaml without a terminal, which ``config init`` names with or without ``--plain``.
WITHOUT_A_TERMINAL = "copy config/organization.example.yaml, edit it and check it with `gfwizard config validate`"


def make_prompter() -> Prompter:
    """The prompter ``config init --plain`` uses (InputError without an interactive terminal)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError("`gfwizard config init --plain` needs an interactive terminal",
                         remedy=f"run it in a terminal, or {WITHOUT_A_TERMINAL}")
    return QuestionaryPrompter()


class Outcome(str, Enum):
    """How a plain init ended."""

    WRITTEN = "written"
    UNCHANGED = "unchanged"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Cancelled(Exception):
    """The operator pressed Ctrl-C (or a prompt returned None)."""


def ask_all(prompter: Prompter, answers: ConfigAnswers, questions: Sequence[Question] = QUESTIONS,
            echo: Callable[[str], None] | None = None) -> ConfigAnswers:
    """Ask every question that applies, in order, updating ``answers``; raises :class:`Cancelled`.

    Each answer is checked with the config's own rules. A choice that conflicts with an earlier answer
    (``loopback`` for a tailnet API server) is shown with the reason and asked again together with the
    earlier question(s) it conflicts with, so either can change.
    """
    out = echo or _echo
    by_key = {q.key: q for q in QUESTIONS}
    pending = list(questions)
    while pending:
        question = pending.pop(0)
        if not question.applies(answers):
            continue
        key = question.key
        if question.kind == "select":
            value: object = prompter.select(key, question.prompt, question.choices,
                                            default=answers.display(key), help=question.help)
        elif question.kind == "confirm":
            value = prompter.confirm(key, question.prompt, default=bool(answers.get(key)))
        else:
            value = prompter.text(key, question.prompt, default=answers.display(key), help=question.help,
                                  validate=lambda v, k=key: validate_answer(k, v, answers))
        if value is None:
            raise Cancelled()
        error = validate_answer(key, value, answers)
        if error is not None:
            if question.kind == "text":  # a prompter that skipped validation must not sneak a bad value in
                raise InputError(f"{question.prompt}: {error}")
            again = [by_key[k] for k in question.reads] + [question]
            out(f"{question.prompt}: {error}. Asking again: " + ", ".join(q.prompt for q in again) + ".")
            pending[:0] = again
            continue
        answers.set(key, value)
    return answers


def _answers_to_config(prompter: Prompter, answers: ConfigAnswers, out: Callable[[str], None]) -> "OrgConfig":
    """Ask every question, then build the config; a cross-field rule that still fails is shown and the
    questions behind it asked again (every other answer kept) until the answers make a valid config."""
    from pydantic import ValidationError

    from gfwizard.orgconfig_yaml import problems_from_validation

    pending: Sequence[Question] = QUESTIONS
    while True:
        ask_all(prompter, answers, pending, echo=out)
        try:
            return build_config(answers)
        except ValidationError as exc:
            problems = problems_from_validation(exc, "answers")
        again = [q for q in QUESTIONS if any(q in questions_for(p.field_path) for p in problems)]
        shown = "\n".join(f"  {p.field_path}: {p.message}" for p in problems)
        if not again or any(not questions_for(p.field_path) for p in problems):
            raise InputError(f"the answers do not make a valid organization config:\n{shown}",
                             remedy="nothing was written; these fields come from the existing file, not from a "
                                    "question: fix it (reference: docs/config-reference.md), then run "
                                    "`gfwizard config init --plain` again")
        out(f"These answers do not fit together:\n{shown}")
        out("Asking again: " + ", ".join(q.prompt for q in again) + " (every other answer is kept).")
        pending = again


def load_existing(path: Path, force: bool) -> tuple[str | None, "ConfigAnswers"]:
    """The existing file's text (None when there is none) and the answers to start from."""
    from gfwizard.orgconfig import ConfigError, load_config_text
    from gfwizard.orgconfig_write import backup_path
    from gfwizard.orgconfig_yaml import read_config_text

    if not path.exists():
        return None, ConfigAnswers()
    text = read_config_text(path)
    try:
        return text, ConfigAnswers.from_config(load_config_text(text, str(path)))
    except ConfigError as exc:
        if not force:
            raise InputError(
                f"{path} exists but is not a valid organization config:\n"
                + "\n".join(f"  {p}" for p in exc.problems),
                remedy="fix it (see `gfwizard config validate`), or pass --force to answer from the defaults "
                       f"(the old file is kept as {backup_path(path)})",
            ) from None
        return text, ConfigAnswers()


def run_plain_init(path: Path, prompter: Prompter, *, force: bool = False,
                   echo: Callable[[str], None] | None = None) -> Outcome:
    """Ask, render, show, and write ``path`` only on confirmation. Nothing is written unless WRITTEN."""
    from gfwizard.orgconfig import render_config, save_config
    from gfwizard.orgconfig_write import backup_path, check_writable

    out = echo or _echo
    path = Path(path).expanduser()
    existing, answers = load_existing(path, force)
    check_writable(path)  # before the questions: a read-only file must not cost the operator every answer
    # questionary puts the current value in the answer itself (editable), never in brackets.
    out(f"Answers for {path} (Enter keeps the value already typed in; Ctrl-C stops without writing).")
    try:
        cfg = _answers_to_config(prompter, answers, out)
        pinned = answers.base.cluster.fingerprint if answers.base is not None else None
        if pinned is not None and cfg.cluster.fingerprint is None:
            out(f"Note: the pinned fingerprint (kube-system UID {pinned.kube_system_uid}) is dropped: it was pinned "
                "for the old API server or cluster name. Pin the new one with `gfwizard validate --pin` before a "
                "deploy (the deploy gates refuse an unpinned cluster).")
        text = render_config(cfg, existing)
        if existing is not None and text == existing:
            out(f"{path} already holds this configuration; nothing written.")
            return Outcome.UNCHANGED
        out("")
        out(text.rstrip("\n"))
        if existing is not None:
            out("")
            out(f"Changes to {path}:")
            out("".join(difflib.unified_diff(existing.splitlines(True), text.splitlines(True),
                                             fromfile=f"{path} (current)", tofile=f"{path} (new)")).rstrip("\n"))
        confirmed = prompter.confirm("write", f"Write {path}?", default=False)
    except (Cancelled, KeyboardInterrupt):
        out("Cancelled: nothing written.")
        return Outcome.CANCELLED
    if confirmed is None:
        out("Cancelled: nothing written.")
        return Outcome.CANCELLED
    if not confirmed:
        out("Not written.")
        return Outcome.DECLINED
    save_config(cfg, path, expected=existing)  # refuses when the file changed since its diff was shown
    kept = f" (previous file kept as {backup_path(path)})" if existing is not None else ""
    out(f"Wrote {path}{kept}. Check it with `gfwizard config validate`.")
    return Outcome.WRITTEN


def _echo(text: str) -> None:
    import click

    from gfwizard.redact import redact

    click.echo(redact(text))
