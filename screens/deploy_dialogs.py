"""The Deploy step's gates pane and the dialogs that show whole what the step can only summarise: every gate's
detail and remedy (``g``), a failed or locked stack's message and remedy or a journal stop's (Enter on a stack),
and the placement with every node name whole (``n``).

:class:`DeployDialogs` is mixed into :class:`screens.deploy_screen.DeployScreen`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable, Static

from screens.placement_pane import PlacementPane

if TYPE_CHECKING:
    from gfwizard.stacks_events import GateChecked


def failure_text(message: str, diagnostics: tuple[str, ...]) -> str:
    """A failed stack's message and, under it, what the binary said (its errors, or its last lines): the
    cause, which the log pane cuts at its width and the message alone does not name ("init failed (exit 1)")."""
    from gfwizard.redact import redact

    lines = list(diagnostics)
    while lines and not lines[0].strip():
        del lines[0]
    while lines and not lines[-1].strip():
        del lines[-1]
    if not lines:
        return message
    return message + "\n\nThe binary said:\n" + "\n".join(redact(line) for line in lines)


class DeployDialogs:
    """The gates pane and the dialogs of the Deploy step (mixed into it)."""

    def _show_gates(self, event: "GateChecked") -> None:
        """A short summary under the stacks (it must fit the 40-column pane); g shows every check whole."""
        self.gates = event
        text = Text()
        if event.ok:
            text.append("Gates passed", style="green")
        else:
            text.append("Gates failed", style="bold red")
        text.append(" · g: details")
        for check in event.checks:
            if check.level.value != "pass":
                style = "yellow" if check.ok else "bold red"
                text.append(f"\n{check.level.value.upper():<4} {check.name}", style=style)
        self.query_one("#gates", Static).update(text)
        self.refresh_bindings()
        if not event.ok:
            # Following a gate's remedy may mean editing organization.yaml (the fingerprint), which an engine reads
            # once: the next action builds a new engine, so that it checks what the operator fixed.
            self.spent = True
            failing = ", ".join(check.name for check in event.checks if not check.ok)
            self._status(f"A safety gate failed ({failing}): nothing was applied. g shows each gate's detail and "
                         "remedy.", True)

    def action_show_gates(self) -> None:
        """Every safety gate of the last plan or apply, with its detail and remedy, in a dialog."""
        from screens.error_modal import ErrorModal, InfoModal

        if self.gates is None:
            return
        title = "Safety gates passed" if self.gates.ok else "A safety gate failed: nothing was applied"
        parts: list[str] = []
        for check in self.gates.checks:
            part = f"{check.level.value.upper()} {check.name}" + (f": {check.detail}" if check.detail else "")
            if check.remedy and check.level.value != "pass":
                part += f"\n  Remedy: {check.remedy}"
            parts.append(part)
        dialog = ErrorModal if not self.gates.ok else InfoModal
        self.app.push_screen(dialog(title, "\n\n".join(parts), ""))

    def action_show_placement_names(self) -> None:
        """The placement with every node name whole, in a dialog: the pane cuts a long name in the middle, and
        its tooltip needs a mouse."""
        from screens.error_modal import InfoModal

        self.app.push_screen(InfoModal("Placement, node names whole", self.query_one(PlacementPane).whole_text(),
                                       ""))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a stack that failed or is locked: its message and remedy whole, in a dialog (the
        status line and the log cut long commands such as a force-unlock). Enter on another stack after a
        safety gate failed: the gates whole (the run stopped before that stack)."""
        stack = event.row_key.value if event.data_table.id == "stack-list" else None
        if stack is not None and self.journal_stop is not None:
            from screens.error_modal import ErrorModal

            self.app.push_screen(ErrorModal(*self.journal_stop))
        elif stack in self.failures and self.rows.get(stack) is not None and \
                self.rows[stack].state in ("failed", "locked"):
            from screens.error_modal import ErrorModal

            title, message, remedy = self.failures[stack]
            self.app.push_screen(ErrorModal(title, message, remedy))
        elif stack is not None and self.gates is not None and not self.gates.ok:
            self.action_show_gates()  # the run stopped before this stack: the gates say why
