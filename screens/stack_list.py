"""The deploy step's stack list: one row per stack with its live state."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

STATE_STYLES = {
    "pending": "dim", "initialising": "cyan", "planning": "cyan", "planned": "bold", "applying": "bold cyan",
    "applied": "bold green", "no changes": "green", "skipped": "green", "failed": "bold red",
    "locked": "bold red", "interrupted": "bold yellow",
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
        """``planned +2 ~0 -1``, ``applying 3/7``, ``locked by alice``..."""
        text = self.state
        if self.state == "applying" and self.total_resources:
            text = f"applying {self.done_resources}/{self.total_resources}"
        elif self.detail:
            text = f"{self.state} {self.detail}"
        return Text(text, style=STATE_STYLES.get(self.state, ""))


class StackList(DataTable[Text]):
    """Rows keyed by stack name."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_column("Stack", key="stack")
        self.add_column("State", key="state")

    def set_stacks(self, rows: list[StackRow]) -> None:
        """Show ``rows`` (replacing earlier ones)."""
        self.clear()
        for row in rows:
            self.add_row(Text(row.stack), row.label(), key=row.stack)

    def update_row(self, row: StackRow) -> None:
        """Refresh one stack's state cell."""
        if row.stack in self.rows:
            self.update_cell(row.stack, "state", row.label(), update_width=True)
