"""The placement pane: nodes by role with capacity, which stack lands where, conflicts in red; marked
as not live when the nodes cannot be read any more.

Node names are elided in the middle to the room the pane's 40 columns leave them (a cloud node's name is
60 characters); a cut cell shows its full text as a tooltip, and :meth:`PlacementPane.whole_text` gives every
name whole for the deploy screen's ``n`` (a line under the tables names the key while a name is cut)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.scalar import Unit
from textual.widgets import DataTable, Static

from gfwizard.textfit import elide_names

if TYPE_CHECKING:
    from gfwizard.placement import PlacementTable


PANE_TITLE = "Placement"
#: Under the tables while a name is cut: the deploy screen's key that shows them whole.
CUT_HINT = "n: the cut names whole"
#: After the "Lands on" header and the heading of its text form: what the brackets after the nodes hold.
ROLE_NOTE = "(role)"
#: Each cell is padded by one column on both sides.
CELL_PADDING = 2


def settle_column_widths(table: DataTable[Any]) -> None:
    """Give ``table``'s columns their final widths now.

    DataTable measures new rows only when it is next idle, without invalidating its cached header
    line: a header painted in between keeps the old widths (seen under ``App.run``). Measured here,
    before anything is painted, the header and the rows agree from the first frame.
    """
    for key, column in table.columns.items():
        cells = [cell if isinstance(cell, Text) else Text(str(cell)) for cell in table.get_column(key)]
        column.content_width = max([column.label.cell_len, *(cell.cell_len for cell in cells)])


class CutCellTable(DataTable[Any]):
    """A table without a cursor whose cut cells give their full text as the tooltip under the mouse."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="none", show_cursor=False, **kwargs)
        #: (row, column) -> the full text of a cell shown cut.
        self.full_text: dict[tuple[int, int], str] = {}

    def clear(self, columns: bool = False) -> "CutCellTable":
        self.full_text = {}
        self.tooltip = None
        super().clear(columns)
        return self

    def on_mouse_move(self, event: events.MouseMove) -> None:
        meta = event.style.meta if event.style else {}
        self.tooltip = self.full_text.get((meta.get("row", -1), meta.get("column", -1)))

    def on_leave(self, _event: events.Leave) -> None:
        self.tooltip = None


