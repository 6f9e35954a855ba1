"""Consent dialogs: a yes/no confirmation, and a typed confirmation for prod."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from gfwizard.gates import shown_answer, typed_matches


class ConfirmModal(ModalScreen[bool]):
    """Shows what will happen; returns True only on an explicit yes (the Yes button, or y)."""

    #: Cancel has the focus, so a stray Enter never agrees to anything.
    AUTO_FOCUS = "#confirm-no"
    BINDINGS = [Binding("escape,n", "cancel", "Cancel"), Binding("y", "confirm", "Yes")]

    def __init__(self, title: str, body: str | Text, confirm_label: str = "Yes, do it") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        #: The question no longer applies (:meth:`withdraw`): any answer is a no.
        self.withdrawn = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body, id="confirm-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.confirm_label} (y)", id="confirm-yes", variant="warning")
                yield Button("Cancel", id="confirm-no", variant="primary")
        # The dialog's own keys, over the step's (which do nothing while it is open).
        yield Footer(compact=True, show_command_palette=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._answer(event.button.id == "confirm-yes")

    def action_confirm(self) -> None:
        self._answer(True)

    def action_cancel(self) -> None:
        self._answer(False)

    def set_body(self, body: str | Text) -> None:
        """Replace what the dialog says; the question and its buttons stay."""
        self.body = body
        if self.is_mounted:
            self.query_one("#confirm-body", Static).update(body)

    def withdraw(self) -> None:
        """The question no longer applies: close with a no, now if this dialog is on top, else as soon as
        the dialogs opened over it have closed."""
        self.withdrawn = True
        self._answer(False)

    def on_screen_resume(self) -> None:
        if self.withdrawn:
            self._answer(False)

    def _answer(self, yes: bool) -> None:
        # Screen.dismiss pops whichever screen is on top: only the dialog on top may close itself.
        if self.is_active:
            self.dismiss(yes and not self.withdrawn)


class TypedConfirmModal(ModalScreen[bool]):
    """The operator must type ``expected`` (the environment name) to confirm."""

    AUTO_FOCUS = "#typed-confirm"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, body: str | Text, expected: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.expected = expected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-danger"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body, id="confirm-body", markup=False)
            yield Static(f"Type {self.expected!r} to apply:", classes="dialog-prompt")
            yield Input(placeholder=self.expected, id="typed-confirm")
            yield Static("", id="typed-mismatch")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", id="confirm-yes", variant="error", disabled=True)
                yield Button("Cancel", id="confirm-no", variant="primary")
        yield Footer(compact=True, show_command_palette=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm-yes", Button).disabled = not typed_matches(event.value, self.expected)
        note = self.query_one("#typed-mismatch", Static)
        note.update("")
        note.display = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if typed_matches(event.value, self.expected):
            self.dismiss(True)
            return
        # Enter on a wrong name must not look like a dead key: say why nothing happened.
        typed = shown_answer(event.value.strip())  # as `gfwizard deploy` repeats it
        said = f"{typed!r} is not {self.expected!r}" if typed.strip() else "nothing typed"
        note = self.query_one("#typed-mismatch", Static)
        note.update(Text(f"{said}: type the environment name exactly to apply, or Escape to cancel"))
        note.display = True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes" and typed_matches(self.query_one(Input).value, self.expected))

    def action_cancel(self) -> None:
        self.dismiss(False)
