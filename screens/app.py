"""The wizard application: step navigation, the one worker-error handler, the error modal."""

from __future__ import annotations

import importlib
import logging
import traceback
from typing import TYPE_CHECKING, Any, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding

from gfwizard.redact import redact
from screens.session import WizardSession

if TYPE_CHECKING:
    from textual.screen import Screen

    from screens.confirm_modal import ConfirmModal
    from screens.step import StepScreen

log = logging.getLogger("gfwizard.ui")

#: The wizard's steps in order, each "module:Class" so a step's module loads only when it is shown.
STEPS: dict[str, str] = {
    "preflight": "screens.preflight:PreflightScreen",
    "kubeconfig": "screens.kubeconfig_screen:KubeconfigScreen",
    "validate": "screens.validate_screen:ValidateScreen",
    "backend": "screens.backend_screen:BackendScreen",
    "config": "screens.config_screen:ConfigScreen",
    "deploy": "screens.deploy_screen:DeployScreen",
    "done": "screens.done_screen:DoneScreen",
}
STEP_NAMES = tuple(STEPS)
#: The quit question's last line, whatever it warns about.
QUIT_AGAIN = "\n\nCtrl+Q again also quits."
#: The quit question once the run it warned about has ended before the operator answered.
NOTHING_RUNS = "The run this question warned about has ended: nothing runs now, so quitting interrupts nothing."


def describe_error(error: BaseException) -> tuple[str, str]:
    """The (message, remedy) shown for a worker error; never a traceback."""
    from gfwizard.errors import GfwError
    from gfwizard.uilog import ui_error_log

    if isinstance(error, GfwError):
        return redact(error.message), redact(error.remedy or "")
    text = redact(f"{type(error).__name__}: {error}")
    # The log named is a real file (keep_details writes it): the remedy used to name a "UI log" nothing wrote.
    return text, f"This is unexpected. Its details (redacted) are in {ui_error_log()}: please report it with them."


def keep_details(app: App[Any], error: BaseException, logger: logging.Logger) -> None:
    """The traceback of ``error``, redacted, to ``logger``; an unexpected one also to the UI error log file, from a
    worker (a write that fails is said in a notification)."""
    from gfwizard.errors import GfwError
    from gfwizard.uilog import record_unexpected

    details = redact("".join(traceback.format_exception(error)))
    logger.error("%s", details)
    if isinstance(error, GfwError):
        return

    def write() -> None:
        problem = record_unexpected(details)
        if problem:
            app.call_from_thread(app.notify, f"The error's details could not be saved: {problem}",
                                 title="Not saved", severity="warning", markup=False)

    app.run_worker(write, thread=True, exit_on_error=False, group="ui-log")


class WizardApp(App[str]):
    """gfwizard's step-by-step wizard."""

    CSS_PATH = "wizard.tcss"
    TITLE = "gfwizard"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, session: WizardSession, start_at: str = "preflight") -> None:
        super().__init__()
        if start_at not in STEPS:
            raise ValueError(f"unknown step {start_at!r}; steps: {', '.join(STEPS)}")
        self.session = session
        self.start_at = start_at
        self.step = start_at
        #: A quit confirmation is open: the next Ctrl+Q quits without asking again.
        self._quit_asked = False
        #: The open quit confirmation, kept up to date by :meth:`quit_warning_changed`.
        self._quit_modal: "ConfirmModal | None" = None
        #: Quitting is decided and waits for a step's work to stop (the step says so, and exits when it has).
        self._stopping = False
        mode = "REHEARSAL" if session.is_rehearsal else "honey"
        self.sub_title = f"{mode} · {session.config_path}"

    def on_mount(self) -> None:
        self.push_screen(self._make_step(self.start_at))

    def _make_step(self, step: str) -> "StepScreen":
        module_name, class_name = STEPS[step].split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        self.step = step
        return cls(self.session)

    def goto(self, step: str) -> None:
        """Replace the current step screen with ``step``."""
        self.switch_screen(self._make_step(step))

    def next_step(self) -> None:
        """Advance to the step after the current one."""
        index = STEP_NAMES.index(self.step)
        if index + 1 < len(STEP_NAMES):
            self.goto(STEP_NAMES[index + 1])

    def previous_step(self) -> None:
        """Go back one step (the first step has nowhere to go)."""
        index = STEP_NAMES.index(self.step)
        if index > 0:
            self.goto(STEP_NAMES[index - 1])

    async def action_quit(self) -> None:
        """Quit; while a step has work in flight that quitting would interrupt, ask first (Ctrl+Q twice quits)."""
        from screens.confirm_modal import ConfirmModal

        if self._stopping:
            said = next((n for n in (getattr(s, "quitting_again", lambda: None)() for s in self.screen_stack) if n),
                        None)
            self.notify(said or "Quitting already: the step says what it waits for.", title="Quitting",
                        markup=False)
            return
        warning = self._quit_warning()
        if warning is None or self._quit_asked:
            if self._quit_modal is not None:  # Ctrl+Q again over the question: it must not hide what quitting waits for
                modal, self._quit_modal = self._quit_modal, None
                modal.withdraw()
            self._stop_then_exit()
            return
        self._quit_asked = True
        modal = self._quit_modal = ConfirmModal("Quit now?", warning + QUIT_AGAIN, "Quit")

        def answered(yes: bool | None) -> None:
            self._quit_asked = False
            if self._quit_modal is modal:
                self._quit_modal = None
            if yes:
                self._stop_then_exit()

        self.push_screen(modal, answered)

    def _stop_then_exit(self) -> None:
        """Quit; a step with work in flight stops it first, on screen, and exits once it has stopped (waiting
        after the exit instead left the terminal blank for as long as the binary took to save state)."""
        for screen in reversed(self.screen_stack):
            stop = getattr(screen, "stop_for_quit", None)
            if stop is not None and stop():
                self._stopping = True
                return
        self.exit()

    def stop_for_quit_failed(self) -> None:
        """The work a quit waited for ended badly: the wizard stays to show it (the step says so), and the next
        Ctrl+Q quits at once."""
        self._stopping = False

    def _quit_warning(self) -> str | None:
        """What quitting now would interrupt, from the first step screen that says so."""
        return next((w for w in (getattr(s, "quit_warning", lambda: None)() for s in self.screen_stack) if w), None)

    def quit_warning_changed(self) -> None:
        """Work in flight ended (or changed): an open quit question stops warning about what is gone. It stays
        open, so the operator's Ctrl+Q still gets its answer and nothing quits unasked."""
        if self._quit_modal is not None:
            self._quit_modal.set_body((self._quit_warning() or NOTHING_RUNS) + QUIT_AGAIN)

    def get_system_commands(self, screen: "Screen") -> Iterable[SystemCommand]:
        """Textual's palette commands but Screenshot, which writes a file without asking (and, over a step,
        only fails)."""
        return [command for command in super().get_system_commands(screen) if command.title != "Screenshot"]

    def show_error(self, error: BaseException, title: str = "Something went wrong") -> None:
        """Open the error modal for ``error`` (message and remedy, never a traceback)."""
        from screens.error_modal import ErrorModal

        message, remedy = describe_error(error)
        keep_details(self, error, log)
        self.push_screen(ErrorModal(title, message, remedy))
