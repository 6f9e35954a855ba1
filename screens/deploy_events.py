"""The Deploy step's handling of the engine's events: each stack's row, log lines, failures and locks (shown
whole on Enter), the gates' summary, notes, and the end of a run its journal stopped
(:mod:`screens.deploy_journal_stop`).

:class:`DeployEvents` is mixed into :class:`screens.deploy_screen.DeployScreen`; the events arrive as its
``EngineEvent`` messages (:mod:`screens.deploy_bridge`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screens.deploy_bridge import EngineBridge
from screens.deploy_dialogs import failure_text
from screens.key_hints import with_keys
from screens.stack_list import StackList, StackRow

if TYPE_CHECKING:
    from gfwizard.stacks_events import DeployEvent


class DeployEvents:
    """Engine events -> rows, log, status line (mixed into the Deploy step)."""

    def on_deploy_screen_engine_event(self, message: EngineBridge.EngineEvent) -> None:
        from gfwizard import stacks_events as ev
        from gfwizard.stacks_unrecorded import JOURNAL_UNWRITABLE

        event = message.event
        stack = getattr(event, "stack", None)
        row = self.rows.get(stack) if isinstance(stack, str) else None
        if row is not None:
            self._stack_event(row, event)
        elif isinstance(event, ev.GateChecked):
            self._show_gates(event)
        elif isinstance(event, ev.ApplyRefused):
            pending = any(name not in self.done for name in self.rows)
            reason = event.reason[:1].upper() + event.reason[1:]  # the engine's reason is a clause, not a sentence
            self._status(f"{reason}." + (" Next needs every stack applied (a or A asks again; Escape goes "
                                               "back)." if pending else ""), True)
        elif isinstance(event, ev.RunFinished) and event.result.outcome == JOURNAL_UNWRITABLE:
            self._show_journal_stop(event.result)
        elif isinstance(event, ev.RunNote) and event.message not in self.session.notes_shown:
            self.session.notes_shown.add(event.message)
            self.notify(event.message, title="Note", timeout=15, markup=False)
        self.refresh_bindings()

    def _stack_event(self, row: StackRow, event: "DeployEvent") -> None:
        from gfwizard import stacks_events as ev

        outcomes, stack = self.session.deploy_outcomes, row.stack
        if isinstance(event, ev.StackPlanned) and stack in self.done and not event.summary.has_changes:
            row.state, row.detail = self.done[stack]  # still deployed: keep showing how
        else:
            row.update(event)
        if isinstance(event, ev.StackPlanning):
            self.log_pane.set_transcript(stack, self._transcript(stack))
        elif isinstance(event, (ev.StackApplied, ev.StackNoChanges)) or (
                isinstance(event, ev.StackSkipped) and event.plan_hash):
            self.done[stack] = (row.state, row.detail)
            if outcomes.get(stack) != "applied" or isinstance(event, ev.StackApplied):
                outcomes[stack] = row.state
        elif isinstance(event, ev.StackSkipped):
            self.log_pane.add_line(stack, event.reason)
        elif isinstance(event, ev.StackFailed):
            outcomes[stack] = f"failed ({event.phase})"
            self.log_pane.add_line(stack, f"FAILED in {event.phase}: {event.message}")
            for detail in event.diagnostics:
                self.log_pane.add_line(stack, f"  {detail}")
            remedy = with_keys(event.remedy, {f"gfwizard deploy --env {self.session.env} --resume": "r"})
            self.log_pane.add_line(stack, f"remedy: {remedy}")
            self.failures[stack] = (f"{stack} failed in {event.phase}", failure_text(event.message, event.diagnostics),
                                    remedy)
            self.stops[stack] = f"{stack} failed: {event.message} (Enter on {stack} shows it whole) — {remedy}"
            self._status(self.stops[stack], True)
        elif isinstance(event, ev.StackLocked):
            outcomes[stack] = f"locked {row.detail}"
            remedy = with_keys(event.remedy, {f"gfwizard deploy --env {self.session.env} --resume": "r"})
            self.log_pane.add_line(stack, f"LOCKED {row.detail}: {remedy}")
            self.failures[stack] = (f"{stack} is locked", f"{stack}'s state lock is held {row.detail}.", remedy)
            self.stops[stack] = f"{stack} is locked {row.detail} (Enter on {stack} shows the way out whole): {remedy}"
            self._status(self.stops[stack], True)
        elif isinstance(event, ev.StackInterrupted):
            outcomes[stack] = "interrupted"
        elif isinstance(event, ev.PreviousRunUnfinished):
            self.notify(event.detail, title="Previous run unfinished", severity="warning", timeout=20, markup=False)
        elif isinstance(event, ev.DependencyWarning):
            self.log_pane.add_line(stack, event.detail)
        self.query_one(StackList).update_row(row)
        self._show_detail()
        # The transcript Done links: the run that decided the stack's outcome. A stack already deployed
        # and only planned again keeps the one of the run that deployed it.
        if isinstance(event, (ev.StackApplied, ev.StackNoChanges, ev.StackFailed, ev.StackLocked,
                              ev.StackInterrupted)) or (isinstance(event, ev.StackPlanning) and stack not in self.done):
            self.session.transcripts[stack] = self._transcript(stack)

    def _transcript(self, stack: str) -> str:
        """Where ``stack``'s transcript of this run is written (the session's record without an engine)."""
        if self.engine is not None and stack in self.engine.workers:
            return str(self.engine.workers[stack].transcript)
        return self.session.transcripts.get(stack, "")