class PlacementPane(Vertical):
    """Renders a :class:`~gfwizard.placement.PlacementTable`; when nodes cannot be read any more, the last
    tables stay, marked as not live (class ``-stale``)."""

    #: When the tables shown were computed from live nodes (None: never).
    read_at: datetime | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._table: "PlacementTable | None" = None
        self._laid_out_for = 0
        #: Every row of both tables with its names whole: ``(role, nodes)`` and ``(stack, lands on)``.
        self._whole: tuple[list[tuple[str, str]], list[tuple[str, str]]] = ([], [])

    def compose(self) -> ComposeResult:
        yield Static(PANE_TITLE, id="placement-title", classes="pane-title", markup=False)
        yield CutCellTable(id="placement-roles")
        yield CutCellTable(id="placement-rows")
        yield Static(CUT_HINT, id="placement-cut", classes="pane-foot", markup=False)
        yield Static("", id="placement-conflicts", classes="pane-foot", markup=False)

    def on_mount(self) -> None:
        self.query_one("#placement-roles", DataTable).add_columns("Role", "Nodes", "CPU", "Mem")
        self.query_one("#placement-rows", DataTable).add_columns("Stack", f"Lands on {ROLE_NOTE}")
        self.query_one("#placement-cut", Static).display = False

    @property
    def cut(self) -> bool:
        """Whether a name in the tables is shown cut."""
        return any(table.full_text for table in self.query(CutCellTable))

    def whole_text(self) -> str:
        """Both tables with every name whole, one row a line (what the deploy screen's ``n`` shows)."""
        roles, rows = self._whole
        lines = []
        if self.has_class("-stale") and self.read_at is not None:
            lines += [f"Last known placement, read at {self.read_at:%H:%M:%S}: NOT LIVE.", ""]
        lines += ["Nodes by role", *(f"  {role}: {nodes}" for role, nodes in roles), "",
                  f"Where each stack lands {ROLE_NOTE}", *(f"  {stack}: {where}" for stack, where in rows)]
        return "\n".join(lines)

    def content_width(self) -> int:
        """The columns the tables get: the pane's width (``deploy.tcss``) less its border, also while the
        overlay is hidden."""
        width = self.styles.width
        outer = int(width.value) if width is not None and width.unit is Unit.CELLS else self.size.width
        return outer - self.styles.gutter.width

    def show(self, table: "PlacementTable") -> None:
        """Replace the pane's content with ``table`` (live)."""
        self.read_at = datetime.now()
        self._table = table
        self.remove_class("-stale")
        self.query_one("#placement-title", Static).update(PANE_TITLE)
        self._fill(table)
        conflicts = table.conflicts()
        text = Text()
        for where, conflict in conflicts:
            text.append(f"✗ {where}: {conflict.detail}\n", style="bold red")
            text.append(f"  → {conflict.remedy}\n", style="yellow")
        self.query_one("#placement-conflicts", Static).update(text if conflicts else Text("No conflicts.",
                                                                                          style="green"))

    def _fill(self, table: "PlacementTable") -> None:
        width = self._laid_out_for = self.content_width()
        roles = self.query_one("#placement-roles", CutCellTable)
        roles.clear()
        cpu = [f"{role.cpu_requested}/{role.cpu_allocatable}" for role in table.roles]
        memory = [f"{role.memory_requested}/{role.memory_allocatable}" for role in table.roles]
        room = _room(roles, width, {0: [role.role for role in table.roles], 2: cpu, 3: memory})
        self._whole = ([], [])
        for index, role in enumerate(table.roles):
            style = "red" if role.conflicts else ""
            whole = ", ".join(role.ready_nodes) or "none"
            self._whole[0].append((role.role, whole))
            nodes = elide_names(role.ready_nodes, room)
            if nodes != whole:
                roles.full_text[(index, 1)] = whole
            roles.add_row(Text(role.role, style=style), Text(nodes, style=style), cpu[index], memory[index])
        rows = self.query_one("#placement-rows", CutCellTable)
        rows.clear()
        per_stack: dict[str, int] = {}
        for row in table.rows:
            per_stack[row.stack] = per_stack.get(row.stack, 0) + 1
        names = [row.stack if per_stack[row.stack] == 1 else f"{row.stack}/{row.workload}" for row in table.rows]
        room = _room(rows, width, {0: names})
        for index, (name, row) in enumerate(zip(names, table.rows)):
            style = "bold red" if row.conflicts else ""
            role = role_note(row.candidates, row.role)
            whole = (", ".join(row.candidates) or "nowhere") + role
            self._whole[1].append((name, whole))
            where = elide_names(row.candidates, room - len(role), empty="nowhere") + role
            if where != whole:
                rows.full_text[(index, 1)] = whole
            rows.add_row(Text(name, style=style), Text(where, style=style))
        for shown in (roles, rows):
            settle_column_widths(shown)
        cut = self.cut
        hint = self.query_one("#placement-cut", Static)
        if hint.display != cut:
            hint.display = cut
            self.refresh_bindings()  # the screen offers its key only while a name is cut

    def on_resize(self, _event: events.Resize) -> None:
        # The overlay has no border: the tables get one more column than in the wide layout's column.
        if self._table is not None and self.content_width() != self._laid_out_for:
            self._fill(self._table)

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


def role_note(candidates: list[str], role: str | None) -> str:
    """What follows a row's nodes: `` (bumble)``, `` (no role)``, or nothing for the one node named after the role,
    which "bumble (bumble)" repeated (as did the node dialog of status mode before it said "sting (role sting)")."""
    if role is not None and candidates == [role]:
        return ""
    return f" ({role or 'no role'})"


def _room(table: DataTable[Any], width: int, others: dict[int, list[str]]) -> int:
    """What ``width`` leaves the text of the one column of ``table`` not in ``others`` (column index -> its
    cells), once each of those is as wide as its label or its widest cell, and every column is padded."""
    labels = [column.label.plain for column in table.columns.values()]
    widths = [max([len(labels[index]), *(len(cell) for cell in cells)]) for index, cells in others.items()]
    rows = max((len(cells) for cells in others.values()), default=0)
    limit = table.styles.max_height
    # Past its max-height (rows and the header line), the table's vertical scrollbar takes columns too.
    scrollbar = table.styles.scrollbar_size_vertical if limit is not None and rows + 1 > limit.value else 0
    return width - scrollbar - sum(widths) - CELL_PADDING * len(labels)
