"""A DataTable that changes only what changed: :meth:`DiffTable.sync` compares the new rows with what
is shown and updates just the differing cells (rows are rebuilt only when the set or order of rows
changes). Status mode redraws it at most once a second, so a quiet cluster costs almost nothing."""

from __future__ import annotations

from typing import Sequence, Union

from rich.text import Text
from textual.widgets import DataTable

from gfwizard.textsafe import printable

#: A cell: plain text, or ``(text, rich style)``.
Cell = Union[str, tuple[str, str]]
Row = tuple[str, Sequence[Cell]]
#: A column: ``(label, key)``, or ``(label, key, width)`` for a fixed width (cells are cut to it).
ColumnSpec = Union[tuple[str, str], tuple[str, str, int]]


def cell_text(cell: Cell) -> str:
    """What a cell shows (its text as escaped on screen, without its style)."""
    return printable(cell[0] if isinstance(cell, tuple) else cell)


def _render(cell: Cell) -> Text:
    # Cells hold what the API, the bucket and the state say: never let them drive the terminal.
    if isinstance(cell, tuple):
        return Text(printable(cell[0]), style=cell[1])
    return Text(printable(cell))


class DiffTable(DataTable[Text]):
    """A read-only table keyed by row key, updated cell by cell."""

    DEFAULT_CSS = """
    DiffTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[ColumnSpec], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._columns: list[ColumnSpec] = list(columns)
        self._shown: dict[str, tuple[Cell, ...]] = {}
        self._order: list[str] = []
        #: How many single cells were rewritten, and how many full rebuilds happened (for tests and the bench).
        self.cell_updates = 0
        self.rebuilds = 0

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for label, key, *width in self._columns:
            self.add_column(label, key=key, width=width[0] if width else None)

    @property
    def shown(self) -> dict[str, tuple[Cell, ...]]:
        """Row key -> the cells currently shown."""
        return dict(self._shown)

    def sync(self, rows: Sequence[Row], columns: Sequence[ColumnSpec] | None = None) -> None:
        """Show exactly ``rows`` (in this order), touching only cells that differ from what is shown;
        ``columns`` (labels, widths) different from the shown ones rebuild the table with them."""
        if columns is not None and list(columns) != self._columns:
            selected = self.selected_key
            self._columns = list(columns)
            self.clear(columns=True)
            self._add_columns()
            self._rebuild(rows, selected)
            return
        order = [key for key, _ in rows]
        if order != self._order:
            self._rebuild(rows)
            return
        keys = [column[1] for column in self._columns]
        for key, cells in rows:
            new = tuple(cells)
            old = self._shown.get(key)
            if old == new:
                continue
            for index, (before, after) in enumerate(zip(old or (), new)):
                if before != after:
                    self.update_cell(key, keys[index], _render(after), update_width=True)
                    self.cell_updates += 1
            self._shown[key] = new

    def _rebuild(self, rows: Sequence[Row], selected: str | None = None) -> None:
        selected = selected if selected is not None else self.selected_key
        self.clear()
        self._shown = {}
        self._order = []
        for key, cells in rows:
            self.add_row(*(_render(c) for c in cells), key=key)
            self._shown[key] = tuple(cells)
            self._order.append(key)
        self.rebuilds += 1
        if selected in self._shown:
            self.move_cursor(row=self._order.index(selected), animate=False)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor (None when the table is empty)."""
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]
