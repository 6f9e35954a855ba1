"""The events pane: the most recent Warning events, newest first. Enter (or a click) on one opens it whole:
the Message column runs off a narrow screen."""

from __future__ import annotations

from datetime import datetime

from textual import events
from textual.binding import Binding
from textual.widgets import DataTable

from gfwizard.status_model import EventRow, StatusSnapshot
from gfwizard.status_text import since
from screens.status_event import EventModal, event_message
from screens.status_pane import StatusPane
from gfwizard.textfit import elide
from screens.status_table import ColumnSpec, DiffTable, Row, cell_text

#: Cells of the Message column kept on screen beside the others, and the least a long object name keeps.
MESSAGE_ROOM = 12
OBJECT_LEAST = 16


class EventsTable(DiffTable):
    """The events table: Enter says in the footer what it does here, and one click on a row selects it (a
    plain table only moves its cursor there on the first)."""

    BINDINGS = [Binding("enter", "select_cursor", "Message", tooltip="The event under the cursor, whole")]

    def on_click(self, event: events.Click) -> None:
        row = event.style.meta.get("row", -1) if event.style else -1
        if 0 <= row < self.row_count:  # not the header (-1)
            self.move_cursor(row=row, animate=False)
            self.action_select_cursor()


class EventsPane(StatusPane):
    """Recent Warning events across the cluster."""

    PANE = "events"
    TABLE = EventsTable
    COLUMNS = (("Age", "age"), ("Namespace", "namespace"), ("Object", "object"), ("Reason", "reason"),
               ("Count", "count"), ("Message", "message"))
    EMPTY = "no recent warning events"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._events: dict[str, EventRow] = {}
        self._now: datetime | None = None

    def rows(self, snap: StatusSnapshot, now: datetime, env: str | None) -> list[Row]:
        self._events = {f"{e.namespace}/{e.object}/{e.reason}/{i}": e for i, e in enumerate(snap.events)}
        self._now = now
        return [(key, (since(e.last_seen, now), e.namespace, e.object, (e.reason, "yellow"), str(e.count),
                       event_message(e)))
                for key, e in self._events.items()]

    def fit(self, snap: StatusSnapshot, now: datetime, env: str | None) -> tuple[list[Row], list[ColumnSpec]]:
        """The rows, with a long object name elided in the middle when it would push the Reason and Count off
        the screen (only the Message may run off it; Enter shows the event whole)."""
        rows = self.rows(snap, now, env)
        widths, spare = self.widths_and_spare(rows, self.COLUMNS[:5])
        short = spare - 2 - MESSAGE_ROOM
        if short >= 0 or widths[2] <= OBJECT_LEAST:
            # Given, not None: an Object width fixed for a narrower screen would stay after a widening.
            return rows, list(self.COLUMNS)
        width = max(OBJECT_LEAST, widths[2] + short)
        rows = [(key, (*cells[:2], elide(cell_text(cells[2]), width, middle=True), *cells[3:])) for key, cells in rows]
        return rows, [*self.COLUMNS[:2], ("Object", "object", width), *self.COLUMNS[3:]]

    def open_event(self, key: str | None) -> None:
        """Show the event of row ``key`` whole (once: a click on the row under the cursor selects it twice)."""
        event = self._events.get(key or "")
        if event is None or self._now is None or isinstance(self.app.screen, EventModal):
            return
        self.app.push_screen(EventModal(event, self._now))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_event(str(event.row_key.value))
