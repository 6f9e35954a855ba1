"""Step 5 — Config: the organization fields as a form, and the organization.yaml the wizard built as a diff
against the file; written on confirm."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Input, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from screens.confirm_modal import ConfirmModal
from screens.step import StepScreen

#: The organization-level answers, one form line each (the other questions are asked by earlier steps).
ORG_FIELDS = (("org_name", "Org name"), ("org_full_name", "Full name"), ("environments", "Environments"),
              ("confirm_environments", "Typed confirm"))
LABELS = dict(ORG_FIELDS)
#: The session extra that keeps what invalid fields showed when the step was left, so Back loses no typing.
UNSAVED = "config_unsaved_fields"
#: What an empty field shows (an empty confirmation list is an answer: no environment asks).
PLACEHOLDERS = {"org_name": "short, lowercase, e.g. tinyland", "org_full_name": "e.g. Tinyland",
                "environments": "comma separated, e.g. dev, prod",
                "confirm_environments": "none (comma separated, e.g. prod)"}


def diff_text(old: str | None, new: str, path: Path) -> Text:
    """A coloured unified diff (or the whole new file when there is no old one)."""
    if old is None:
        return Text(new)
    out = Text()
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), f"{path} (on disk)", f"{path} (new)",
                                     lineterm=""):
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else (
            "cyan" if line.startswith("@@") else "")
        out.append(line + "\n", style=style)
    return out


class ConfigScreen(StepScreen):
    """Shows the generated file and what changes; Ctrl+W writes it (atomic, previous kept as .bak)."""

    STEP_TITLE = "5 · organization.yaml"
    # The form is what a new operator acts on first (the YAML view, first before, only scrolls).
    AUTO_FOCUS = "#org_name"
    # priority: Ctrl+W must write while a field has focus (Input binds it to delete a word). "v" is not:
    # in a field it is a letter.
    BINDINGS = [Binding("ctrl+w", "write", "Write file", priority=True),
                Binding("v", "toggle_view", "Diff/whole file")]

    @dataclass
    class Rendered(Message):
        """The new file text and the file on disk (None when there is none)."""

        new_text: str
        old_text: str | None

    @dataclass
    class ConfigWritten(Message):
        """organization.yaml was written (Ctrl+W offers a write only when the diff is not empty)."""

        path: Path

    @dataclass
    class ChangedOnDisk(Message):
        """organization.yaml changed on disk after its diff was shown: nothing was written."""

        path: Path

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session)
        self.new_text: str | None = None
        self.old_text: str | None = None
        self.whole_file = False
        #: The last render came out as the file on disk (the help line says there is nothing to write).
        self.identical = False
        #: Fields whose shown value is invalid (key -> error): the draft keeps the last valid value.
        self.invalid: dict[str, str] = {}
        #: Environments that joined the typed confirmations because they were typed into the environments (prod):
        #: typing on to a name that does not say production ("prodigy") takes them out again, which a confirmation typed by the operator refuses.
        self.auto_confirmed: set[str] = set()

    def compose(self) -> ComposeResult:
        answers = self._answers()
        yield Header()
        with VerticalScroll(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static(self._help(), id="config-help", classes="step-help", markup=False)
            with Vertical(id="org-form", classes="form"):
                for key, label in ORG_FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(self._unsaved().get(key, answers.display(key)), id=key, classes="form-input",
                                    compact=True, placeholder=PLACEHOLDERS[key])
                    yield Static("", id=f"{key}-error", classes="form-error", markup=False)
            with VerticalScroll(id="config-view"):
                yield Static("Rendering…", id="config-diff")
        yield Static("", id="step-status", classes="step-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.render_config()
        # An invalid value left here by Back is shown again, as invalid (the draft holds only valid values).
        for key, value in list(self._unsaved().items()):
            self._apply_edit(key, value)

    def _unsaved(self) -> dict[str, str]:
        """Field -> the invalid text it showed when the step was left."""
        unsaved: dict[str, str] = self.session.extras.setdefault(UNSAVED, {})
        return unsaved

    def _answers(self) -> Any:
        from gfwizard.answers import ConfigAnswers

        assert self.session.draft is not None, "the Validate step drafts the config"
        return ConfigAnswers.from_config(self.session.draft)

    # ----- editing ------------------------------------------------------------------------
    @on(Input.Changed, ".form-input")
    def _field_changed(self, event: Input.Changed) -> None:
        assert event.input.id is not None
        self._apply_edit(event.input.id, event.value)

    def _reason(self, key: str, value: str, answers: Any) -> str | None:
        """Why ``value`` may not go into the draft as ``key`` (None when it may)."""
        from gfwizard.answers import dropped_environment_reason, validate_answer

        error = validate_answer(key, value, answers)
        if error is None and key == "environments":
            # Kept once the State backend step has set it up; opened here (`gfwizard config init`), any environment
            # may go, as with `config init --plain`, and the run goes on with one the file keeps.
            keep = self.session.env if self.session.backend_ready else None
            error = dropped_environment_reason(value, answers, keep=keep)
        return error

    def _apply_edit(self, key: str, value: str) -> None:
        """Validate one field as typed; a valid change goes into the draft and the file is rendered again.
        A field left invalid because of another one (an environment not listed yet) is taken once it fits."""
        from pydantic import ValidationError

        from gfwizard.answers import build_config, parse_list
        from gfwizard.orgconfig_yaml import problems_from_validation

        answers = self._answers()
        before = list(answers.environments)
        if key == "environments":
            typed = parse_list(value)
            answers.confirm_environments = [e for e in answers.confirm_environments
                                            if e in typed or e not in self.auto_confirmed]
        current = answers.get(key)
        unchanged = (parse_list(value) if isinstance(current, list) else value) == current
        error = None if unchanged else self._reason(key, value, answers)
        draft = None
        if error is None and not unchanged:
            answers.set(key, value)
            try:
                draft = build_config(answers)
            except ValidationError as exc:  # the model's own rules: shown, never raised in the UI
                error = "; ".join(f"{p.field_path}: {p.message}" for p in problems_from_validation(exc, "answers"))
            except ValueError as exc:
                error = str(exc)
        shown = self.query_one(f"#{key}-error", Static)
        shown.update(error or "")
        shown.set_class(bool(error), "-shown")
        self.invalid.pop(key, None)
        self._unsaved().pop(key, None)
        if error:
            self.invalid[key] = error
            self._unsaved()[key] = value
        elif draft is not None:
            from gfwizard.draft import wizard_env

            self.session.draft = draft
            self.session.env = wizard_env(draft, self.session.env)
            self._note_confirmations(key, before, answers)
            # Until the new text is back, the diff on screen is not what Ctrl+W would write.
            self.new_text = None
            self.render_config()
            for other in [k for k in self.invalid if k != key]:
                self._apply_edit(other, self.query_one(f"#{other}", Input).value)
        self._update_status()

    def _note_confirmations(self, key: str, before: list[str], answers: Any) -> None:
        """Keep the Typed confirm field showing the draft's confirmations once the environments changed them."""
        from gfwizard.answers import newly_confirmed, parse_list

        if key == "confirm_environments":
            self.auto_confirmed.clear()  # typed by the operator: theirs now
            return
        if key != "environments":
            return
        self.auto_confirmed = {e for e in self.auto_confirmed if e in answers.confirm_environments} | set(
            newly_confirmed(before, answers.environments))
        field = self.query_one("#confirm_environments", Input)
        if "confirm_environments" not in self.invalid and parse_list(field.value) != answers.confirm_environments:
            field.value = answers.display("confirm_environments")

    def _update_status(self) -> None:
        """The status line (the first invalid field, else what the last render found), and the help line."""
        self.query_one("#config-help", Static).update(self._help())
        if self.invalid:
            key, error = next(iter(self.invalid.items()))
            self._status(f"{LABELS[key]}: {error} (fix it: Ctrl+W writes only valid values)", True)
        elif self.new_text is None:
            self._status("Rendering the config…", True)
        elif self.old_text == self.new_text:
            self._status(f"{self.session.config_path} is already up to date. Ctrl+N for Next.", False)
        else:
            what = "a new file" if self.old_text is None else "the changes are shown above"
            self._status(f"Not written yet ({what}). Ctrl+W writes it.", True)
        self.refresh_bindings()

    def _help(self) -> str:
        """The line under the title: what Ctrl+W would do, that there is nothing to write, or, while a field is
        invalid, that nothing is written until it is fixed (the file may hold the draft, never what was typed)."""
        if self.invalid:
            return (f"{self.session.config_path} (never holds a secret): a field below has a problem; nothing is "
                    "written until it is fixed.")
        if self.identical:
            return f"{self.session.config_path} already holds this (never a secret); nothing to write."
        return f"{self.session.config_path} (never holds a secret). Review it, then Ctrl+W writes it."

    @work(thread=True, exclusive=True, exit_on_error=False, group="config")
    def render_config(self) -> None:
        """Render the draft exactly as it would be written (comments of the existing file kept)."""
        from gfwizard.orgconfig import render_config
        from gfwizard.orgconfig_write import read_existing

        assert self.session.draft is not None, "the Validate step drafts the config"
        path = self.session.config_path
        # As stored (CRLF kept): the text the write compares with and renders over.
        old = read_existing(path)
        new = render_config(self.session.draft, old)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Rendered(new, old))

    def on_config_screen_rendered(self, message: Rendered) -> None:
        self.new_text, self.old_text = message.new_text, message.old_text
        self.identical = message.old_text == message.new_text
        self.session.config_written = message.old_text == message.new_text
        self._show()
        self._update_status()

    def _show(self) -> None:
        assert self.new_text is not None
        view = self.query_one("#config-diff", Static)
        if self.whole_file or self.old_text is None or self.old_text == self.new_text:
            view.update(Syntax(self.new_text, "yaml", theme="ansi_dark", line_numbers=False, word_wrap=True))
        else:
            view.update(diff_text(self.old_text, self.new_text, self.session.config_path))

    def action_toggle_view(self) -> None:
        """Switch between the diff and the whole new file."""
        self.whole_file = not self.whole_file
        if self.new_text is not None:
            self._show()

    def action_write(self) -> None:
        """Confirm, then write atomically."""
        if self.invalid:
            self._update_status()
            return
        if self.new_text is None or self.new_text == self.old_text:
            self.notify("Nothing to write.")
            return
        from gfwizard.orgconfig_write import backup_path

        where = self.session.config_path
        backup = f"\nThe previous file is kept as {backup_path(where)}." if self.old_text is not None else ""
        self.app.push_screen(ConfirmModal("Write organization.yaml?", f"Write {where}\n(atomic: temp file, then "
                                          f"rename).{backup}", "Write"),
                             lambda yes: self.write() if yes else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="config-write")
    def write(self) -> None:
        """Save through the core (temp file + rename, .bak kept, comments preserved)."""
        from gfwizard.orgconfig import save_config
        from gfwizard.orgconfig_write import ConfigChangedError

        assert self.session.draft is not None
        path = self.session.config_path
        try:
            # Someone may have changed the file after the diff was shown: writing then would replace
            # what they wrote with something the operator never saw, so the core refuses.
            save_config(self.session.draft, path, expected=self.old_text)
        except ConfigChangedError:
            self.post_message(self.ChangedOnDisk(path))
            return
        self.post_message(self.ConfigWritten(path))

    def on_config_screen_changed_on_disk(self, message: ChangedOnDisk) -> None:
        self.notify(f"{message.path} changed on disk since the diff was shown: nothing was written. The diff "
                    "now compares with the file as it is; Ctrl+W writes that.", title="Not written",
                    severity="warning", timeout=15, markup=False)
        self.render_config()

    def on_config_screen_config_written(self, message: ConfigWritten) -> None:
        self.session.config_written = True
        self.session.existing_config = self.session.draft
        self.notify(f"Wrote {message.path}", markup=False)
        self.render_config()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The base class opens the error modal; this only keeps the status line honest.
        if event.state is WorkerState.ERROR and event.worker.group in ("config", "config-write"):
            self._status("Nothing was written (see the error).", True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_view":
            if isinstance(self.focused, Input):
                return False  # "v" is a letter there: offering it would promise a key the field takes
            return self.old_text is not None and self.new_text is not None and self.old_text != self.new_text
        if action == "write":
            return not self.invalid and self.new_text is not None and self.new_text != self.old_text
        return super().check_action(action, parameters)

    def blocked_reason(self) -> str | None:
        if self.invalid:
            key, error = next(iter(self.invalid.items()))
            return f"{LABELS[key]}: {error}"
        if self.new_text is None:
            return "Rendering the config…"
        if not self.session.config_written:
            return "Write organization.yaml first (Ctrl+W)."
        return None
