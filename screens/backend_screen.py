"""Step 4 — Backend: S3 (target) or HTTP (transitional), checks run live, bucket and backend files."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Input, Label, RadioButton, RadioSet, Static
from textual.worker import Worker, WorkerState, get_current_worker

from gfwizard.checks import Check, Level
from screens.checklist import Checklist, NotRun
from screens.confirm_modal import ConfirmModal
from screens.step import StepScreen

if TYPE_CHECKING:
    from gfwizard.backend import RenderedFile
    from gfwizard.layout import Layout
    from screens.session import WizardSession

S3_FIELDS = (("s3_endpoint", "Endpoint"), ("s3_bucket", "Bucket"), ("s3_region", "Region"),
             ("s3_key_prefix", "Key prefix"))
HTTP_FIELDS = (("http_address", "Address"), ("http_lock_address", "Lock address"),
               ("http_unlock_address", "Unlock addr."), ("http_username", "User name"))
#: The session extra that keeps what invalid fields showed when the step was left, so Back loses no typing.
UNSAVED = "backend_unsaved_fields"
S3_CHECKS = ("s3 endpoint", "s3 clock skew", "s3 credentials", "s3 bucket", "s3 versioning", "s3 state prefix",
             "s3 lock probe")
#: The one check that writes (a probe object, deleted again): only Ctrl+R runs it, never entering the step.
LOCK_PROBE = S3_CHECKS[-1]
#: The read-only checks, which entering the step (or a dialog's consent) runs.
S3_READ_ONLY = S3_CHECKS[:-1]
#: Who holds the environment's run lock while Ctrl+T migrates (named when a deploy or `backend migrate` is refused).
MIGRATION_HOLDER = "the wizard's State backend step (Ctrl+T)"


def files_summary(paths: list[Path]) -> str:
    """The files to be written, one line per stack directory (short enough for an 80-column dialog)."""
    roots = {path.parent.parent for path in paths}
    if len(roots) != 1:
        return "\n".join(f"  {path}" for path in paths)
    by_stack: dict[str, list[str]] = {}
    for path in paths:
        by_stack.setdefault(path.parent.name, []).append(path.name)
    return f"In {roots.pop()}/\n" + "\n".join(f"  {stack}/  {', '.join(names)}" for stack, names in by_stack.items())

#: Said on a lock probe's pass shown again after a migration, when only the read-only checks ran again.
KEPT_PROBE = " (passed earlier on this visit; not run again after the migration)"

#: The status line once every read-only check passed and only the lock probe (Ctrl+R) is left.
PROBE_NOT_RUN = ("Read-only checks passed; the lock probe has not run. Ctrl+R runs every check, the probe too "
                 "(it writes, then deletes one object).")


class BackendScreen(StepScreen):
    """State backend setup; Next needs passing checks and rendered backend files."""

    STEP_TITLE = "4 · State backend"
    # The first thing the operator acts on, with a visible focus mark (the scrolling body took it, unmarked).
    AUTO_FOCUS = "#backend-kind"
    # priority: these keys must work while an Input has focus (Input binds ctrl+w to delete a word).
    # Short labels: all three fit beside Next, Back and Quit in a 60-column footer.
    BINDINGS = [Binding("ctrl+r", "run_checks", "Check", priority=True,
                        tooltip="Run every state backend check, including the lock probe (one object written, "
                                "then deleted)"),
                Binding("ctrl+w", "render", "Render", priority=True, tooltip="Render the backend files"),
                Binding("ctrl+t", "migrate", "Migrate", priority=True, tooltip="Migrate HTTP state to S3")]

    @dataclass
    class ChecksFinished(Message):
        """The backend checks came back."""

        checks: list[Check]
        credential_source: str
        #: The run was asked to include the lock probe (Ctrl+R); entering the step runs only the read-only checks.
        full: bool
        #: The backend files, when every one already holds what a render would write (nothing to ask).
        current: list["RenderedFile"] | None = None
        #: The run was asked to enable versioning (the operator consented): its outcome is the store's answer.
        versioning_tried: bool = False

    @dataclass
    class BackendsRendered(Message):
        """Backend files were rendered."""

        files: list["RenderedFile"]

    @dataclass
    class HttpStateFound(Message):
        """Stacks whose HTTP state is not in S3 yet (migration candidates; empty when none is left)."""

        stacks: list[str]

    def __init__(self, session: "WizardSession") -> None:
        super().__init__(session)
        self.checks: list[Check] | None = None
        #: The shown checks come from a full run (Ctrl+R: the lock probe too, once the checks before it let it run).
        self.full_run = False
        #: The shown checks come from a run that tried to enable versioning (no second offer to do it again).
        self.versioning_tried = False
        self.rendered: list["RenderedFile"] | None = None
        #: The rendered files were found up to date by the checks (no render was needed).
        self.up_to_date = False
        #: Fields whose shown value is invalid (key -> error): the draft still holds the last valid
        #: value, so nothing may be checked, rendered or carried on until they are fixed.
        self.invalid: dict[str, str] = {}
        #: The stack being migrated and its place (``attic (1/4)``) while the migration runs, else None.
        self.migrating: str | None = None
        #: How many stacks the running migration has still to start after the one in progress.
        self._later_stacks = 0
        #: Set when the step goes away (Quit, or the app ends): the stack in progress finishes, no later one starts.
        self._stop_migrating = threading.Event()
        #: The operator quit mid-migration: the step says what the wizard waits for, and it closes once the
        #: migration has stopped (the stack in progress finished; no later one started).
        self.quitting = False
        #: What did not end well in a migration stopped by that quit: the wizard then stays to say it.
        self._quit_problems: list[str] = []
        #: Whether the last Ctrl+T was refused the environment's run lock (another deploy or migration holds it).
        self._lock_refused = False

    # ----- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        answers = self._answers()
        yield Header()
        with VerticalScroll(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static(f"Where OpenTofu keeps state for env {self.session.env!r}. Credentials come from the AWS "
                         "environment/profile only, never a file.", classes="step-help")
            with RadioSet(id="backend-kind", compact=True):
                yield RadioButton("S3 on honey (target)", value=answers.backend == "s3", id="kind-s3")
                yield RadioButton("HTTP (transitional, legacy-current)", value=answers.backend == "http",
                                  id="kind-http")
            for form, fields in (("s3-form", S3_FIELDS), ("http-form", HTTP_FIELDS)):
                with Vertical(id=form, classes="form"):
                    for key, label in fields:
                        with Horizontal(classes="form-row"):
                            yield Label(label, classes="form-label")
                            yield Input(self._unsaved().get(key, str(getattr(answers, key) or "")), id=key,
                                        classes="form-input", compact=True)
                        yield Static("", id=f"{key}-error", classes="form-error", markup=False)
            yield Static("Credentials: …", id="credential-source", classes="step-help", markup=False)
            yield Checklist(id="backend-checks")
        yield Static("", id="step-status", classes="step-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._show_form()
        # An invalid value left here by Back is shown again, as invalid, before any check could use the draft's.
        for key, value in list(self._unsaved().items()):
            self._apply_edit(key, value)
        # Entering a step is no consent to a write, and the values may be defaults nobody confirmed:
        # only the read-only checks run; the lock probe (a write) waits for Ctrl+R.
        self.action_run_checks(probe=False)

    def _unsaved(self) -> dict[str, str]:
        """Field -> the invalid text it showed when the step was left (the draft holds only valid values)."""
        return self.session.extras.setdefault(UNSAVED, {})

    def _answers(self) -> Any:
        from gfwizard.answers import ConfigAnswers

        assert self.session.draft is not None, "the Validate step drafts the config"
        return ConfigAnswers.from_config(self.session.draft)

    def _kind(self) -> str:
        button = next(iter(self.query("#kind-http").results(RadioButton)), None)  # None before compose
        return "http" if button is not None and button.value else "s3"

    def _http_credentials(self) -> str:
        """Where the HTTP backend's credentials come from (the environment only: no I/O)."""
        from gfwizard.backend import http_credential_source

        http = self.session.draft.state.http if self.session.draft is not None else None
        return http_credential_source(self.session.environ(), bool(http and http.username))

    def _show_form(self) -> None:
        http = self._kind() == "http"
        self.query_one("#s3-form").display = not http
        self.query_one("#http-form").display = http

    def _layout(self) -> "Layout":
        from gfwizard.layout import layout_for

        cfg = self.session.draft
        assert cfg is not None
        # The session's environment: a rehearsal keeps backend files in its workspace, never the checkout.
        return layout_for(cfg.cluster.network, repo=self.session.repo, environ=self.session.environ())

    # ----- editing ------------------------------------------------------------------------
    @on(RadioSet.Changed, "#backend-kind")
    def _kind_changed(self) -> None:
        self._show_form()
        self._apply_edit("backend", self._kind())
        # The credentials line follows the kind at once (the HTTP one reads only the environment).
        self.query_one("#credential-source", Static).update(
            "Credentials: " + (self._http_credentials() if self._kind() == "http"
                               else "Ctrl+R checks where the AWS credentials come from"))

    @on(Input.Changed, ".form-input")
    def _field_changed(self, event: Input.Changed) -> None:
        assert event.input.id is not None
        self._apply_edit(event.input.id, event.value)

    def _apply_edit(self, key: str, value: str) -> None:
        """Validate one answer as typed; a valid change updates the draft and invalidates earlier results."""
        from pydantic import ValidationError

        from gfwizard.answers import build_config, validate_answer

        answers = self._answers()
        unchanged = str(answers.get(key) or "") == value  # Textual also reports the initial values
        error = None if unchanged else validate_answer(key, value, answers)
        if key != "backend":
            shown = self.query_one(f"#{key}-error", Static)
            shown.update(error or "")
            shown.set_class(bool(error), "-shown")
        was_invalid = self.invalid.pop(key, None) is not None
        self._unsaved().pop(key, None)
        if error:
            self.invalid[key] = error
            self._unsaved()[key] = value
        if unchanged:
            if was_invalid:  # back to the value the draft holds
                self._update_status()
            return
        # Results of a run still in flight describe the old values: drop them.
        self.workers.cancel_group(self, "backend")
        self.checks, self.rendered, self.full_run, self.session.backend_ready = None, None, False, False
        if self.query_one(Checklist).table.row_count:
            self.query_one(Checklist).clear()
        if error:
            self._status(f"{key}: {error}", True)
            self.refresh_bindings()
            return
        answers.set(key, value)
        try:
            self.session.draft = build_config(answers)
        except (ValidationError, ValueError) as exc:
            self._status(f"{key}: {exc}", True)
            self.refresh_bindings()
            return
        self._status("Changed: run the checks again (Ctrl+R).", True)
        self.refresh_bindings()

    # ----- checks -------------------------------------------------------------------------
    def action_run_checks(self, create_bucket: bool = False, enable_versioning: bool = False,
                          probe: bool = True, kept_probe: Check | None = None) -> None:
        """Run the backend checks for the current form values; ``probe`` (Ctrl+R) includes the lock probe.

        ``kept_probe`` (with ``probe`` False): a lock probe that passed earlier in this visit, shown again
        when the read-only checks pass, instead of running the probe (a write) again."""
        if self.invalid:
            self._update_status()
            return
        self.checks, self.rendered, self.full_run = None, None, False
        checklist = self.query_one(Checklist)
        if self._kind() != "s3":
            checklist.set_pending(["http backend"])
        elif probe or kept_probe is not None:
            checklist.set_pending(S3_CHECKS)
        else:
            checklist.set_pending(S3_READ_ONLY, self._probe_not_run())
        self._status("Checking the state backend…" if probe or self._kind() != "s3" else
                     "Checking the state backend again (read-only; the lock probe passed already)…"
                     if kept_probe is not None else
                     "Checking the state backend (read-only; the lock probe waits for Ctrl+R)…", True)
        self.refresh_bindings()
        self.run_checks(create_bucket, enable_versioning, probe, kept_probe)

    def _probe_not_run(self) -> dict[str, NotRun]:
        """The lock-probe row of a read-only run: not run, and what Ctrl+R would write where."""
        from gfwizard.backend import probe_location, s3_target
        from gfwizard.errors import GfwError

        assert self.session.draft is not None
        try:
            where = probe_location(s3_target(self.session.draft, self.session.environ()))
        except GfwError:
            where = "the key prefix on the S3 endpoint"  # the endpoint check says what is wrong with it
        return {LOCK_PROBE: NotRun("not run yet: it writes to the state store, so entering this step does not run it",
                                   "Ctrl+R runs every check, including the lock probe: it writes and then deletes "
                                   f"one object under {where}")}

    @work(thread=True, exclusive=True, exit_on_error=False, group="backend")
    def run_checks(self, create_bucket: bool, enable_versioning: bool, probe: bool,
                   kept_probe: Check | None = None) -> None:
        """The S3 checks; with ``probe`` the lock probe too (its one write: a probe object, deleted again);
        with ``kept_probe``, that earlier pass instead, once every read-only check passed."""
        from gfwizard.backend import check_s3, credential_source
        from gfwizard.checks import warned

        cfg = self.session.draft
        assert cfg is not None
        if cfg.state.backend == "http":
            source = self._http_credentials()
            checks = [warned("http backend", "the generic HTTP backend is the transitional, legacy-current path; "
                             "gfwizard does not probe it (the first `init` will)",
                             "prefer S3 on honey; migrate with `gfwizard backend migrate` when ready")]
        else:
            source = credential_source().detail
            # Consent for create/enable was given in the dialog before this run was started.
            checks = check_s3(cfg, self.session.env, create_bucket=create_bucket,
                              enable_versioning=enable_versioning, confirm=lambda _what: True, probe=probe)
            if (not probe and kept_probe is not None and [c.name for c in checks] == list(S3_READ_ONLY)
                    and all(c.ok for c in checks)):
                checks.append(kept_probe)
        probed = any(c.name == LOCK_PROBE for c in checks)
        current = (self._rendered_already() if cfg.state.backend == "s3" and probed and all(c.ok for c in checks)
                   else None)
        if get_current_worker().is_cancelled:
            return
        # A kept probe counts as Ctrl+R's run: the screen then stands where that run left it.
        self.post_message(self.ChecksFinished(checks, source, probe or probed, current, enable_versioning))
        if cfg.state.http is not None:
            self._look_for_http_state()

    def _rendered_already(self) -> list["RenderedFile"] | None:
        """The backend files when they are already up to date (read only; call from a worker)."""
        from gfwizard.backend import rendered_already
        from gfwizard.errors import GfwError

        cfg = self.session.draft
        assert cfg is not None
        try:
            return rendered_already(cfg, self.session.env, self._layout())
        except GfwError:
            return None  # Ctrl+W says why when it is pressed

    def on_backend_screen_checks_finished(self, message: ChecksFinished) -> None:
        self.checks, self.full_run, self.versioning_tried = message.checks, message.full, message.versioning_tried
        # Back on this step, or files an earlier session wrote: up to date, so there is nothing to ask about.
        self.rendered, self.up_to_date = (message.current, True) if message.current is not None else (None, False)
        # A read-only run that got to its end: the lock probe is the one check left, and Ctrl+R runs it.
        read_only_done = not message.full and [c.name for c in message.checks] == list(S3_READ_ONLY)
        self.query_one(Checklist).show(message.checks, self._probe_not_run() if read_only_done else None)
        self.query_one("#credential-source", Static).update("Credentials: " + message.credential_source)
        self.call_after_refresh(self._show_results)
        self._update_status()
        offer = self._offer()
        if offer is not None and self.is_current:
            title, body, kwargs = offer
            # The checks run again as they ran: the lock probe only when Ctrl+R started this run.
            self.app.push_screen(ConfirmModal(title, body, "Yes, do it"),
                                 lambda yes: self.action_run_checks(**kwargs, probe=self.full_run) if yes else None)

    def _show_results(self) -> None:
        """Bring the check list into view as far as the focused control stays in view.

        The checks finish whenever the store answers, maybe while the operator is on a field: scrolling the
        list into view regardless (at 80x24 it starts below the fold) left the focused control off screen,
        so keys went where nobody could see. Focus is never moved here; the status line says the outcome."""
        body = self.query_one(".step-body", VerticalScroll)
        checklist = self.query_one(Checklist)
        focused = self.focused
        if focused is None or body not in focused.ancestors:
            checklist.scroll_visible(animate=False)
            return
        # Screen regions into the body's scrolling space: the union's top (the focused control, above the
        # list) is what stays in view when both do not fit.
        to_body = body.scroll_offset - body.scrollable_content_region.offset
        wanted = focused.region.translate(to_body).union(checklist.region.translate(to_body))
        body.scroll_to_region(wanted, animate=False, immediate=True)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        checklist = self.query_one(Checklist)
        if event.widget is checklist.table:
            # Tab onto the list is the operator asking for the results: the highlighted check's remedy is in
            # the box under the table, which focusing the table alone leaves below the fold at 80x24.
            self.call_after_refresh(checklist.scroll_visible, animate=False)

    def _offer(self) -> tuple[str, str, dict[str, bool]] | None:
        cfg = self.session.draft
        if not self.checks or cfg is None or cfg.state.s3 is None or cfg.state.backend != "s3":
            return None
        from gfwizard.backend_s3 import s3_target

        by_name = {c.name: c for c in self.checks}
        bucket, versioning = by_name.get("s3 bucket"), by_name.get("s3 versioning")
        # Name the endpoint the write really goes to: AWS_ENDPOINT_URL_S3 overrides state.s3.endpoint.
        target = s3_target(cfg, self.session.environ())
        where = f"at {target.endpoint} (endpoint from {target.endpoint_source})"
        if bucket is not None and bucket.level is Level.FAIL and "does not exist" in bucket.detail:
            return ("Create the state bucket?",
                    f"Create bucket {target.bucket!r} {where}, with versioning on.\n" + self._then_written(),
                    {"create_bucket": True, "enable_versioning": True})
        # Only on a bucket that is there: a new bucket the store would not version was deleted again. And not
        # again after a run that tried: the store refused or did not keep it, and asking again would only loop.
        if (versioning is not None and versioning.level is not Level.PASS and bucket is not None and bucket.ok
                and not self.versioning_tried):
            return ("Turn on bucket versioning?",
                    f"Enable versioning on {target.bucket!r} {where}, so every state write keeps the previous "
                    "version.\n" + self._then_written(), {"enable_versioning": True})
        return None

    def _then_written(self) -> str:
        """What else the checks write when they run again after a dialog's consent."""
        if not self.full_run:
            return "Nothing else is written."
        from gfwizard.backend import probe_location, s3_target

        assert self.session.draft is not None
        return ("Then the checks run again, with the lock probe (Ctrl+R asked for it): it writes and then deletes "
                f"one object under {probe_location(s3_target(self.session.draft, self.session.environ()))}. "
                "Nothing else is written.")

    # ----- rendering ----------------------------------------------------------------------
    def action_render(self) -> None:
        """Show which backend files will be written, then write them on consent."""
        if self.invalid:
            self._update_status()
            return
        from gfwizard.backend import planned_backends

        cfg = self.session.draft
        assert cfg is not None
        planned = planned_backends(cfg, self.session.env, self._layout())
        body = ("These files will be written (no credentials in them; unchanged files are left alone):\n"
                + files_summary([path for _stack, _kind, path, _text in planned]))
        self.app.push_screen(ConfirmModal("Render backend files?", body, "Write them"),
                             lambda yes: self.render_files() if yes else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="render")
    def render_files(self) -> None:
        """Write the partial backend files (unchanged files are left alone)."""
        from gfwizard.backend import render_backends

        cfg = self.session.draft
        assert cfg is not None
        files = render_backends(cfg, self.session.env, self._layout())
        self.post_message(self.BackendsRendered(files))

    def on_backend_screen_backends_rendered(self, message: BackendsRendered) -> None:
        self.rendered, self.up_to_date = message.files, False
        changed = sum(1 for f in message.files if f.changed)
        self.notify(f"{len(message.files)} backend files rendered ({changed} changed)")
        self._update_status()

    # ----- migration ----------------------------------------------------------------------
    def _look_for_http_state(self) -> None:
        """Post the stacks whose HTTP state is not in S3 yet (read-only GETs; needs TF_HTTP_PASSWORD)."""
        from gfwizard.backend_migrate import pending_migrations

        cfg = self.session.draft
        if cfg is None or cfg.state.http is None or cfg.state.backend != "s3":
            return
        self.post_message(self.HttpStateFound(pending_migrations(cfg, self.session.env, self.session.environ())))

    def on_backend_screen_http_state_found(self, message: HttpStateFound) -> None:
        had = self.session.extras.get("http_state_stacks")
        self.session.extras["http_state_stacks"] = message.stacks
        if message.stacks:
            self.notify("State on the HTTP backend not yet in S3 for: " + ", ".join(message.stacks) +
                        ". Ctrl+T migrates it.", timeout=10)
        elif had:
            self.notify("Every stack's HTTP state is in S3 now.")
        self._update_status()

    def action_migrate(self) -> None:
        """Migrate every stack that still has HTTP state, after showing the backup location."""
        stacks = self.session.extras.get("http_state_stacks") or []
        if not stacks:
            self.notify("No HTTP state found to migrate.")
            return
        from gfwizard.backend_migrate import backup_dir

        backups = backup_dir(self._layout(), self.session.env)
        body = (f"Migrate {', '.join(stacks)} ({self.session.env}) from the HTTP backend to S3.\n"
                f"A backup of each source state is kept under {backups} first; the source "
                "is never modified, and a destination that already holds other state is never overwritten.")
        self.app.push_screen(ConfirmModal("Migrate state to S3?", body, "Migrate"),
                             lambda yes: self.migrate(stacks) if yes else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="migrate")
    def migrate(self, stacks: list[str]) -> None:
        """Run the HTTP → S3 migration, one stack at a time; then one summary (per-stack notifications
        piled past the screen's edge at 80x24)."""
        from gfwizard.backend import migrate_http_to_s3
        from gfwizard.backend_migrate import backup_dir
        from gfwizard.errors import GfwError
        from gfwizard.journal import new_run_id
        from gfwizard.stacks_runlock import MIGRATION_KIND, env_run_lock

        cfg = self.session.draft
        assert cfg is not None
        layout = self._layout()
        notes: set[str] = set()
        # The lock `gfwizard backend migrate` and every deploy of the environment take: two migrations of a stack
        # would both run init -migrate-state into one destination, and a deploy would write the states it moves.
        lock = env_run_lock(layout, self.session.env)
        self._lock_refused = False
        try:
            lock.acquire(new_run_id(), MIGRATION_HOLDER, kind=MIGRATION_KIND)
        except GfwError:
            self._lock_refused = True  # said by the error modal, and the status line (on_worker_state_changed)
            raise

        def note(text: str) -> None:
            if text not in notes and not self._stop_migrating.is_set():  # the same note (e.g. which CLI configuration is used) comes per stack
                notes.add(text)
                self.app.call_from_thread(self.notify, text, timeout=15, markup=False)

        done: list[str] = []
        problems: list[str] = []
        try:
            for i, stack in enumerate(stacks, 1):
                if self._stop_migrating.is_set():
                    break
                self.migrating, self._later_stacks = f"{stack} ({i}/{len(stacks)})", len(stacks) - i
                self.app.call_from_thread(self._migration_changed)
                self.app.call_from_thread(self._status, f"Migrating {self.migrating}…", True)
                report = migrate_http_to_s3(cfg, self.session.env, stack, layout, on_note=note)
                if report.ok:
                    done.append(f"{stack} ({report.outcome})")
                else:
                    problems.append(f"{stack}: {report.outcome} — {report.detail}"
                                    + (f" Remedy: {report.remedy}" if report.remedy else ""))
        finally:
            lock.release()
            self.migrating = None
            if not self._stop_migrating.is_set():
                self.app.call_from_thread(self._migration_changed)
        if self._stop_migrating.is_set():
            # The wizard is closing (what is left is offered again next time); after a quit it waits for this end
            # and, when the stack in progress did not end well, stays to say so (on_worker_state_changed).
            self._quit_problems = problems
            return
        summary = "; ".join(
            ([f"Migrated to S3: {', '.join(done)}"] if done else []) + problems)
        summary += f". Backups of the HTTP states: {backup_dir(layout, self.session.env)}."
        self.app.call_from_thread(self.notify, summary, timeout=30, markup=False,
                                  severity="error" if problems else "information")
        # The list showed the state prefix as it was before (e.g. "0 state file(s)"): read it again. That
        # run also looks for what is left to migrate (Ctrl+T goes once nothing is).
        if not self.app.call_from_thread(self._recheck_after_migration):
            self._look_for_http_state()

    def _recheck_after_migration(self) -> bool:
        """Run the read-only checks again (never the lock probe, a write); a probe that passed in this visit
        is kept, so Next and Ctrl+W are not blocked again. False when no check can run (an invalid field)."""
        if self.invalid or self._kind() != "s3":
            return False
        passed = next((c for c in self.checks or [] if c.name == LOCK_PROBE and c.ok), None) if self.full_run else None
        if passed is not None and not passed.detail.endswith(KEPT_PROBE):
            passed = passed.model_copy(update={"detail": passed.detail + KEPT_PROBE})
        self.action_run_checks(probe=False, kept_probe=passed)
        return True

    def _migration_changed(self) -> None:
        self.refresh_bindings()
        self.wizard.quit_warning_changed()

    def on_unmount(self) -> None:
        self._stop_migrating.set()

    def _migration_running(self) -> bool:
        """Whether this step's migration worker has not ended yet (its last stack may be past ``migrating``)."""
        return any(w.node is self and w.group == "migrate" and not w.is_finished for w in self.app.workers)

    def stop_for_quit(self) -> bool:
        """The operator quits mid-migration: no later stack starts, the step says what the wizard waits for (the
        stack in progress to finish), and the wizard closes once the migration has stopped; before, it closed at
        once and the terminal sat on stale text meanwhile. False when no migration runs: quit at once."""
        stack = self.migrating
        if stack is None or not self._migration_running():
            return False
        self.quitting = True
        self._stop_migrating.set()
        later = "no later stack starts (Ctrl+T here migrates the rest next time). " if self._later_stacks else ""
        self._status(f"Quitting: waiting for {stack} to finish migrating (its HTTP source is backed up and never "
                     f"written); {later}Then the wizard closes.", True)
        self.refresh_bindings()
        return True

    def quitting_again(self) -> str | None:
        """What a further Ctrl+Q says while the quit waits for the stack in progress (it does not stop it)."""
        if not self.quitting or not self._migration_running():
            return None
        return (f"Quitting already: {self.migrating or 'the stack in progress'} is not stopped mid-migration; the "
                "wizard closes once it has finished.")

    def quit_warning(self) -> str | None:
        if self.migrating is None:
            return None
        return (f"A migration to S3 is running: {self.migrating}. Quitting lets this stack finish (its source is "
                "backed up and never written) and starts no later one; Ctrl+T here migrates the rest next time.")

    # ----- gating -------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The base class opens the error modal; this only keeps the status line honest.
        if self.quitting and event.worker.group == "migrate" and event.worker.is_finished:
            self._migration_stopped_for_quit(event.state)
            return
        if event.state is WorkerState.ERROR and event.worker.group == "migrate" and self._lock_refused:
            from screens.app import describe_error

            message, remedy = describe_error(event.worker.error)  # type: ignore[arg-type]
            remedy = remedy.rstrip(". ")
            # Ctrl+T first: the status line holds three lines at 80 columns, and the error modal has the whole remedy.
            self._status(f"Not migrated (Ctrl+T tries again): {message}. {remedy[:1].upper()}{remedy[1:]}.", True)
        elif event.state is WorkerState.ERROR and event.worker.group in ("backend", "render", "migrate"):
            self._status(f"The {event.worker.group} step failed (see the error). Ctrl+R runs the checks again.",
                         True)

    def _migration_stopped_for_quit(self, state: WorkerState) -> None:
        """The migration a quit waited for has stopped: close, unless its stack did not end well, which the step
        then says (closing would lose it) and the next Ctrl+Q quits. Nothing else is offered any more: the list of
        what is left to migrate was not read again."""
        if state is WorkerState.SUCCESS and not self._quit_problems:
            self.app.exit()
            return
        self.wizard.stop_for_quit_failed()
        problem = "; ".join(self._quit_problems) if state is WorkerState.SUCCESS else "it failed (see the error)"
        self._status(f"Not closed: the migration in progress did not end well: {problem}. No later stack was "
                     "started. Ctrl+Q quits.", True)
        self.refresh_bindings()

    def _update_status(self) -> None:
        reason = self.blocked_reason()
        self.session.backend_ready = reason is None
        pending = self.session.extras.get("http_state_stacks") or []
        # Said until migrated (a notification goes away): the deploy gate stops these stacks until then.
        waiting = (f" The state of {', '.join(pending)} is still only on the HTTP backend: Ctrl+T migrates it "
                   "(until then the deploy gate stops those stacks)." if pending else "")
        if reason is None and pending:
            # First, and without the files' directory: the status line holds three lines at 80 columns, and
            # what is left to do must not be what falls off its end.
            assert self.rendered is not None
            fresh = ", up to date" if self.up_to_date else ""
            self._status(f"{waiting.strip()} Backend ready ({len(self.rendered)} backend files{fresh}): "
                         "Ctrl+N for Next.", True)
        elif reason is None:
            assert self.rendered is not None
            where = ", ".join(sorted({str(f.path.parent.parent) for f in self.rendered}))
            fresh = ", already up to date (nothing to write)" if self.up_to_date else ""
            self._status(f"Backend ready: {len(self.rendered)} backend files in {where}{fresh}. Ctrl+N for Next.",
                         False)
        elif pending and reason == PROBE_NOT_RUN:
            # What is left to migrate first, as above; the probe's own row in the list says the rest.
            self._status(f"{waiting.strip()} Lock probe not run yet: Ctrl+R.",
                         True)
        else:
            self._status(reason + waiting, True)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.quitting:
            return False  # nothing starts while the wizard waits to close (Ctrl+Q is the app's: it says so)
        if action in ("run_checks", "render", "migrate", "back", "next") and self.migrating is not None:
            return False  # the migration reports on this step; leaving it mid-way would stop the later stacks
        if action in ("run_checks", "render", "migrate") and self.invalid:
            return False  # the form holds an invalid value: nothing to check or write yet
        if action == "migrate":
            return bool(self.session.extras.get("http_state_stacks"))
        if action == "render":
            return self._checks_passed()
        return super().check_action(action, parameters)

    def _checks_passed(self) -> bool:
        """No check failed and, for S3, the lock probe ran: a probe not run never counts as passed."""
        if self.checks is None or not all(c.ok for c in self.checks):
            return False
        return self._kind() != "s3" or any(c.name == LOCK_PROBE for c in self.checks)

    def blocked_reason(self) -> str | None:
        if self._kind() == "http":
            return ("HTTP state is the migration source only: the stacks deploy onto S3 state (backend \"s3\"). "
                    "Ctrl+T migrates it (when some is found); choose S3 on honey to go on.")
        if self.invalid:
            key, error = next(iter(self.invalid.items()))
            return f"{key}: {error} (fix it: the checks and the files use only valid values)"
        if self.checks is None:
            return "Run the backend checks (Ctrl+R)."
        failing = [c for c in self.checks if c.level is Level.FAIL]
        if failing:
            more = f" (+{len(failing) - 1} more)" if len(failing) > 1 else ""
            return f"{failing[0].name} failed{more}: see its remedy above; fix it, then Ctrl+R runs the checks again."
        if not self._checks_passed():
            return PROBE_NOT_RUN
        if self.rendered is None:
            return "Checks passed. Render the backend files (Ctrl+W)."
        return None
