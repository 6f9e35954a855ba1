"""Step 6 — Deploy: stacks (left), live log (centre), placement (right); plan, apply, cancel, resume.

The engine is the same one ``gfwizard deploy`` uses; it runs on its own loop thread
(:class:`~screens.engine_host.EngineHost`), reports through events, and asks for consent through a
callback that opens a modal here. Gates (fingerprint, server, lock probe, typed prod confirmation,
destroys first in red) are the engine's: the screen cannot skip them.

Workers never touch widgets or the screen's bookkeeping: they post messages, and when they need
the screen's answer (which plans to hand to the engine) they ask through :meth:`DeployScreen._on_ui`,
a message answered in order after every engine event posted before it (that bridge, and the questions
asked from other threads, are in :mod:`screens.deploy_bridge`).

The screen mixes in the engine's events (and a worker's error) turned into rows, log lines and the status line
in :mod:`screens.deploy_events`, the view of a run its journal stopped in :mod:`screens.deploy_journal_stop`,
the gates pane and the dialogs that show things whole in :mod:`screens.deploy_dialogs`, and which plans an
apply hands to the engine in :mod:`screens.deploy_plans`.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from screens.confirm_modal import ConfirmModal
from screens.deploy_bridge import EngineBridge, wait_for_answer
from screens.deploy_dialogs import DeployDialogs
from screens.deploy_events import DeployEvents
from screens.deploy_journal_stop import JournalStopView
from screens.deploy_plans import DeployPlans
from screens.engine_host import EngineHost
from screens.logpane import LogPane
from screens.placement_pane import PlacementPane
from screens.stack_list import StackList, StackRow
from screens.step import StepScreen

if TYPE_CHECKING:
    from gfwizard.placement import PlacementTable
    from gfwizard.stacks import DeployEngine, StackPlan
    from gfwizard.stacks_events import GateChecked

#: Below this width the placement pane is an overlay, shown and hidden with ``t``.
NARROW = 110
#: Row states after which ``r`` (resume) is offered.
RESUMABLE_STATES = ("failed", "interrupted", "locked", "not planned", "not run")
#: Seconds leaving the step waits for a cancelled run to stop (one SIGINT: the binary saves state
#: and releases its lock) before the engine loop is closed.
STOP_WAIT = 30.0


class DeployScreen(EngineBridge, DeployEvents, JournalStopView, DeployDialogs, DeployPlans, StepScreen):
    """Plans and applies the stacks of the selected environment."""

    STEP_TITLE = "6 · Deploy"
    CSS_PATH = "deploy.tcss"
    # The footer must fit 80 columns, and keep t at 60: e, f and / are named in the banner instead, A in the
    # status line once plans are ready ("a applies the next, A applies all"); every key is in the keys help.
    # Actions that do not apply right now are hidden (check_action), e.g. Cancel while nothing runs.
    BINDINGS = [
        Binding("p", "plan_all", "Plan"),
        Binding("a", "apply_next", "Apply next"),
        Binding("A", "apply_all", "Apply all", show=False),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "resume", "Resume"),
        Binding("t", "toggle_placement", "Placement"),
        Binding("e", "switch_env", "Env", show=False),
        Binding("f", "toggle_follow", "Follow", show=False),
        Binding("slash", "search", "Search", show=False),
        Binding("g", "show_gates", "Gates", show=False),
        # Named under the placement tables while a name is cut (the footer has no room for it at 80).
        Binding("n", "show_placement_names", "Names", show=False,
                tooltip="The placement with every node name whole"),
    ]
    #: False starts neither the engine nor the placement worker: the screen shows only the messages
    #: posted to it (EngineReady, EngineEvent, PlacementComputed). Snapshot tests use it to paint
    #: fixed data; nothing else should turn it off.
    LIVE: ClassVar[bool] = True

    @dataclass
    class ActionFinished(Message):
        """A plan/apply/resume action ended (successfully or not)."""

        action: str

    @dataclass
    class PlacementComputed(Message):
        """The placement table was computed from live nodes."""

        table: "PlacementTable | None"
        error: str = ""

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session)
        self.host = EngineHost()
        self.engine: "DeployEngine | None" = None
        self.plans: dict[str, "StackPlan"] = {}
        self.rows: dict[str, StackRow] = {}
        #: Stacks deployed in this step (applied, no changes, unchanged since an earlier run), with the
        #: row state to show again when a later re-plan finds nothing to do for them.
        self.done: dict[str, tuple[str, str]] = {}
        self.busy: str | None = None
        #: The last action started (plan, apply, resume): what a worker error stopped.
        self._action: str | None = None
        self.cancel_requests = 0
        #: Why the last action stopped before it started (the operator declined writing backend files).
        self.declined = ""
        self.binary = ""
        #: True when the engine holds no saved plans for ``plans`` (none made yet, or an apply deleted
        #: them: they hold variable values): the next apply plans again first.
        self.plans_consumed = True
        #: A cancelled engine starts nothing more, and a failed gate may be fixed in organization.yaml, which an engine
        #: reads once: the next action builds a new one.
        self.spent = False
        self.resumable = False
        #: The gates beside the last plans failed, so the engine held every plan back: only p (after the gate's remedy)
        #: helps; r would plan again and stop at the same gates.
        self.held_back = False
        self._narrow: bool | None = None
        #: The open "Force stop?" dialog, closed when the run ends before the operator answers.
        self._force_modal: ConfirmModal | None = None
        #: The running action was force-stopped (SIGTERM/SIGKILL): its lock may be left behind.
        self.escalated = False
        #: The operator quit mid-run: the one SIGINT is sent and the wizard exits once the binary has stopped.
        self.quitting = False
        #: The engine for this environment could not be built (a missing tfvars file, no binary): nothing can be
        #: planned in it, but e still switches to another environment.
        self.start_failed = False
        #: stack -> (title, message, remedy) of its last failure or lock, shown whole on Enter.
        self.failures: dict[str, tuple[str, str, str]] = {}
        #: stack -> the status line its last failure or lock said: said again when an action ends stopped there.
        self.stops: dict[str, str] = {}
        #: (title, message, remedy) of a run the journal stopped (it could not be written), shown whole on Enter.
        self.journal_stop: tuple[str, str, str] | None = None
        #: The last safety-gate results; the pane under the stacks has room for a summary only, g shows them whole.
        self.gates: "GateChecked | None" = None
        #: Questions a worker or the engine waits on -> the answer that means no.
        self._asking: dict[concurrent.futures.Future[Any], Any] = {}

    # ----- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="deploy-bar"):
            yield Static("", id="deploy-banner", classes="deploy-banner", markup=False)
            yield Static("e env · f follow · / search ", id="deploy-keys")
        with Horizontal(id="deploy-panes"):
            with Vertical(id="deploy-left"):
                yield Static("Stacks", classes="pane-title")
                yield StackList(id="stack-list")
                yield Static("", id="stack-detail", markup=False)
                yield Static("", id="gates", classes="pane-foot", markup=False)
            yield LogPane(id="log-pane")
            yield PlacementPane(id="placement-pane")
        yield Static("", id="step-status", classes="step-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.log_pane = self.query_one(LogPane)
        self._banner()
        self._layout_for(self.app.size.width)
        self._status("Starting the deploy engine…", False)
        if self.LIVE:
            self.new_engine()
            self.compute_placement()

    def on_resize(self, event: Any) -> None:
        self._layout_for(event.size.width)
        self.call_after_refresh(self._show_detail)

    def _layout_for(self, width: int) -> None:
        narrow = width < NARROW
        if narrow == self._narrow:
            return  # keep what the operator toggled with t
        self._narrow = narrow
        self.set_class(not narrow, "-wide")
        self.refresh_bindings()
        pane = self.query_one(PlacementPane)
        pane.set_class(narrow, "overlay")
        pane.display = not narrow

    def action_toggle_placement(self) -> None:
        """Show or hide the placement pane (an overlay on narrow terminals)."""
        pane = self.query_one(PlacementPane)
        pane.display = not pane.display

    def action_toggle_follow(self) -> None:
        """Stop or resume scrolling the log with new lines."""
        self.log_pane.action_toggle_follow()

    def action_search(self) -> None:
        """Filter the log (Enter applies, Escape clears)."""
        pane = self.query_one(PlacementPane)
        if pane.has_class("overlay") and pane.display:
            pane.display = False  # it covers the log, and the search box typed into would be hidden under it
        self.log_pane.action_search()

    def action_back(self) -> None:
        """Escape clears an active log filter first, wherever the focus is; then it goes back a step."""
        if self.log_pane.query_text:
            self.log_pane.clear_filter()
            return
        super().action_back()

    def _remember(self) -> None:
        """Keep what this environment reached: the next visit (Back from Done, Next from Config, or
        switching back to it) starts with it."""
        from screens.session import DeployView

        stopped = {name: (row.state, row.detail) for name, row in self.rows.items()
                   if row.state in RESUMABLE_STATES and name not in self.done}
        dropped = tuple(name for name, row in self.rows.items() if row.state == "planned" and name not in self.done)
        self.session.deploy_views[self.session.env] = DeployView(
            self.session.env, dict(self.done), stopped, dict(self.session.deploy_outcomes),
            dict(self.session.transcripts), dropped)

    def on_unmount(self) -> None:
        self._remember()
        self._decline_open_questions()
        engine = self.engine
        if engine is not None and self.host.busy and not self.quitting:  # (a quit mid-run has waited already)
            # Leaving (or quitting) mid-run: one SIGINT, so the binary saves state and releases its lock.
            engine.cancel()
            self.host.wait(STOP_WAIT)
        if engine is not None:
            engine.discard()
        self.host.close()

    def _banner(self) -> None:
        env = self.session.env
        prod = self.session.draft is not None and self.session.draft.environments.get(env) is not None and \
            self.session.draft.environments[env].require_confirmation
        bar = self.query_one("#deploy-bar")
        self.query_one("#deploy-banner", Static).update(
            f" ENV {env.upper()} · honey" + (" · typed confirmation" if prod else "")
            + (" · REHEARSAL" if self.session.is_rehearsal else ""))
        bar.set_class(env == "prod" or prod, "prod")

    # ----- engine lifecycle ---------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def new_engine(self) -> None:
        """Build the engine for the current env, off the UI thread."""
        self._build_engine(resume=False)

    def _build_engine(self, resume: bool) -> "DeployEngine":
        """Build the engine (finds the binary, reads the journal); call from a worker thread."""
        from gfwizard.layout import layout_for
        from gfwizard.orgconfig import load_config
        from gfwizard.stacks import DeployEngine

        session = self.session
        environ = session.environ()
        cfg = load_config(session.config_path)
        engine = DeployEngine(cfg, session.env, layout=layout_for(cfg.cluster.network, repo=session.repo,
                                                                  environ=environ),
                              resume=resume, confirm=self._confirm, on_event=self._on_event, environ=environ)
        old, self.engine, self.spent, self.plans_consumed = self.engine, engine, False, True
        if old is not None:
            old.discard()
        last = engine.journal.last_attempt()
        self.post_message(self.EngineReady(session.env, list(engine.order), engine.binary.describe(),
                                           bool(last and last.resumable)))
        return engine

    def _engine(self) -> "DeployEngine":
        """The engine to use now (a new one after a cancel, or after a plan that stopped on an error: the stacks it
        stopped stay stopped); call from a worker thread."""
        if self.engine is None or self.spent or self.engine.spent:
            return self._build_engine(resume=False)
        return self.engine

    def on_deploy_screen_engine_ready(self, message: EngineBridge.EngineReady) -> None:
        self.binary, self.resumable = message.binary, message.resumable
        if list(self.rows) != message.order:
            if self.rows and message.env == self.session.env:
                self._remember()  # a resume narrowed to a selection: keep what this visit reached so far
            self.rows = {name: StackRow(name) for name in message.order}
            self.done = {}
            self.session.deploy_outcomes = {name: "not applied" for name in message.order}
            view = self.session.deploy_views.get(message.env)
            if view is not None:  # back on this step or this env: what was reached stays
                for name, (state, detail) in [*view.done.items(), *view.stopped.items()]:
                    if name in self.rows:
                        self.rows[name].state, self.rows[name].detail = state, detail
                        if name in view.done:
                            self.done[name] = (state, detail)
                        self.session.deploy_outcomes[name] = view.outcomes.get(name, state)
                for name, path in view.transcripts.items():
                    if name in self.rows:
                        self.session.transcripts[name] = path
                        self.log_pane.set_transcript(name, path)
            self.query_one(StackList).set_stacks(list(self.rows.values()))
            self._show_detail()
        self.plans, self.held_back = {}, False
        hint = " The last run did not finish: r resumes it." if message.resumable else ""
        view = self.session.deploy_views.get(message.env)
        if view is not None and view.dropped:
            # Said once: the rows went back to pending, and nothing else tells why.
            self.session.deploy_views[message.env] = replace(view, dropped=())
            them = "its plan was" if len(view.dropped) == 1 else "their plans were"
            hint += (f" {', '.join(view.dropped)}: {them} deleted when you left this step (saved plans hold "
                     "variable values).")
        if self.busy is not None:
            # Built by the action now running (after a cancel, or a resume): the line says that action, or
            # keeps asking for the answer to a dialog it opened.
            if not self._asking:
                self._status(f"{self.busy} running… (c cancels)", False)
        elif self.rows and all(name in self.done for name in self.rows):
            self._status("Every stack is applied. Ctrl+N for the summary (p plans again).", False)
        else:
            # What to press first, the binary last: at 80 columns a long line is cut at the bottom.
            self._status(f"p plans every stack (nothing is applied).{hint} {message.binary}.", False)
        self.refresh_bindings()

    # ----- actions ------------------------------------------------------------------------
    def action_plan_all(self) -> None:
        """Init and plan every stack (independent ones concurrently) beside the safety gates; nothing is applied."""
        self._start("plan")
        self.run_plan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def run_plan(self) -> None:
        """Run the engine's plan_all on its loop."""
        try:
            self._plan(self._engine())
        finally:
            self.post_message(self.ActionFinished("plan"))

    def _plan(self, engine: "DeployEngine") -> bool:
        """Plan every stack on the engine's loop, the gates checked beside the plans as ``gfwizard deploy
        --plan-only`` checks them; False when the operator declined the backend files or a gate failed (the
        engine then holds every plan back: none is applied)."""
        from gfwizard.checks import all_ok
        from gfwizard.journal import JournalWriteError

        if not self._backend_files_consented(engine):
            return False
        self.plans_consumed = True  # until new plans are accepted: a plan that stops deletes the saved ones
        try:
            plans = self.host.run(engine.plan_all())
        except JournalWriteError:
            return False  # the run ended with its result (RunFinished), which the step shows
        self._on_ui(lambda: self._accept_plans(plans))
        return all_ok(engine.gates)

    def _backend_files_consented(self, engine: "DeployEngine") -> bool:
        """Planning renders the env's backend files first: ask before any of them is created or changed
        (the Backend step asked only for its own env); call from a worker thread."""
        from gfwizard.backend_render import backends_to_write
        from screens.backend_screen import files_summary

        pending = backends_to_write(engine.cfg, engine.env, engine.layout)
        if not pending:
            return True
        body = (f"Planning {engine.env} renders its backend files first. These will be written (no credentials "
                "in them; unchanged files are left alone):\n" + files_summary(pending))
        consented = wait_for_answer(self._ask(ConfirmModal(f"Write {engine.env}'s backend files?", body, "Write them"), bool,
                                    declined=False))
        if not consented:
            self.declined = f"Not planned: {engine.env}'s backend files were not written. p asks again."
            self._on_ui(lambda: self._status(self.declined, True))
        return consented

    def action_apply_next(self) -> None:
        """Apply only the next stack in dependency order (after the engine's gates and consent)."""
        self._start("apply")
        self.run_apply("next")

    def action_apply_all(self) -> None:
        """Apply every planned stack in order; stops at the first failure."""
        self._start("apply")
        self.run_apply("all")

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def run_apply(self, mode: str) -> None:
        """Gate, confirm and apply on the engine loop (planning again first when an earlier apply
        consumed the saved plans: they hold variable values, so the engine deletes them)."""
        try:
            self._apply(self._engine(), mode)
        finally:
            self.post_message(self.ActionFinished("apply"))

    def _apply(self, engine: "DeployEngine", mode: str) -> None:
        if self.plans_consumed and not self._plan(engine):
            return
        plans = self._on_ui(lambda: self._plans_for(mode))
        if plans is None:
            self._on_ui(lambda: self._status(self._stopped_at() or "Nothing to apply: every stack is applied, or "
                                                                   "none is planned.", True))
            return
        self.plans_consumed = True
        self.host.run(engine.apply(plans))

    def action_cancel(self) -> None:
        """First press: one SIGINT (graceful). Second press: asks, then escalates."""
        engine = self.engine
        if engine is None or self.busy is None:
            return
        self.cancel_requests += 1
        self.spent = True
        if self.cancel_requests == 1:
            engine.cancel()
            self._status("Cancelling: one SIGINT sent; the binary saves state and releases the lock. "
                         "Press c again to force.", True)
            return
        modal = self._force_modal = ConfirmModal(
            "Force stop?", "Send SIGTERM, then SIGKILL after a grace period. The state lock may stay held and need "
            "`force-unlock`; the journal will say so.", "Force stop")

        def answered(yes: bool | None) -> None:
            if self._force_modal is modal:
                self._force_modal = None
            if yes and self.busy is not None:  # the run may have ended while the dialog was open
                self.escalated = True
                engine.cancel(escalate=True)

        self.app.push_screen(modal, answered)

    def action_resume(self) -> None:
        """Continue a failed or interrupted run: stacks deployed since with unchanged inputs are skipped,
        the rest is planned and applied (after the gates and consent)."""
        self._start("resume")
        self.run_resume()

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def run_resume(self) -> None:
        """A fresh engine with resume on, then plan and apply what is left."""
        try:
            engine = self._build_engine(resume=True)
            if self._plan(engine):
                self._apply(engine, "all")
        finally:
            self.post_message(self.ActionFinished("resume"))

    def action_switch_env(self) -> None:
        """Switch to the next environment (only while nothing runs)."""
        envs = list(self.session.draft.environments) if self.session.draft else ["dev", "prod"]
        index = envs.index(self.session.env) if self.session.env in envs else -1
        self._remember()
        self.session.env = envs[(index + 1) % len(envs)]
        self.start_failed = False
        self.rows = {}
        self.query_one(StackList).clear()
        self.query_one("#stack-detail", Static).update("")
        self.query_one("#gates", Static).update("")
        self.gates = None
        self._clear_log()
        self.session.transcripts.clear()
        self._banner()
        if self.LIVE:
            if self.engine is not None:
                self.engine.discard()  # saved plans hold variable values in clear text
            self.spent = True
            self.engine = None
            self.refresh_bindings()
            self.new_engine()

    def _clear_log(self) -> None:
        """Forget every stack's log lines (they belong to the environment left)."""
        from screens.logpane import LogView

        pane = self.log_pane
        pane.buffers.clear()
        pane.transcripts.clear()
        pane.selected = None
        pane.query_one("#log-title", Static).update("Log")
        pane.query_one(LogView).update(pane.follow, reset=True)

    def _start(self, action: str) -> None:
        self.busy, self.cancel_requests, self.declined, self.escalated = action, 0, "", False
        self.journal_stop = None
        self._action = action
        self._status(f"{action} running… (c cancels)", False)
        self.refresh_bindings()

    def on_deploy_screen_action_finished(self, message: ActionFinished) -> None:
        self.busy = None
        if self.quitting:
            return  # the wizard closes as soon as the binary has stopped; the status line says so until then
        if self._force_modal is not None:  # nothing left to force: the run ended on the first interrupt
            self._force_modal.withdraw()  # maybe under the quit question: closes once uncovered
            self._force_modal = None
        self.wizard.quit_warning_changed()
        self.refresh_bindings()
        if self.spent and self.cancel_requests:
            if self.escalated:
                self._status(f"Force-stopped: the binary was killed, so its state lock may still be held (`gfwizard "
                             f"backend locks --env {self.session.env}` shows it). r resumes and names any holder.",
                             True)
            else:
                self._status("Cancelled. r resumes (plans again, skips what is applied); p plans afresh.", True)
            return
        if message.action != "plan" and self.LIVE:
            self.compute_placement()
        if message.action == "plan" or self.declined:
            return
        if self.journal_stop is not None:
            return  # what the run applied is said with why it stopped: the journal needs fixing first
        left = [name for name in self.rows if name not in self.done]
        stopped = self._stopped_at()
        if not left:
            self.resumable = False  # the run that needed resuming is complete
            self.refresh_bindings()
            self._status("Every stack is applied. Ctrl+N for the summary.", False)
        elif stopped is not None:
            # Said again: what the apply said after it (a stack before it applied, the question answered) is not
            # what stops the next apply.
            self._status(stopped, True)
        elif not self.query_one("#step-status", Static).has_class("blocked"):
            self._status(f"Not applied yet: {', '.join(left)}. a applies the next, A the rest.", False)

    def _stopped_at(self) -> str | None:
        """What the first stack not applied yet said when it failed or was found locked, while it still is."""
        for name, row in self.rows.items():
            if name in self.done:
                continue
            return self.stops.get(name) if row.state in ("failed", "locked") else None
        return None

    # ----- placement ----------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="placement")
    def compute_placement(self) -> None:
        """Live nodes and where each stack's workloads land (read-only)."""
        from gfwizard.cluster import list_nodes
        from gfwizard.errors import GfwError
        from gfwizard.orgconfig import load_config
        from gfwizard.placement import compute_placement, requests_for

        cfg = load_config(self.session.config_path)
        try:
            nodes = list_nodes(cfg, kubeconfig=self.session.kubeconfig, context=self.session.context)
        except GfwError as exc:
            remedy = f" — {exc.remedy}" if exc.remedy else ""
            self.post_message(self.PlacementComputed(None, f"nodes could not be read: {exc.message}{remedy}"))
            return
        self.post_message(self.PlacementComputed(compute_placement(cfg, nodes, requests_for(cfg))))

    def on_deploy_screen_placement_computed(self, message: PlacementComputed) -> None:
        pane = self.query_one(PlacementPane)
        if message.table is None:
            pane.show_error(message.error)
            return
        pane.show(message.table)

    # ----- selection, gating --------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "stack-list" and event.row_key.value:
            self.log_pane.select(event.row_key.value)

    def _show_detail(self) -> None:
        """Under the list, the whole state of every stack whose state cell is too narrow for it."""
        width = self.query_one(StackList).size.width
        if not width:  # not laid out yet
            self.call_after_refresh(self._show_detail)
            return
        room = width - max((len(name) for name in self.rows), default=0) - 3  # cell padding
        cut = [row for row in self.rows.values() if len(row.label()) > room]
        self.query_one("#stack-detail", Static).update(
            Text("\n").join(Text.assemble(f"{row.stack}: ", row.label()) for row in cut))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides a key from the footer (and ignores it): only what makes sense now is offered.
        if self.quitting:
            return action == "cancel"  # c asks to force the stop; nothing else starts while the wizard closes
        idle = self.busy is None and (self.engine is not None or not self.LIVE)
        if action == "plan_all":
            return idle
        if action == "switch_env":
            return idle or (self.busy is None and self.start_failed)
        if action == "resume":
            offered = self.resumable or any(r.state in RESUMABLE_STATES for r in self.rows.values())
            return idle and offered and not self.held_back
        if action in ("apply_next", "apply_all"):
            return idle and self._can_apply()
        if action == "cancel":
            return self.busy is not None
        if action == "toggle_placement":
            return bool(self._narrow)
        if action == "show_gates":
            return self.gates is not None
        if action == "show_placement_names":
            return any(pane.cut for pane in self.query(PlacementPane))
        if action == "back":
            return self.busy is None
        return super().check_action(action, parameters)

    def quit_warning(self) -> str | None:
        if (self.busy is None and not self.host.busy) or self._asking:
            return None  # nothing runs (a dialog waiting for an answer is declined on the way out)
        what = {"plan": "A plan", "apply": "An apply", "resume": "A resume"}.get(self.busy or "", "A deploy run")
        what += " is running"
        if self.busy == "plan":
            return (f"{what} on {self.session.env}. Quitting sends it one SIGINT and waits for the binary to "
                    "stop and release the state lock; nothing is applied.")
        return (f"{what} on {self.session.env}. Quitting sends one SIGINT: the binary finishes the resource in "
                "progress, saves state and releases the lock, and no later stack is applied. "
                "Next time, r on this step resumes where it stopped.")

    def stop_for_quit(self) -> bool:
        """The operator quits mid-run: send the one SIGINT now, say on screen what the wizard waits for, and exit
        once the binary has stopped (at most STOP_WAIT). False when nothing runs: quit at once."""
        engine = self.engine
        if engine is None or self.quit_warning() is None:
            return False
        self.quitting, self.spent = True, True
        self.cancel_requests = max(self.cancel_requests, 1)  # c now offers the force stop
        engine.cancel()
        self._status(f"Quitting: one SIGINT sent; waiting (at most {STOP_WAIT:.0f} s) for the binary to save state "
                     "and release the lock, then the wizard closes. c forces the stop.", True)
        self.refresh_bindings()
        self._exit_when_stopped()
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="quit")
    def _exit_when_stopped(self) -> None:
        self.host.wait(STOP_WAIT)
        self.app.call_from_thread(self.app.exit)

    def blocked_reason(self) -> str | None:
        if self.busy is not None:
            return f"{self.busy} is running."
        if not self.rows or any(name not in self.done for name in self.rows):
            return "Apply every stack first (or Escape to go back)."
        return None
