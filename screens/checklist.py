"""A live checklist: each check pending, then pass / warn / fail with detail and remedy."""

from __future__ import annotations

from typing import Iterable

from rich.text import Text
from textual.widgets import DataTable

from gfwizard.checks import Check, Level
from gfwizard.redact import redact

_BADGES = {
    Level.PASS: ("PASS", "bold green"),
    Level.WARN: ("WARN", "bold yellow"),
    Level.FAIL: ("FAIL", "bold red"),
}


class Checklist(DataTable[Text]):
    """Rows keyed by check name; ``set_pending`` then ``update_check`` as results arrive."""

    DEFAULT_CSS = """
    Checklist { height: auto; max-height: 100%; }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_column("", key="badge", width=6)
        self.add_column("Check", key="name")
        self.add_column("Detail", key="detail")
        self.add_column("Remedy", key="remedy")

    def set_pending(self, names: Iterable[str]) -> None:
        """Show each named check as pending (replaces any earlier rows)."""
        self.clear()
        for name in names:
            self.add_row(Text("…", style="dim"), Text(name), Text("pending", style="dim"), Text(""), key=name)

    def update_check(self, check: Check) -> None:
        """Show one check's result (adds the row when it was not pending)."""
        label, style = _BADGES[check.level]
        cells = (Text(label, style=style), Text(check.name), Text(redact(check.detail)), Text(redact(check.remedy)))
        if check.name in self.rows:
            for column, value in zip(("badge", "name", "detail", "remedy"), cells):
                self.update_cell(check.name, column, value, update_width=True)
        else:
            self.add_row(*cells, key=check.name)

    def show(self, checks: Iterable[Check]) -> None:
        """Replace the rows with ``checks``."""
        self.clear()
        for check in checks:
            self.update_check(check)
