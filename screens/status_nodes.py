"""The nodes pane: every node of honey by role (bumble, sting, control plane), Ready, pressure,
taints, and requested vs allocatable cpu and memory. Enter on a node says its role, status, pressure and
taints whole.

Its columns fit the width as the Stacks pane's do: when they do not, the headers shorten (``CPU``,
``Mem``), then the pressures lose their ``Pressure`` (``Disk``), then a cordon is said ``Cordoned``
instead of ``SchedulingDisabled``, then the taints are elided, a long node name in the middle, the
pressures, the taints further, the role (``control…``) and last the status after its first word
(``NotReady…``); Enter shows every one of them whole. The capacity is never elided: a worst-case node
(control plane, NotReady and cordoned, under every pressure, tainted) keeps every column on an
80-column screen, its status ``NotReady,Cordoned`` whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.binding import Binding
from textual.widgets import DataTable

from gfwizard.status_model import NodeRow, StatusSnapshot
from gfwizard.status_text import cpu_pair, memory_pair, node_state, short_taint
from gfwizard.textfit import elide
from screens.status_node import NodeModal
from screens.status_pane import StatusPane
from screens.status_table import Cell, ColumnSpec, DiffTable, Row, cell_text


@dataclass(frozen=True)
class Level:
    """How far the Nodes pane shortens its cells to fit the width (each level keeps the ones before)."""

    #: Pressure conditions without their ``Pressure`` (``Disk``, ``Memory``, ``PID``).
    short_pressure: bool = False
    #: A cordon said ``Cordoned`` rather than kubectl's ``SchedulingDisabled`` (:func:`node_state`).
    short_status: bool = False


#: Full cells, then short headers, then short pressures, then a short status.
LEVELS = (Level(), Level(), Level(short_pressure=True), Level(short_pressure=True, short_status=True))
#: The headers from level 1 on.
SHORT_LABELS = {"cpu": "CPU", "memory": "Mem"}
#: What is elided when the shortest cells still do not fit, in order: ``(column, least width, in the middle)``.
#: The taints first (cut at the end, keeping each key's start), then a long node name (cut in the middle,
#: keeping a cloud name's distinguishing end), then the pressures, the taints down to their header, the
#: role, and last the status, never below its first word and a ``…`` (``NotReady…``, ``Ready,S…``): what
#: is wrong with a node gives way last. Enter shows all of them whole.
GIVE_WAY = ((7, 8, False), (1, 8, True), (6, 8, False), (7, 6, False), (0, 8, False), (2, 9, False))


def node_taints(node: NodeRow) -> str:
    """The taints as the table shows them before eliding (well-known prefixes dropped), ``-`` for none."""
    return ",".join(short_taint(t) for t in node.taints) or "-"


def _elided(cell: Cell, width: int, middle: bool) -> Cell:
    """``cell`` elided to ``width`` cells, keeping its style (a cut status stays red)."""
    if isinstance(cell, tuple):
        return elide(cell_text(cell), width, middle=middle), cell[1]
    return elide(cell_text(cell), width, middle=middle)


class NodesTable(DiffTable):
    """The nodes table: Enter says in the footer what it does here."""

    BINDINGS = [Binding("enter", "select_cursor", "Node",
                        tooltip="The node under the cursor: its role, status, pressure and taints whole")]


class NodesPane(StatusPane):
    """Nodes grouped by placement role."""

    PANE = "nodes"
    TABLE = NodesTable
    COLUMNS = (("Role", "role"), ("Node", "node"), ("Status", "status"), ("CPU req/alloc", "cpu"),
               ("Mem req/alloc", "memory"), ("Pods", "pods"), ("Pressure", "pressure"), ("Taints", "taints"))
    EMPTY = "no nodes to show"
    PROBLEMS = ("node-not-ready",)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._node_rows: dict[str, NodeRow] = {}

    def rows(self, snap: StatusSnapshot, now: datetime, env: str | None) -> list[Row]:
        return self._rows(snap, 0)

    def fit(self, snap: StatusSnapshot, now: datetime, env: str | None) -> tuple[list[Row], list[ColumnSpec]]:
        """The rows and fixed-width columns for the screen's width: the first of :data:`LEVELS` that fits,
        else the last with the taints, then a long node name, elided (:data:`GIVE_WAY`)."""
        for level in range(len(LEVELS)):
            rows = self._rows(snap, level)
            columns = [(SHORT_LABELS.get(key, label) if level else label, key) for label, key in self.COLUMNS]
            widths, spare = self.widths_and_spare(rows, columns)
            if spare >= 0:
                break
        for at, least, middle in GIVE_WAY:
            if spare < 0 and widths[at] > least:
                cut = min(widths[at] - least, -spare)
                widths[at] -= cut
                spare += cut
                rows = [(key, (*cells[:at], _elided(cells[at], widths[at], middle), *cells[at + 1:]))
                        for key, cells in rows]
        return rows, [(label, key, w) for (label, key), w in zip(columns, widths)]

    def _rows(self, snap: StatusSnapshot, level: int) -> list[Row]:
        how = LEVELS[level]
        rows: list[Row] = []
        for n in snap.nodes:
            style = "bold green" if n.ready and not n.unschedulable else "bold red"
            status = (node_state(n, short=how.short_status), style)
            shown = [p.removesuffix("Pressure") or p for p in n.pressure] if how.short_pressure else n.pressure
            pressure = (",".join(shown), "bold yellow") if n.pressure else "-"
            rows.append((n.name, (n.role, n.name, status, cpu_pair(n), memory_pair(n), str(n.pods), pressure,
                                  node_taints(n))))
        self._node_rows = {n.name: n for n in snap.nodes}
        return rows

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        node = self._node_rows.get(str(event.row_key.value))
        if node is None or isinstance(self.app.screen, NodeModal):
            return
        self.app.push_screen(NodeModal(node))
