"""The base of every wizard step: header, footer, Back/Next, and the one worker-error handler."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import ActiveBinding, Binding
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from gfwizard.commands._common import with_config
from screens.session import WizardSession

if TYPE_CHECKING:
    from screens.app import WizardApp


#: The keys of :attr:`StepScreen.BINDINGS`, in the order the footer lists them first.
_STEP_KEYS = ("ctrl+n", "escape", "ctrl+q")


class StepScreen(Screen[None]):
    """A wizard step. Subclasses say when Next is allowed through :meth:`blocked_reason`."""

    STEP_TITLE = ""
    BINDINGS = [
        Binding("ctrl+n", "next", "Next"),
        Binding("escape", "back", "Back"),
        # The app's Ctrl+Q, named here so that the footer lists it before the step's own keys: on a narrow
        # terminal those are cut, never Quit. Priority, as the app's, so that it wins over the app's (hidden).
        Binding("ctrl+q", "app.quit", "Quit", priority=True),
    ]

    def __init__(self, session: WizardSession) -> None:
        super().__init__()
        self.session = session

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The footer's keys, Next, Back and Quit first. A focused field's own binding of a key the step takes over
        with a priority binding (an Input's Ctrl+W) would otherwise put the step's key in the field's place: first."""
        bindings = super().active_bindings
        return {**{key: bindings[key] for key in _STEP_KEYS if key in bindings}, **bindings}

    @property
    def wizard(self) -> "WizardApp":
        """The app, typed."""
        return cast("WizardApp", self.app)

    def blocked_reason(self) -> str | None:
        """Why Next is not allowed yet, or None when it is."""
        return None

    def _status(self, text: str, blocked: bool) -> None:
        """Show ``text`` in the step's status line (``#step-status``); ``blocked`` styles it as a stop.
        A gfwizard command it names carries the config this session was started with."""
        status = self.query_one("#step-status", Static)
        status.update(with_config(text))
        status.set_class(blocked, "blocked")

    def quit_warning(self) -> str | None:
        """What quitting now would interrupt (the app asks first), or None when nothing would be."""
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next" and self.blocked_reason() is not None:
            return None
        if action == "back" and self.wizard.step == "preflight":
            return False
        return True

    def action_next(self) -> None:
        """Go to the next step, or say why not."""
        reason = self.blocked_reason()
        if reason is not None:
            self.notify(reason, title="Not yet", severity="warning", markup=False)
            return
        self.wizard.next_step()

    def action_back(self) -> None:
        """Go back one step; inside a text field, Escape only leaves the field."""
        from textual.widgets import Input

        if isinstance(self.focused, Input):
            self.set_focus(None)
            return
        self.wizard.previous_step()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors are handled: an error modal with message and remedy."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.wizard.show_error(event.worker.error)
        self.refresh_bindings()
