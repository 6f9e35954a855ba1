"""Step 1 — Preflight: IaC binary, kubectl, repo layout, existing organization.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Header, Static

from gfwizard.checks import Check, Level
from screens.checklist import Checklist
from screens.step import StepScreen

PREFLIGHT_CHECKS = ("IaC binary", "kubectl", "repository layout", "organization config")


class PreflightScreen(StepScreen):
    """Checks the machine before anything else happens."""

    STEP_TITLE = "1 · Preflight"

    @dataclass
    class PreflightFinished(Message):
        """The preflight checks came back."""

        checks: list[Check]

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session)
        self.checks: list[Check] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static("Checking this machine: tools, the checkout, an existing organization.yaml.",
                         classes="step-help")
            yield Checklist(id="preflight-checks")
            yield Static("", id="step-status", classes="step-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Checklist).set_pending(PREFLIGHT_CHECKS)
        self.run_checks()

    @work(thread=True, exclusive=True, exit_on_error=False, group="preflight")
    def run_checks(self) -> None:
        """Run the preflight checks off the UI thread."""
        from gfwizard.preflight import run_preflight

        checks = run_preflight(self.session.repo, self.session.config_path)
        self.post_message(self.PreflightFinished(checks))

    def on_preflight_screen_preflight_finished(self, message: PreflightFinished) -> None:
        self.checks = message.checks
        self.query_one(Checklist).show(message.checks)
        status = self.query_one("#step-status", Static)
        reason = self.blocked_reason()
        status.update(reason or "Ready. Press Ctrl+N for Next.")
        status.set_class(reason is not None, "blocked")
        self.refresh_bindings()

    def blocked_reason(self) -> str | None:
        if self.checks is None:
            return "Preflight checks are still running."
        failing = [c.name for c in self.checks if c.level is Level.FAIL]
        if failing:
            return "Fix before continuing: " + ", ".join(failing) + " (see Remedy)."
        return None
