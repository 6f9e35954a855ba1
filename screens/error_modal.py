"""The error modal: what went wrong and what to do about it; and its neutral twin for information."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from gfwizard.commands._common import with_config
from gfwizard.textsafe import printable_lines


class ErrorModal(ModalScreen[None]):
    """Shows a message and its remedy; Enter or Escape closes it."""

    BINDINGS = [Binding("escape,enter", "dismiss", "Close")]
    #: The Close button's variant: red says something went wrong.
    VARIANT = "error"

    def __init__(self, title: str, message: str, remedy: str) -> None:
        super().__init__()
        self.title_text = title
        # Messages quote servers and the binary: shown, never obeyed by the terminal.
        self.message = printable_lines(with_config(message))
        self.remedy = printable_lines(with_config(remedy))

    def compose(self) -> ComposeResult:
        with Vertical(id="error-dialog", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.message, id="error-message", markup=False)
                if self.remedy:
                    yield Static("Remedy: " + self.remedy, id="error-remedy", markup=False)
            yield Button("Close", id="error-close", variant=self.VARIANT)  # type: ignore[arg-type]
        yield Footer(compact=True, show_command_palette=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)


class InfoModal(ErrorModal):
    """The same dialog for what is no failure (gates that passed, node names whole): the Close button is
    not red, so an error dialog keeps meaning an error."""

    VARIANT = "primary"
