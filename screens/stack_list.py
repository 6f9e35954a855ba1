"""The deploy step's stack list: one row per stack with its live state, driven by engine events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable

from gfwizard.durations import duration
from gfwizard.textsafe import printable

if TYPE_CHECKING:
    from gfwizard.stacks_events import DeployEvent

STATE_STYLES = {
    "pending": "dim", "planning": "cyan", "planned": "bold", "applying": "bold cyan",
    "applied": "bold green", "no changes": "green", "unchanged": "green", "not planned": "yellow",
    "not run": "yellow", "held back": "yellow",
    "failed": "bold red", "locked": "bold red", "interrupted": "bold yellow",
}


@dataclass
class StackRow:
    """What the list shows for one stack."""

    stack: str
    state: str = "pending"
    detail: str = ""
    done_resources: int = 0
    total_resources: int = 0

    def label(self) -> Text:
        """``planned +2 ~0 -1``, ``applying 3/7``, ``locked by alice for 5m``..."""
        text = self.state
        if self.state == "applying" and self.total_resources:
            text = f"applying {min(self.done_resources, self.total_resources)}/{self.total_resources}"
        elif self.detail:
            text = f"{self.state} {self.detail}"
        return Text(text, style=STATE_STYLES.get(self.state, ""))

    def update(self, event: "DeployEvent") -> bool:
        """Follow one engine event about this stack; True when something the row shows changed."""
        from gfwizard import stacks_events as ev

        if isinstance(event, ev.StackPlanning):
            self.state, self.detail = "planning", ""
        elif isinstance(event, ev.StackPlanned):
            s = event.summary
            counts = f"+{s.add} ~{s.change} -{s.destroy}" + (f" ±{s.replace}" if s.replace else "")
            self.state, self.detail = "planned", counts if s.has_changes else "(no changes)"
        elif isinstance(event, ev.StackSkipped):
            # With a plan hash: deployed earlier with the same inputs (resume). Without: blocked by a dependency.
            self.state, self.detail = ("unchanged", "") if event.plan_hash else ("not planned", "")
        elif isinstance(event, ev.ApplyStarted):
            s = event.summary
            self.state, self.detail = "applying", ""
            self.done_resources, self.total_resources = 0, s.add + s.change + s.destroy + s.replace
        elif isinstance(event, (ev.ResourceApplied, ev.ResourceFailed)):
            self.done_resources += 1
        elif isinstance(event, ev.StackApplied):
            self.state, self.detail = "applied", f"+{event.added} ~{event.changed} -{event.destroyed}"
        elif isinstance(event, ev.StackNoChanges):
            self.state, self.detail = "no changes", ""
        elif isinstance(event, ev.StackFailed):
            self.state, self.detail = "failed", f"({event.phase})"
        elif isinstance(event, ev.StackLocked):
            who = printable(event.lock.who) if event.lock and event.lock.who else "another run"
            age = f" for {duration(event.age_seconds)}" if event.age_seconds is not None else ""
            self.state, self.detail = "locked", f"by {who}{age}"
        elif isinstance(event, ev.StackInterrupted):
            self.state, self.detail = "interrupted", f"({event.phase})"
        else:
            return False
        return True


class StackList(DataTable[Text]):
    """Rows keyed by stack name."""

    def on_mount(self) -> None:
        self.cursor_type = "row"

    def set_stacks(self, rows: list[StackRow]) -> None:
        """Show ``rows`` (replacing earlier ones)."""
        # The name column gets its final width up front: a header painted while the column was still
        # growing could stay misaligned.
        self.clear(columns=True)
        self.add_column("Stack", key="stack", width=max([5, *(len(row.stack) for row in rows)]))
        self.add_column("State", key="state")
        for row in rows:
            self.add_row(Text(row.stack), row.label(), key=row.stack)

    def update_row(self, row: StackRow) -> None:
        """Refresh one stack's state cell."""
        if row.stack in self.rows:
            label = row.label()
            column = self.columns["state"]
            # Grow the column now, not on the next idle as update_width does: a paint in between caches the
            # cell cut to the old width, and the cache outlives the resize ("interrupted (app" after a cancel).
            column.content_width = max(column.content_width, label.cell_len)
            self.update_cell(row.stack, "state", label, update_width=True)
