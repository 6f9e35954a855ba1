"""Step 3 — Validate: the chosen context against honey, as a live checklist; fingerprint pinning."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from gfwizard.checks import Level
from screens.checklist import Checklist
from screens.confirm_modal import ConfirmModal
from screens.step import StepScreen

if TYPE_CHECKING:
    from gfwizard.cluster import ValidationReport
    from gfwizard.orgconfig import OrgConfig
    from screens.session import WizardSession


def with_context(cfg: "OrgConfig", kubeconfig: str | None, context: str | None) -> "OrgConfig":
    """``cfg`` pointing at the operator's chosen kubeconfig and context (everything else kept)."""
    from gfwizard.answers import ConfigAnswers, build_config

    if not context:
        return cfg
    kubeconfig = home_relative(kubeconfig) if kubeconfig else cfg.cluster.kubeconfig
    if (cfg.cluster.context, cfg.cluster.kubeconfig) == (context, kubeconfig):
        return cfg
    answers = ConfigAnswers.from_config(cfg)
    answers.context, answers.kubeconfig = context, kubeconfig
    return build_config(answers)


def home_relative(path: str) -> str:
    """``/home/op/.kube/x`` -> ``~/.kube/x``, as the draft writes it (valid in other operators' homes)."""
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


class ValidateScreen(StepScreen):
    """Runs the cluster checks; a failing check blocks Next and shows its remedy."""

    STEP_TITLE = "3 · Validate"
    BINDINGS = [Binding("r", "rerun", "Re-run checks"), Binding("p", "pin", "Pin fingerprint")]
    #: (connect, read) seconds for every API call of one validation.
    TIMEOUTS: ClassVar[tuple[float, float]] = (3, 10)

    @dataclass
    class ValidationStarted(Message):
        """The checks that are about to run, in display order."""

        names: tuple[str, ...]

    @dataclass
    class ValidationFinished(Message):
        """The cluster checks came back."""

        report: "ValidationReport"

    @dataclass
    class FingerprintPinned(Message):
        """The fingerprint was pinned (into the file, or into the draft when no file exists yet)."""

        written: bool

    def __init__(self, session: "WizardSession") -> None:
        super().__init__(session)
        self.report: "ValidationReport | None" = None

    def compose(self) -> ComposeResult:
        yield Header()
        # Scrolled, never a Tab stop itself: a long context name makes the help line run to 4 rows at 80x24,
        # and the check list then no longer fits under it; the keys stay on the table (and the detail box).
        with VerticalScroll(classes="step-body", can_focus=False):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static(f"Context {self.session.context or '(from organization.yaml)'!r} against the configured "
                         "cluster. Read-only: nothing is written to the cluster.", classes="step-help")
            yield Checklist(id="validate-checks", key_hints={"gfwizard validate --pin": "p"})
        yield Static("Validating…", id="step-status", classes="step-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        # The box under the table takes its height (and the step its scrollbar) a layout or two after the results.
        self.watch(self.query_one(".step-body", VerticalScroll), "virtual_size", self._reveal_remedy, init=False)
        self.action_rerun()

    def _reveal_remedy(self) -> None:
        """Scroll to the end of the step: the highlighted check's remedy, in the box under the table, is the last
        thing on it and must be in view even when the list does not fit under a long help line. (Nothing else
        here takes focus, so nothing focused leaves the view.) A no-op when everything fits."""
        if self.report is not None:
            self.query_one(".step-body", VerticalScroll).scroll_end(animate=False)

    def action_rerun(self) -> None:
        """Run every check again."""
        self.report = None
        self.session.validated = False
        self.query_one(Checklist).clear()
        self.query_one(".step-body", VerticalScroll).scroll_home(animate=False)
        self._status(f"Validating (each call times out after {self.TIMEOUTS[0]:g}s connect / "
                     f"{self.TIMEOUTS[1]:g}s read)…", False)
        self.refresh_bindings()
        self.validate()

    @work(thread=True, exclusive=True, exit_on_error=False, group="validate")
    def validate(self) -> None:
        """Load (or draft) the config and validate the chosen context, off the UI thread."""
        from gfwizard.cluster import CHECK_ORDER, validate_context
        from gfwizard.draft import load_or_draft, wizard_env

        # gfwizard.cluster is imported here, not on the UI thread; then the pending rows can be shown.
        self.post_message(self.ValidationStarted(tuple(CHECK_ORDER)))
        session = self.session
        if session.draft is None:
            draft = load_or_draft(session.config_path, kubeconfig=session.kubeconfig, context=session.context)
            session.draft, session.existing_config = draft.config, draft.existing
            session.env = wizard_env(draft.config, session.env)
        else:
            # Back at Kubeconfig the operator may have picked another context: keep every other answer.
            session.draft = with_context(session.draft, session.kubeconfig, session.context)
        report = validate_context(self._as_configured(session.draft), kubeconfig=session.kubeconfig,
                                  context=session.context, timeouts=self.TIMEOUTS,
                                  new_config=session.existing_config is None)
        if not get_current_worker().is_cancelled:
            self.post_message(self.ValidationFinished(report))

    def _as_configured(self, draft: "OrgConfig") -> "OrgConfig":
        """``draft`` with the context the config names (or the honey default), not the operator's pick:
        the draft follows the pick, so classifying against it would call any context the target."""
        from gfwizard.answers import ConfigAnswers

        existing = self.session.existing_config
        target = existing.cluster.context if existing is not None else ConfigAnswers().context
        if draft.cluster.context == target:
            return draft
        return draft.model_copy(update={"cluster": draft.cluster.model_copy(update={"context": target})})

    def on_validate_screen_validation_started(self, message: ValidationStarted) -> None:
        if self.report is None:
            self.query_one(Checklist).set_pending(message.names)

    def on_validate_screen_validation_finished(self, message: ValidationFinished) -> None:
        self.report = message.report
        self.query_one(Checklist).show(message.report.checks)
        self._reveal_remedy()
        self.session.validated = self.blocked_reason() is None
        failure = self._failure()
        if failure is None and self._pin_needed():
            self._status("Fingerprint not pinned yet: answer the pin dialog (Cancel keeps Next blocked; p asks "
                         "again).", True)
            self.action_pin()
        else:
            self._status(failure or "All checks passed. Ctrl+N for Next.", failure is not None)
        self.refresh_bindings()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        checklist = self.query_one(Checklist)
        if event.widget is checklist.table:
            # Focusing the table alone would leave the remedy under it below the fold.
            self.call_after_refresh(checklist.scroll_visible, animate=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The base class opens the error modal; this only keeps the status line honest.
        if event.state is WorkerState.ERROR and event.worker.group in ("validate", "pin"):
            self._status(f"The {event.worker.group} step failed (see the error). r re-runs the checks.", True)

    # ----- pinning ------------------------------------------------------------------------------
    def _pin_needed(self) -> bool:
        return (self.report is not None and self.report.observed_fingerprint is not None
                and self.session.draft is not None and self.session.draft.cluster.fingerprint is None)

    def action_pin(self) -> None:
        """Ask for consent, then pin the observed fingerprint."""
        if not self._pin_needed() or self.report is None or self.report.observed_fingerprint is None:
            self.notify("Nothing to pin: the fingerprint is already pinned or was not observed.")
            return
        fp = self.report.observed_fingerprint
        target = (f"into {self.session.config_path}\n(atomic write; the previous file is kept as .bak)"
                  if self.session.config_path.is_file() else
                  "into the draft config (written at the Config step, after you have seen it)")
        body = (f"Pin honey's identity {target}:\n\nkube-system UID\n  {fp.kube_system_uid}\n"
                f"CA certificate sha256\n  {fp.ca_sha256}\n\nFrom now on a different cluster behind this "
                "context is a hard stop before any write.")
        self.app.push_screen(ConfirmModal("Pin the cluster fingerprint?", body, "Pin it"), self._pin_answer)

    def _pin_answer(self, yes: bool | None) -> None:
        if yes:
            self.pin()
        else:
            self._status("Fingerprint not pinned: Next stays blocked until it is (press p).", True)

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
        else:
            written = False
        session.draft = session.draft.with_fingerprint(fp.kube_system_uid, fp.ca_sha256)
        self.post_message(self.FingerprintPinned(written))

    def on_validate_screen_fingerprint_pinned(self, message: FingerprintPinned) -> None:
        self.notify("Fingerprint pinned" + (f" in {self.session.config_path}" if message.written else " in the draft"),
                    markup=False)
        self.action_rerun()

    # ----- gating -------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pin":
            return self._pin_needed()
        return super().check_action(action, parameters)

    def _failure(self) -> str | None:
        """The first failing check as one sentence (None when nothing failed); its remedy is on screen."""
        failing = [c for c in self.report.checks if c.level is Level.FAIL] if self.report else []
        if not failing:
            return None
        more = f" (+{len(failing) - 1} more)" if len(failing) > 1 else ""
        return f"{failing[0].name} failed{more}: see its remedy above; fix it, then r re-runs the checks."

    def blocked_reason(self) -> str | None:
        if self.report is None:
            return "Validation is still running."
        failure = self._failure()
        if failure is not None:
            return failure
        if self._pin_needed():
            return "Pin the cluster fingerprint first (p)."
        return None
