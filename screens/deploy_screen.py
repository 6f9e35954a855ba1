"""Step 6 — Deploy: stacks (left), live log (centre), placement (right); plan, apply, cancel, resume.

The engine is the same one ``gfwizard deploy`` uses; it runs on its own loop thread
(:class:`~screens.engine_host.EngineHost`), reports through events, and asks for consent through a
callback that opens a modal here. Gates (fingerprint, server, lock probe, typed prod confirmation,
destroys first in red) are the engine's: the screen cannot skip them.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from screens.confirm_modal import ConfirmModal, TypedConfirmModal
from screens.engine_host import EngineHost
from screens.logpane import LogPane
from screens.placement_pane import PlacementPane
from screens.stack_list import StackList, StackRow
from screens.step import StepScreen

if TYPE_CHECKING:
    from gfwizard.gates import ConfirmRequest
    from gfwizard.placement import PlacementTable
    from gfwizard.stacks import DeployEngine, StackPlan
    from gfwizard.stacks_events import DeployEvent

NARROW = 110


def confirm_body(request: "ConfirmRequest") -> Text:
    """What an apply will do: destroys and replaces first, in red; then each stack's counts."""
    text = Text()
    if request.destructive:
        text.append("DESTROYS AND REPLACES\n", style="bold red")
        for change in request.destructive:
            text.append(f"  {change.action:<8} {change.stack}: {change.address}\n", style="red")
        text.append("\n")
    for planned in request.stacks:
        text.append(f"  {planned.stack:<18} {planned.summary.counts()}\n")
    text.append(f"\nEnvironment: {request.env}")
    return text


