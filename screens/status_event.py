"""One Warning event whole, over the Events pane: the table cuts a long message at the screen's edge.

Read-only like everything in status mode: the dialog can only be closed. Its message is the text the
table's cell holds (redacted, control characters escaped), so a secret the table hides stays hidden."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from gfwizard.redact import redact
from gfwizard.status_model import EventRow
from gfwizard.status_text import clock_time, since
from gfwizard.textsafe import printable
from screens.status_table import cell_text


def event_message(event: EventRow) -> str:
    """The message as the Events table and this dialog show it: secrets redacted (control characters are
    escaped where it is shown)."""
    return redact(event.message)


class EventModal(ModalScreen[None]):
    """A Warning event's object, reason, count, when it was last seen, and its whole message."""

    BINDINGS = [Binding("escape,b", "dismiss", "Close")]

    def __init__(self, event: EventRow, now: datetime) -> None:
        super().__init__()
        #: The event shown (as read when its row was opened).
        self.row = event
        self.now = now

    def compose(self) -> ComposeResult:
        e = self.row
        with Vertical(id="event-dialog", classes="dialog"):
            yield Static(printable(f"{e.reason} · {e.namespace} {e.object}"), id="event-title",
                         classes="dialog-title", markup=False)
            seen = f"{clock_time(e.last_seen)} ({since(e.last_seen, self.now)} ago)" if e.last_seen else "unknown"
            yield Static(f"{e.count}× · last seen {seen}", id="event-seen", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(cell_text(event_message(e)), id="event-message", markup=False)
        yield Footer(compact=True, show_command_palette=False)
