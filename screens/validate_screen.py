"""Step 3 — Validate: the chosen context against honey, as a live checklist; fingerprint pinning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Header, Static

from gfwizard.checks import Level
from screens.checklist import Checklist
from screens.confirm_modal import ConfirmModal
from screens.step import StepScreen

if TYPE_CHECKING:
    from gfwizard.cluster import ValidationReport


class ValidateScreen(StepScreen):
    """Runs the cluster checks; a failing check blocks Next and shows its remedy."""

    STEP_TITLE = "3 · Validate"
    BINDINGS = [Binding("r", "rerun", "Re-run checks"), Binding("p", "pin", "Pin fingerprint")]

    @dataclass
    class ValidationFinished(Message):
        """The cluster checks came back."""

        report: "ValidationReport"

    @dataclass
    class FingerprintPinned(Message):
        """The fingerprint was pinned (into the file, or into the draft when no file exists yet)."""

        written: bool

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session)
        self.report: "ValidationReport | None" = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static(f"Context {self.session.context!r} against the configured cluster. "
                         "Nothing is written to the cluster.", classes="step-help")
            yield Checklist(id="validate-checks")
            yield Static("Validating…", id="step-status", classes="step-status")
        yield Footer()

    def on_mount(self) -> None:
        self.action_rerun()

    def action_rerun(self) -> None:
        """Run every check again."""
        from gfwizard.cluster import CHECK_ORDER

        self.report = None
        self.query_one(Checklist).set_pending(CHECK_ORDER)
        self._status("Validating…", False)
        self.refresh_bindings()
        self.validate()

    @work(thread=True, exclusive=True, exit_on_error=False, group="validate")
    def validate(self) -> None:
        """Load (or draft) the config and validate the chosen context, off the UI thread."""
        from gfwizard.cluster import validate_context
        from gfwizard.draft import load_or_draft

        session = self.session
        if session.draft is None:
            draft = load_or_draft(session.config_path, kubeconfig=session.kubeconfig, context=session.context)
            session.draft, session.existing_config = draft.config, draft.existing
        report = validate_context(session.draft, kubeconfig=session.kubeconfig, context=session.context)
        self.post_message(self.ValidationFinished(report))

    def on_validate_screen_validation_finished(self, message: ValidationFinished) -> None:
        self.report = message.report
        self.query_one(Checklist).show(message.report.checks)
        self.session.validated = self.blocked_reason() is None
        reason = self.blocked_reason()
        if reason is None and self._pin_needed():
            self._status("Fingerprint not pinned yet: press p to pin it (you will be asked).", True)
            self.action_pin()
        else:
            self._status(reason or "All checks passed. Ctrl+N for Next.", reason is not None)
        self.refresh_bindings()

    def _pin_needed(self) -> bool:
        return (self.report is not None and self.report.observed_fingerprint is not None
                and self.session.draft is not None and self.session.draft.cluster.fingerprint is None)

    def action_pin(self) -> None:
        """Ask for consent, then pin the observed fingerprint."""
        if not self._pin_needed() or self.report is None or self.report.observed_fingerprint is None:
            self.notify("Nothing to pin: the fingerprint is already pinned or was not observed.")
            return
        fp = self.report.observed_fingerprint
        target = (f"into {self.session.config_path} (atomic write, previous file kept as .bak)"
                  if self.session.config_path.is_file() else
                  "into the draft config (written at the Config step, after you see it)")
        body = (f"Pin honey's identity {target}:\n\n  kube-system UID  {fp.kube_system_uid}\n"
                f"  CA sha256        {fp.ca_sha256}\n\nFrom now on a different cluster behind this "
                "context is a hard stop before any write.")
        self.app.push_screen(ConfirmModal("Pin the cluster fingerprint?", body, "Pin it"), self._pin_answer)

    def _pin_answer(self, yes: bool | None) -> None:
        if yes:
            self.pin()
        else:
            self._status("Fingerprint not pinned: deploys stay blocked until it is (press p).", True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="pin")
    def pin(self) -> None:
        """Pin the fingerprint (through the core's atomic save) and re-validate."""
        from gfwizard.cluster import pin_fingerprint

        session, report = self.session, self.report
        assert report is not None and report.observed_fingerprint is not None and session.draft is not None
        fp = report.observed_fingerprint
        if session.config_path.is_file() and session.existing_config is not None:
            pinned, written = pin_fingerprint(session.existing_config, session.config_path, fp)
            session.existing_config = pinned
            session.draft = session.draft.with_fingerprint(fp.kube_system_uid, fp.ca_sha256)
        else:
            session.draft, written = session.draft.with_fingerprint(fp.kube_system_uid, fp.ca_sha256), False
        self.post_message(self.FingerprintPinned(written))

    def on_validate_screen_fingerprint_pinned(self, message: FingerprintPinned) -> None:
        self.notify("Fingerprint pinned" + (f" in {self.session.config_path}" if message.written else " in the draft"))
        self.action_rerun()

    def _status(self, text: str, blocked: bool) -> None:
        status = self.query_one("#step-status", Static)
        status.update(text)
        status.set_class(blocked, "blocked")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pin":
            return self._pin_needed()
        return super().check_action(action, parameters)

    def blocked_reason(self) -> str | None:
        if self.report is None:
            return "Validation is still running."
        failing = [c for c in self.report.checks if c.level is Level.FAIL]
        if failing:
            first = failing[0]
            return f"{first.name} failed: {first.detail} — {first.remedy}"
        if self._pin_needed():
            return "Pin the cluster fingerprint first (p)."
        return None