class DeployScreen(StepScreen):
    """Plans and applies the stacks of the selected environment."""

    STEP_TITLE = "6 · Deploy"
    CSS_PATH = "deploy.tcss"
    BINDINGS = [
        Binding("p", "plan_all", "Plan all"),
        Binding("a", "apply_next", "Apply next"),
        Binding("A", "apply_all", "Apply all"),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "resume", "Resume"),
        Binding("e", "switch_env", "Env"),
        Binding("t", "toggle_placement", "Placement", show=False),
    ]

    @dataclass
    class EngineEvent(Message):
        """The deploy engine reported something (``event`` is one of gfwizard.stacks_events)."""

        event: "DeployEvent"

    @dataclass
    class EngineReady(Message):
        """A new engine was built for ``env``."""

        env: str
        order: list[str]
        binary: str

    @dataclass
    class PlansReady(Message):
        """Every selected stack has a plan (or a reason it has none)."""

        plans: dict[str, "StackPlan"]

    @dataclass
    class ActionFinished(Message):
        """A plan/apply action ended (successfully or not)."""

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
        self.busy: str | None = None
        self.done: set[str] = set()
        self.cancel_requests = 0
        self.binary = ""
        self.plans_consumed = False

    # ----- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="deploy-banner", classes="deploy-banner")
        with Horizontal(id="deploy-panes"):
            with Vertical(id="deploy-left"):
                yield Static("Stacks", classes="pane-title")
                yield StackList(id="stack-list")
                yield Static("", id="gates", classes="pane-foot")
            yield LogPane(id="log-pane")
            yield PlacementPane(id="placement-pane")
        yield Static("", id="step-status", classes="step-status")
        yield Footer()

    def on_mount(self) -> None:
        self._banner()
        self.new_engine()
        self.compute_placement()
        self._layout_for(self.app.size.width)

    def on_resize(self, event: Any) -> None:
        self._layout_for(event.size.width)

    def _layout_for(self, width: int) -> None:
        self.query_one("#placement-pane").set_class(width < NARROW, "overlay")
        if width < NARROW:
            self.query_one("#placement-pane").display = False

    def action_toggle_placement(self) -> None:
        """Show or hide the placement pane (narrow terminals)."""
        pane = self.query_one("#placement-pane")
        pane.display = not pane.display

    def on_unmount(self) -> None:
        engine = self.engine
        if engine is not None:
            for worker in engine.workers.values():
                worker.remove_plan()
        self.host.close()

    def _banner(self) -> None:
        env = self.session.env
        prod = env == "prod"
        banner = self.query_one("#deploy-banner", Static)
        banner.update(f" ENV {env.upper()} · cluster honey" + (" · typed confirmation required" if prod else "")
                      + (" · REHEARSAL" if self.session.is_rehearsal else ""))
        banner.set_class(prod, "prod")

    # ----- engine lifecycle ---------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="engine")
    def new_engine(self, resume: bool = False) -> None:
        """Build the engine for the current env, off the UI thread."""
        self._build_engine(resume)

    def _build_engine(self, resume: bool) -> None:
        """Build the engine (finds the binary, reads the journal); call from a worker thread."""
        from gfwizard.layout import layout_for
        from gfwizard.orgconfig import load_config
        from gfwizard.stacks import DeployEngine

        session = self.session
        cfg = load_config(session.config_path)
        engine = DeployEngine(cfg, session.env, layout=layout_for(cfg.cluster.network, repo=session.repo),
                              resume=resume, confirm=self._confirm, on_event=self._on_event,
                              environ=session.environ())
        self.engine, self.plans, self.done, self.plans_consumed = engine, {}, set(), False
        self.post_message(self.EngineReady(session.env, list(engine.order), engine.binary.describe()))

    def on_deploy_screen_engine_ready(self, message: EngineReady) -> None:
        self.binary = message.binary
        self.rows = {name: StackRow(name) for name in message.order}
        self.query_one(StackList).set_stacks(list(self.rows.values()))
        self._status(f"{message.binary}. p plans every stack (nothing is applied).", False)
        self.refresh_bindings()

    # ----- engine callbacks (engine loop thread) ---------------------------------------------
    def _on_event(self, event: "DeployEvent") -> None:
        from gfwizard.stacks_events import LogLine

        if isinstance(event, LogLine):
            self.query_one(LogPane).add_line(event.stack, event.text)
        else:
            self.post_message(self.EngineEvent(event))

    def _confirm(self, request: "ConfirmRequest") -> Any:
        """Asked by the engine before the first apply; opens the modal on the UI thread."""
        import asyncio

        answer: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def ask() -> None:
            body = confirm_body(request)
            if request.typed:
                modal: Any = TypedConfirmModal(f"Apply to {request.env}?", body, request.env)
                self.app.push_screen(modal, lambda ok: answer.set_result(request.env if ok else ""))
            else:
                self.app.push_screen(ConfirmModal(f"Apply to {request.env}?", body, "Apply"),
                                     lambda ok: answer.set_result(bool(ok)))

        self.app.call_from_thread(ask)
        return asyncio.wrap_future(answer)

    # ----- actions ------------------------------------------------------------------------
    def action_plan_all(self) -> None:
        """Init and plan every stack (independent ones concurrently); nothing is applied."""
        self._start("plan")
        self.plan_all()

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def plan_all(self) -> None:
        """Run the engine's plan_all on its loop."""
        try:
            assert self.engine is not None
            plans = self.host.run(self.engine.plan_all())
            self.post_message(self.PlansReady(plans))
        finally:
            self.post_message(self.ActionFinished("plan"))

    def on_deploy_screen_plans_ready(self, message: PlansReady) -> None:
        self.plans = message.plans
        if self.busy == "plan":
            self.plans_consumed = False
        ready = [p for p in message.plans.values() if p.ready]
        self._status(f"{len(ready)}/{len(message.plans)} stacks planned. a applies the next, A applies all.",
                     len(ready) != len(message.plans))

    def _next_stack(self) -> str | None:
        for name in self.rows:
            if name in self.done:
                continue
            plan = self.plans.get(name)
            return name if plan is not None and plan.ready else None
        return None

    def action_apply_next(self) -> None:
        """Apply only the next stack in dependency order (after the engine's gates and consent)."""
        if self._next_stack() is None:
            self.notify("Nothing to apply next: plan first (p), or every stack is done.")
            return
        self._start("apply")
        self.run_apply("next")

    def action_apply_all(self) -> None:
        """Apply every planned stack in order; stops at the first failure."""
        if not self.plans:
            self.notify("Plan first (p).")
            return
        self._start("apply")
        self.run_apply("all")

    def _plans_for(self, mode: str) -> dict[str, "StackPlan"]:
        """The plans handed to the engine: done stacks skipped; for "next", everything after it held back."""
        from gfwizard.stacks import StackPlan

        target = self._next_stack() if mode == "next" else None
        plans: dict[str, StackPlan] = {}
        for stack in self.rows:
            plan = self.plans[stack]
            if stack in self.done:
                plans[stack] = replace(plan, outcome="skipped")
            elif mode == "all" or stack == target:
                plans[stack] = plan
            else:
                plans[stack] = StackPlan(stack)
        return plans

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def run_apply(self, mode: str) -> None:
        """Gate, confirm and apply on the engine loop. The engine deletes saved plans after an apply
        (they hold variable values), so a later apply first plans the remaining stacks again."""
        try:
            assert self.engine is not None
            if self.plans_consumed:
                self.plans = self.host.run(self.engine.plan_all())
                self.post_message(self.PlansReady(self.plans))
            self.plans_consumed = True
            self.host.run(self.engine.apply(self._plans_for(mode)))
        finally:
            self.post_message(self.ActionFinished("apply"))

    def action_cancel(self) -> None:
        """First press: one SIGINT (graceful). Second press: asks, then escalates."""
        if self.engine is None or self.busy is None:
            self.notify("Nothing is running.")
            return
        self.cancel_requests += 1
        if self.cancel_requests == 1:
            self.engine.cancel()
            self._status("Cancelling: one SIGINT sent; waiting for the binary to save state and release the "
                         "lock. Press c again to force.", True)
            return
        self.app.push_screen(
            ConfirmModal("Force stop?", "Send SIGTERM, then SIGKILL after a grace period. The state lock may stay "
                         "held and need `force-unlock`; the journal will say so.", "Force stop"),
            lambda yes: self.engine.cancel(escalate=True) if yes and self.engine else None)

    def action_resume(self) -> None:
        """Continue a failed or interrupted run: stacks applied with unchanged inputs are skipped."""
        self._start("resume")
        self.run_resume()

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def run_resume(self) -> None:
        """A fresh engine with resume on, then plan."""
        try:
            self._build_engine(resume=True)
            assert self.engine is not None
            self.post_message(self.PlansReady(self.host.run(self.engine.plan_all())))
        finally:
            self.post_message(self.ActionFinished("resume"))

    def action_switch_env(self) -> None:
        """Toggle dev/prod (only while nothing runs)."""
        envs = list(self.session.draft.environments) if self.session.draft else ["dev", "prod"]
        index = envs.index(self.session.env) if self.session.env in envs else -1
        self.session.env = envs[(index + 1) % len(envs)]
        self._banner()
        self.query_one(LogPane).buffers.clear()
        self.new_engine()

    def _start(self, action: str) -> None:
        self.busy, self.cancel_requests = action, 0
        self._status(f"{action} running… (c cancels)", False)
        self.refresh_bindings()

    def on_deploy_screen_action_finished(self, message: ActionFinished) -> None:
        self.busy = None
        self.refresh_bindings()
        if message.action == "plan":
            return
        self.compute_placement()
        left = [name for name in self.rows if name not in self.done]
        if not left:
            self._status("Every stack is applied. Ctrl+N for the summary.", False)
        elif not self.query_one("#step-status", Static).has_class("blocked"):
            self._status(f"Not applied yet: {', '.join(left)}. a applies the next, A the rest.", False)

    # ----- events -------------------------------------------------------------------------
    def on_deploy_screen_engine_event(self, message: EngineEvent) -> None:
        from gfwizard import stacks_events as ev

        event = message.event
        stack = getattr(event, "stack", None)
        row = self.rows.get(stack) if isinstance(stack, str) else None
        if isinstance(event, ev.StackPlanning) and row:
            row.state, row.detail = "planning", ""
            self.query_one(LogPane).set_transcript(event.stack, str(self.engine.workers[event.stack].transcript)
                                                   if self.engine else "")
        elif isinstance(event, ev.StackPlanned) and row:
            s = event.summary
            row.state, row.detail = "planned", f"+{s.add} ~{s.change} -{s.destroy}" + (
                f" ±{s.replace}" if s.replace else "")
            row.total_resources = s.add + s.change + s.destroy + s.replace
        elif isinstance(event, ev.StackSkipped) and row:
            row.state, row.detail = "skipped", ""
            if event.plan_hash:
                self.done.add(event.stack)
        elif isinstance(event, ev.ApplyStarted) and row:
            row.state, row.done_resources = "applying", 0
        elif isinstance(event, (ev.ResourceApplied, ev.ResourceFailed)) and row:
            row.done_resources += 1
        elif isinstance(event, ev.StackApplied) and row:
            row.state, row.detail = "applied", f"+{event.added} ~{event.changed} -{event.destroyed}"
            self.done.add(event.stack)
            self.session.deploy_outcomes[event.stack] = "applied"
        elif isinstance(event, ev.StackNoChanges) and row:
            row.state, row.detail = "no changes", ""
            self.done.add(event.stack)
            self.session.deploy_outcomes[event.stack] = "no changes"
        elif isinstance(event, ev.StackFailed) and row:
            row.state, row.detail = "failed", event.phase
            self.session.deploy_outcomes[event.stack] = f"failed ({event.phase})"
            self.query_one(LogPane).add_line(event.stack, f"FAILED in {event.phase}: {event.message}")
            self.query_one(LogPane).add_line(event.stack, f"remedy: {event.remedy}")
            self._status(f"{event.stack} failed: {event.message} — {event.remedy}", True)
        elif isinstance(event, ev.StackLocked) and row:
            who = event.lock.who if event.lock else "someone"
            age = f" for {int(event.age_seconds // 60)} min" if event.age_seconds is not None else ""
            row.state, row.detail = "locked", f"by {who}{age}"
            self.session.deploy_outcomes[event.stack] = f"locked by {who}"
            self._status(f"{event.stack} is locked by {who}{age}: {event.remedy}", True)
        elif isinstance(event, ev.StackInterrupted) and row:
            row.state, row.detail = "interrupted", event.phase
            self.session.deploy_outcomes[event.stack] = "interrupted"
        elif isinstance(event, ev.GateChecked):
            self._show_gates(event)
        elif isinstance(event, ev.ApplyRefused):
            self._status(event.reason, True)
        elif isinstance(event, ev.PreviousRunUnfinished):
            self.notify(event.detail, title="Previous run unfinished", severity="warning", timeout=20)
        if row is not None:
            self.query_one(StackList).update_row(row)
            transcript = self.engine.workers[row.stack].transcript if self.engine else None
            if transcript is not None:
                self.session.transcripts[row.stack] = str(transcript)
        self.refresh_bindings()

    def _show_gates(self, event: Any) -> None:
        text = Text()
        for check in event.checks:
            style = {"pass": "green", "warn": "yellow", "fail": "bold red"}[check.level.value]
            text.append(f"{check.level.value.upper():<4} {check.name}\n", style=style)
            if not check.ok:
                text.append(f"  {check.detail}\n  → {check.remedy}\n", style="red")
        self.query_one("#gates", Static).update(text)
        if not event.ok:
            self._status("A safety gate failed: nothing was applied (see the gates under the stack list).", True)

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
            self.post_message(self.PlacementComputed(None, f"nodes could not be read: {exc.message}"))
            return
        self.post_message(self.PlacementComputed(compute_placement(cfg, nodes, requests_for(cfg))))

    def on_deploy_screen_placement_computed(self, message: PlacementComputed) -> None:
        pane = self.query_one(PlacementPane)
        if message.table is None:
            pane.show_error(message.error)
        else:
            pane.show(message.table)

    # ----- selection, gating --------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "stack-list" and event.row_key.value:
            self.query_one(LogPane).select(event.row_key.value)

    def _status(self, text: str, blocked: bool) -> None:
        status = self.query_one("#step-status", Static)
        status.update(text)
        status.set_class(blocked, "blocked")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        idle = self.busy is None and self.engine is not None
        if action in ("plan_all", "resume", "switch_env"):
            return idle
        if action == "apply_next":
            return idle and self._next_stack() is not None
        if action == "apply_all":
            return idle and any(p.ready for s, p in self.plans.items() if s not in self.done)
        if action == "cancel":
            return self.busy is not None
        if action == "back":
            return self.busy is None
        return super().check_action(action, parameters)

    def blocked_reason(self) -> str | None:
        if self.busy is not None:
            return f"{self.busy} is running."
        if not self.rows or any(name not in self.done for name in self.rows):
            return "Apply every stack first (or Escape to go back)."
        return None
