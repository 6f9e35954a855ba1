"""Step 1 — Preflight: IaC binary, kubectl, repo layout, existing organization.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from screens.checklist import Checklist
from screens.step import StepScreen

if TYPE_CHECKING:
    from gfwizard.checks import Check
    from screens.session import WizardSession

PREFLIGHT_CHECKS = ("IaC binary", "kubectl", "repository layout", "organization config")


class PreflightScreen(StepScreen):
    """Checks the machine before anything else happens."""

    STEP_TITLE = "1 · Preflight"
    BINDINGS = [Binding("r", "rerun", "Re-run checks")]

    @dataclass
    class PreflightFinished(Message):
        """The preflight checks came back."""

        checks: list["Check"]

    def __init__(self, session: "WizardSession") -> None:
        super().__init__(session)
        self.checks: list["Check"] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static("Checking this machine: tools, the checkout, an existing organization.yaml.",
                         classes="step-help")
            yield Checklist(id="preflight-checks")
        yield Static("Checking…", id="step-status", classes="step-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        # Paint first: the checks (and the imports they need) start once the screen is up.
        self.query_one(Checklist).set_pending(PREFLIGHT_CHECKS)
        self.call_after_refresh(self.action_rerun)

    def action_rerun(self) -> None:
        """Run the preflight checks (again: after installing a tool, say)."""
        self.checks = None
        self.query_one(Checklist).set_pending(PREFLIGHT_CHECKS)
        self._status("Checking…", True)
        self.refresh_bindings()
        self.run_checks()

    @work(thread=True, exclusive=True, exit_on_error=False, group="preflight")
    def run_checks(self) -> None:
        """Run the preflight checks off the UI thread."""
        from gfwizard.preflight import run_preflight

        checks = run_preflight(self.session.repo, self.session.config_path, rehearsal=self.session.is_rehearsal)
        if not get_current_worker().is_cancelled:
            self.post_message(self.PreflightFinished(checks))

    def on_preflight_screen_preflight_finished(self, message: PreflightFinished) -> None:
        self.checks = message.checks
        self.query_one(Checklist).show(message.checks)
        reason = self.blocked_reason()
        self._status(reason or "Ready. Ctrl+N for Next.", reason is not None)
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The base class opens the error modal; this only keeps the status line honest.
        if event.state is WorkerState.ERROR and event.worker.group == "preflight":
            self._status("The preflight checks could not run (see the error). r runs them again.", True)

    def blocked_reason(self) -> str | None:
        if self.checks is None:
            return "Preflight checks are still running."
        failing = [c.name for c in self.checks if not c.ok]
        if failing:
            return "Fix before continuing: " + ", ".join(failing) + " (see the remedy above), then r re-runs the checks."
        return None
