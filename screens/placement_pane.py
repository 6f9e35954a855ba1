"""The placement pane: nodes by role with capacity, which stack lands where, conflicts in red; marked
as not live when the nodes cannot be read any more."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

if TYPE_CHECKING:
    from gfwizard.placement import PlacementTable


PANE_TITLE = "Placement"


class PlacementPane(Vertical):
    """Renders a :class:`~gfwizard.placement.PlacementTable`; when nodes cannot be read any more, the last
    tables stay, marked as not live (class ``-stale``)."""

    #: When the tables shown were computed from live nodes (None: never).
    read_at: datetime | None = None

    def compose(self) -> ComposeResult:
        yield Static(PANE_TITLE, id="placement-title", classes="pane-title", markup=False)
        yield DataTable(id="placement-roles", cursor_type="none", show_cursor=False)
        yield DataTable(id="placement-rows", cursor_type="none", show_cursor=False)
        yield Static("", id="placement-conflicts", classes="pane-foot", markup=False)

    def on_mount(self) -> None:
        self.query_one("#placement-roles", DataTable).add_columns("Role", "Nodes", "CPU", "Mem")
        self.query_one("#placement-rows", DataTable).add_columns("Stack", "Lands on")

    def show(self, table: "PlacementTable") -> None:
        """Replace the pane's content with ``table`` (live)."""
        self.read_at = datetime.now()
        self.remove_class("-stale")
        self.query_one("#placement-title", Static).update(PANE_TITLE)
        roles = self.query_one("#placement-roles", DataTable)
        roles.clear()
        for role in table.roles:
            style = "red" if role.conflicts else ""
            roles.add_row(Text(role.role, style=style), Text(", ".join(role.ready_nodes) or "none", style=style),
                          f"{role.cpu_requested}/{role.cpu_allocatable}",
                          f"{role.memory_requested}/{role.memory_allocatable}")
        rows = self.query_one("#placement-rows", DataTable)
        rows.clear()
        per_stack: dict[str, int] = {}
        for row in table.rows:
            per_stack[row.stack] = per_stack.get(row.stack, 0) + 1
        for row in table.rows:
            style = "bold red" if row.conflicts else ""
            name = row.stack if per_stack[row.stack] == 1 else f"{row.stack}/{row.workload}"
            where = ", ".join(row.candidates) or "nowhere"
            rows.add_row(Text(name, style=style), Text(f"{where} ({row.role or 'no role'})", style=style))
        conflicts = table.conflicts()
        text = Text()
        for where, conflict in conflicts:
            text.append(f"✗ {where}: {conflict.detail}\n", style="bold red")
            text.append(f"  → {conflict.remedy}\n", style="yellow")
        self.query_one("#placement-conflicts", Static).update(text if conflicts else Text("No conflicts.",
                                                                                          style="green"))

    def show_error(self, message: str) -> None:
        """Say why placement could not be computed; tables from an earlier read stay, marked as not live."""
        foot = Text(message, style="yellow")
        if self.read_at is not None:
            self.add_class("-stale")
            self.query_one("#placement-title", Static).update(
                Text.assemble(f"{PANE_TITLE} · ", ("last known, NOT LIVE", "bold yellow")))
            foot = Text.assemble(("Not live: ", "bold yellow"), foot, (
                f"\nThe tables above are the last known placement, read at {self.read_at:%H:%M:%S}; "
                "conflicts since then are not shown.", "yellow"))
        self.query_one("#placement-conflicts", Static).update(foot)
