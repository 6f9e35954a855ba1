"""The Deploy step's handling of the engine's events: each stack's row, log lines, failures and locks (shown
whole on Enter), the gates' summary, notes, and the end of a run its journal stopped
(:mod:`screens.deploy_journal_stop`); and of a worker's error (the engine could not start, or an action stopped
on an error that no event reports).

:class:`DeployEvents` is mixed into :class:`screens.deploy_screen.DeployScreen`; the events arrive as its
``EngineEvent`` messages (:mod:`screens.deploy_bridge`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState

from screens.deploy_bridge import EngineBridge
from screens.deploy_dialogs import failure_text
from screens.key_hints import with_keys
from screens.stack_list import StackList, StackRow

if TYPE_CHECKING:
    from gfwizard.stacks_events import DeployEvent


class DeployEvents:
    """Engine events and worker errors -> rows, log, status line (mixed into the Deploy step)."""

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

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # StepScreen's handler (Textual calls it too: handlers run along the MRO) opens the error modal;
        # this says it in the step too (the modal goes away), or the line would still read "running…".
        if event.state is not WorkerState.ERROR or event.worker.group != "deploy":
            return
        said = _said(event.worker.error)
        if self.engine is None:  # nothing is planned until this is fixed
            self.start_failed = True  # another environment may still be deployed: e stays offered
            if said is None:
                self._status("The deploy engine could not start (see the error). Fix it, then Escape and come "
                             "back to this step.", True)
            else:
                self._status(f"The deploy engine could not start, so nothing can be planned: {said[0]}. "
                             f"{said[1]}, then Escape and come back to this step.", True)
        elif self._action is not None:  # e.g. another run of the environment holds its lock
            what = self._action.capitalize()
            # No event will end these plans or this apply now: a row left "planning" or "applying" would say one
            # still runs.
            for row in self.rows.values():
                if row.state in ("planning", "applying"):
                    row.state, row.detail = ("not planned", "") if row.state == "planning" else ("interrupted",
                                                                                                 "(error)")
                    self.query_one(StackList).update_row(row)
            if said is None:
                self._status(f"{what} stopped on an error (see the error); p plans again once it is fixed.", True)
            else:
                self._status(f"{what} stopped: {said[0]}. {said[1]} (p plans again).", True)


def _said(error: BaseException | None) -> tuple[str, str] | None:
    """A gfwizard error as (message, remedy starting with a capital, no final stop); None for others."""
    from gfwizard.errors import GfwError
    from screens.app import describe_error

    if not isinstance(error, GfwError):
        return None
    message, remedy = describe_error(error)
    remedy = remedy.rstrip(". ")
    return message, (remedy[:1].upper() + remedy[1:] if remedy else "Fix it")
