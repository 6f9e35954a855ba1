"""The Deploy step's view of a run its journal stopped (outcome ``journal-unwritable``: a journal entry could not be
written): each stack's outcome in its row, and why it stopped, what it applied (and did not record) and the
remedy, from the result's typed :class:`~gfwizard.stacks_events.JournalStop`.

:class:`JournalStopView` is mixed into :class:`screens.deploy_screen.DeployScreen`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screens.key_hints import with_keys
from screens.stack_list import StackList

if TYPE_CHECKING:
    from gfwizard.stacks_events import DeployResult

#: What a stack's row says of the outcome a run the journal stopped reports for it (when no event said it).
UNRECORDED_STATES = {"applied": "applied", "no-changes": "no changes", "failed": "failed", "locked": "locked"}


class JournalStopView:
    """Shows a run the journal stopped, in the rows and the status line (mixed into the Deploy step)."""

    def _show_journal_stop(self, result: "DeployResult") -> None:
        """A run the journal stopped (it could not be written): each stack's outcome in its row, and in the status
        line why it stopped, what it applied (and did not record) and the remedy; Enter shows them whole."""
        # The stopped run's binaries were told to stop, and a stack's stays stopped: the next action builds a new
        # engine (a new run), as after a cancel.
        self.spent = True
        outcomes = self.session.deploy_outcomes
        for stack in result.stacks:
            row = self.rows.get(stack.stack)
            if row is None:
                continue
            if stack.outcome in UNRECORDED_STATES and row.state not in ("applied", "no changes", "unchanged"):
                row.state, row.detail = UNRECORDED_STATES[stack.outcome], ""
            elif stack.outcome == "interrupted":
                row.state, row.detail = "interrupted", "(apply)"
                outcomes[stack.stack] = "interrupted"
            elif stack.outcome == "not-run" and row.state in ("planned", "planning", "applying"):
                row.state, row.detail = "not run", ""
            if stack.outcome in ("applied", "no-changes"):
                self.done[stack.stack] = (row.state, row.detail)
                outcomes[stack.stack] = row.state
            if stack.error:
                self.log_pane.add_line(stack.stack, stack.error)
                if stack.outcome == "applied":
                    outcomes[stack.stack] = "applied (not recorded in the journal)"
            self.query_one(StackList).update_row(row)
        stop = result.journal_stop
        why, applied, remedy = (stop.why, stop.applied_text, stop.remedy) if stop is not None else ("", "", "")
        remedy = with_keys(remedy, {f"gfwizard deploy --env {self.session.env} --resume": "r"})
        self.journal_stop = ("The run stopped: its journal cannot be written", f"{why}.\n\n{applied}.", remedy)
        self._status(f"The run stopped: its journal cannot be written. {applied[:1].upper()}{applied[1:]}. Enter "
                     f"shows why whole — {remedy}", True)
        self._show_detail()
