"""Step 4 — Backend: S3 (target) or HTTP (transitional), checks run live, bucket and backend files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Input, Label, RadioButton, RadioSet, Static

from gfwizard.checks import Check, Level
from screens.checklist import Checklist
from screens.confirm_modal import ConfirmModal
from screens.step import StepScreen

if TYPE_CHECKING:
    from gfwizard.backend import RenderedFile

S3_FIELDS = (("s3_endpoint", "Endpoint"), ("s3_bucket", "Bucket"), ("s3_region", "Region"),
             ("s3_key_prefix", "Key prefix"))
HTTP_FIELDS = (("http_address", "Address"), ("http_lock_address", "Lock address"),
               ("http_unlock_address", "Unlock address"), ("http_username", "User name"))


class BackendScreen(StepScreen):
    """State backend setup; Next needs passing checks and rendered backend files."""

    STEP_TITLE = "4 · State backend"
    BINDINGS = [Binding("ctrl+r", "run_checks", "Run checks"), Binding("ctrl+w", "render", "Render files"),
                Binding("ctrl+t", "migrate", "Migrate HTTP state")]

    @dataclass
    class ChecksFinished(Message):
        """The backend checks came back (``offer`` names a write the operator may allow)."""

        checks: list[Check]
        credential_source: str

    @dataclass
    class BackendsRendered(Message):
        """Backend files were rendered."""

        files: list["RenderedFile"]

    @dataclass
    class HttpStateFound(Message):
        """Stacks that still have state on the HTTP backend (migration candidates)."""

        stacks: list[str]

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session)
        self.checks: list[Check] | None = None
        self.rendered = False

    # ----- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        answers = self._answers()
        yield Header()
        with VerticalScroll(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static("Where OpenTofu keeps state for env "
                         f"{self.session.env!r}. Credentials come from the AWS environment/profile only.",
                         classes="step-help")
            with RadioSet(id="backend-kind"):
                yield RadioButton("S3 on honey (target)", value=answers.backend == "s3", id="kind-s3")
                yield RadioButton("HTTP (transitional, legacy-current)", value=answers.backend == "http",
                                  id="kind-http")
            with Vertical(id="s3-form", classes="form"):
                for key, label in S3_FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(str(getattr(answers, key)), id=key, classes="form-input")
                        yield Static("", id=f"{key}-error", classes="form-error")
            with Vertical(id="http-form", classes="form"):
                for key, label in HTTP_FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(str(getattr(answers, key) or ""), id=key, classes="form-input")
                        yield Static("", id=f"{key}-error", classes="form-error")
            yield Static("Credentials: …", id="credential-source", classes="step-help")
            yield Checklist(id="backend-checks")
            yield Static("", id="step-status", classes="step-status")
        yield Footer()

    def on_mount(self) -> None:
        self._show_form()
        self.action_run_checks()

    def _answers(self) -> Any:
        from gfwizard.answers import ConfigAnswers

        assert self.session.draft is not None, "the Validate step drafts the config"
        return ConfigAnswers.from_config(self.session.draft)

    def _kind(self) -> str:
        return "http" if self.query_one("#kind-http", RadioButton).value else "s3"

    def _show_form(self) -> None:
        http = self._kind() == "http"
        self.query_one("#s3-form").display = not http
        self.query_one("#http-form").display = http

    # ----- editing ------------------------------------------------------------------------
    @on(RadioSet.Changed, "#backend-kind")
    def _kind_changed(self) -> None:
        self._show_form()
        self._apply_edit("backend", self._kind())

    @on(Input.Changed, ".form-input")
    def _field_changed(self, event: Input.Changed) -> None:
        assert event.input.id is not None
        self._apply_edit(event.input.id, event.value)

    def _apply_edit(self, key: str, value: str) -> None:
        """Validate one answer as typed; a valid one updates the draft and invalidates earlier results."""
        from gfwizard.answers import build_config, validate_answer
        from gfwizard.errors import GfwError

        answers = self._answers()
        error = validate_answer(key, value, answers)
        if key != "backend":
            self.query_one(f"#{key}-error", Static).update(error or "")
        if error:
            self._blocked(f"{key}: {error}")
            return
        answers.set(key, value)
        try:
            self.session.draft = build_config(answers)
        except (GfwError, ValueError) as exc:
            self._blocked(str(exc))
            return
        self.checks, self.rendered, self.session.backend_ready = None, False, False
        self.query_one(Checklist).clear()
        self._blocked("Changed: run the checks again (Ctrl+R).")

    # ----- checks -------------------------------------------------------------------------
    def action_run_checks(self, create_bucket: bool = False, enable_versioning: bool = False) -> None:
        """Run the backend checks for the current form values."""
        self.checks = None
        self.query_one(Checklist).set_pending(["s3 endpoint", "s3 clock skew", "s3 credentials", "s3 bucket",
                                              "s3 versioning", "s3 state prefix", "s3 lock probe"]
                                             if self._kind() == "s3" else ["http backend"])
        self._blocked("Checking the state backend…")
        self.run_checks(create_bucket, enable_versioning)

    @work(thread=True, exclusive=True, exit_on_error=False, group="backend")
    def run_checks(self, create_bucket: bool, enable_versioning: bool) -> None:
        """The S3 checks, including the lock probe (its one write: a probe object, deleted again)."""
        from gfwizard.backend import check_s3, credential_source
        from gfwizard.checks import passed, warned

        cfg = self.session.draft
        assert cfg is not None
        source = credential_source()
        if cfg.state.backend == "http":
            checks = [warned("http backend", "the generic HTTP backend is the transitional, legacy-current path",
                             "prefer S3 on honey; migrate with `gfwizard backend migrate` when ready"),
                      passed("http address", cfg.state.http.address if cfg.state.http else "")]
        else:
            checks = check_s3(cfg, self.session.env, create_bucket=create_bucket,
                              enable_versioning=enable_versioning, confirm=lambda _what: True)
        self.post_message(self.ChecksFinished(checks, f"{source.kind}: {source.detail}"))
        if cfg.state.http is not None:
            self._look_for_http_state()

    def on_backend_screen_checks_finished(self, message: ChecksFinished) -> None:
        self.checks = message.checks
        self.query_one(Checklist).show(message.checks)
        self.query_one("#credential-source", Static).update("Credentials: " + message.credential_source)
        offer = self._offer()
        if offer is not None:
            title, body, kwargs = offer
            self.app.push_screen(ConfirmModal(title, body, "Yes"),
                                 lambda yes: self.action_run_checks(**kwargs) if yes else None)
        self._update_status()

    def _offer(self) -> tuple[str, str, dict[str, bool]] | None:
        cfg = self.session.draft
        if not self.checks or cfg is None or cfg.state.s3 is None:
            return None
        by_name = {c.name: c for c in self.checks}
        bucket, versioning = by_name.get("s3 bucket"), by_name.get("s3 versioning")
        if bucket is not None and bucket.level is Level.FAIL and "does not exist" in bucket.detail:
            return ("Create the state bucket?",
                    f"Create bucket {cfg.state.s3.bucket!r} at {cfg.state.s3.endpoint} with versioning on.\n"
                    "Nothing else is written.", {"create_bucket": True, "enable_versioning": True})
        if versioning is not None and versioning.level is not Level.PASS:
            return ("Turn on bucket versioning?",
                    f"Enable versioning on {cfg.state.s3.bucket!r}, so every state write keeps the previous "
                    "version.", {"enable_versioning": True})
        return None

    # ----- rendering ----------------------------------------------------------------------
    def action_render(self) -> None:
        """Show which backend files will be written, then write them on consent."""
        from gfwizard.backend import planned_backends
        from gfwizard.layout import layout_for

        cfg = self.session.draft
        assert cfg is not None
        layout = layout_for(cfg.cluster.network, repo=self.session.repo)
        planned = planned_backends(cfg, self.session.env, layout)
        body = "\n".join(f"  {path}" for _stack, _kind, path, _text in planned)
        self.app.push_screen(
            ConfirmModal("Render backend files?", f"These files will be written (no credentials in them):\n{body}",
                         "Write them"),
            lambda yes: self.render() if yes else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="render")
    def render(self) -> None:
        """Write the partial backend files (unchanged files are left alone)."""
        from gfwizard.backend import render_backends
        from gfwizard.layout import layout_for

        cfg = self.session.draft
        assert cfg is not None
        files = render_backends(cfg, self.session.env, layout_for(cfg.cluster.network, repo=self.session.repo))
        self.post_message(self.BackendsRendered(files))

    def on_backend_screen_backends_rendered(self, message: BackendsRendered) -> None:
        self.rendered = True
        changed = sum(1 for f in message.files if f.changed)
        self.notify(f"{len(message.files)} backend files rendered ({changed} changed)")
        self._update_status()

    # ----- migration ----------------------------------------------------------------------
    def _look_for_http_state(self) -> None:
        """Stacks with state still on the HTTP backend (read-only GETs; needs TF_HTTP_PASSWORD)."""
        import os

        from gfwizard.backend_migrate import fetch_http_state

        cfg = self.session.draft
        password = os.environ.get("TF_HTTP_PASSWORD", "")
        if cfg is None or cfg.state.http is None or not password or cfg.state.backend != "s3":
            return
        found: list[str] = []
        for stack in cfg.stack_order():
            try:
                data = fetch_http_state(cfg.state.http.address_for(self.session.env, stack),
                                        os.environ.get("TF_HTTP_USERNAME") or cfg.state.http.username, password)
            except Exception:  # noqa: BLE001 - no HTTP state is the normal case; the checks say the rest
                continue
            if data:
                found.append(stack)
        if found:
            self.post_message(self.HttpStateFound(found))

    def on_backend_screen_http_state_found(self, message: HttpStateFound) -> None:
        self.session.extras["http_state_stacks"] = message.stacks
        self.notify("State still on the HTTP backend for: " + ", ".join(message.stacks) +
                    ". Ctrl+T migrates it to S3.", timeout=10)

    def action_migrate(self) -> None:
        """Migrate every stack that still has HTTP state, after showing the backup location."""
        from gfwizard.paths import state_dir

        stacks = self.session.extras.get("http_state_stacks") or []
        if not stacks:
            self.notify("No HTTP state found to migrate.")
            return
        body = (f"Migrate {', '.join(stacks)} ({self.session.env}) from the HTTP backend to S3.\n"
                f"A backup of each source state is kept under {state_dir() / 'backups'} first; the source "
                "is never modified, and a destination with another lineage is refused.")
        self.app.push_screen(ConfirmModal("Migrate state to S3?", body, "Migrate"),
                             lambda yes: self.migrate(stacks) if yes else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="migrate")
    def migrate(self, stacks: list[str]) -> None:
        """Run the HTTP → S3 migration, one stack at a time."""
        from gfwizard.backend import migrate_http_to_s3
        from gfwizard.layout import layout_for

        cfg = self.session.draft
        assert cfg is not None
        layout = layout_for(cfg.cluster.network, repo=self.session.repo)
        for stack in stacks:
            report = migrate_http_to_s3(cfg, self.session.env, stack, layout)
            self.app.call_from_thread(self.notify, f"{stack}: {report.outcome} — {report.detail} "
                                      f"(backup: {report.backup_path})", timeout=15,
                                      severity="information" if report.ok else "error")

    # ----- gating -------------------------------------------------------------------------
    def _update_status(self) -> None:
        reason = self.blocked_reason()
        self.session.backend_ready = reason is None
        if reason is None:
            self._status("Backend ready. Ctrl+N for Next.", False)
        else:
            self._blocked(reason)
        self.refresh_bindings()

    def _blocked(self, text: str) -> None:
        self._status(text, True)

    def _status(self, text: str, blocked: bool) -> None:
        status = self.query_one("#step-status", Static)
        status.update(text)
        status.set_class(blocked, "blocked")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "migrate":
            return bool(self.session.extras.get("http_state_stacks"))
        if action == "render":
            return self.checks is not None and all(c.ok for c in self.checks)
        return super().check_action(action, parameters)

    def blocked_reason(self) -> str | None:
        if self.checks is None:
            return "Run the backend checks (Ctrl+R)."
        failing = [c for c in self.checks if c.level is Level.FAIL]
        if failing:
            return f"{failing[0].name} failed: {failing[0].detail} — {failing[0].remedy}"
        if not self.rendered:
            return "Render the backend files (Ctrl+W)."
        return None
