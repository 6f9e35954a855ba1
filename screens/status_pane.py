"""The base of every status pane: a line of notes ("could not read: events (403)", stale data) above
a :class:`~screens.status_table.DiffTable`. Subclasses say which columns and rows a snapshot gives."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from gfwizard.redact import redact
from gfwizard.status_model import StatusSnapshot, problem_remedy
from gfwizard.status_text import clock_time, since
from gfwizard.textfit import cell_width
from gfwizard.textsafe import printable
from screens.status_table import ColumnSpec, DiffTable, Row, cell_text

#: Lines of the screen that are not table rows (header, banner, tabs, notes, column labels, footer):
#: more rows than the rest need the vertical scrollbar, which takes columns from the table.
CHROME_LINES = 10


class StatusPane(Vertical):
    """One pane of the status app."""

    #: The pane's name in ``Unreadable.pane`` and its tab id.
    PANE: ClassVar[str] = ""
    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = ()
    #: The table's class (a pane whose rows open something gives its Enter a footer label).
    TABLE: ClassVar[type[DiffTable]] = DiffTable
    EMPTY: ClassVar[str] = ""
    #: Whether a failing source is said above the table (the cluster pane says it in a row instead).
    MARKS_STALE: ClassVar[bool] = True
    #: The problem kinds said above the table with their remedy (the banner only names them, the table has
    #: no room for what to do).
    PROBLEMS: ClassVar[tuple[str, ...]] = ()
    #: What starts each of those lines (the Locks pane's ``OLD``, as its table marks an old lock).
    PROBLEM_PREFIX: ClassVar[str] = ""

    def compose(self) -> ComposeResult:
        yield Static("", classes="pane-notes", id=f"{self.PANE}-notes", markup=False)
        yield self.TABLE(self.COLUMNS, id=f"{self.PANE}-table")

    @property
    def table(self) -> DiffTable:
        """The pane's table."""
        return self.query_one(DiffTable)

    def rows(self, snap: StatusSnapshot, now: datetime, env: str | None) -> list[Row]:
        """The table rows for ``snap`` (``env``: show only that environment, when the pane has any)."""
        raise NotImplementedError

    def fit(self, snap: StatusSnapshot, now: datetime,
            env: str | None) -> tuple[list[Row], Sequence[ColumnSpec] | None]:
        """The rows for ``snap``, and the columns to show them in when they depend on the width (None:
        :attr:`COLUMNS` as they are)."""
        return self.rows(snap, now, env), None

    def widths_and_spare(self, rows: list[Row], columns: Sequence[tuple[str, str]]) -> tuple[list[int], int]:
        """Each column's width in cells (its label's or its widest cell's) and how many cells the screen has
        left beside them (negative: that many too many), less the vertical scrollbar when the rows need it."""
        widths = [max([cell_width(label), *(cell_width(cell_text(cells[i])) for _, cells in rows)])
                  for i, (label, _) in enumerate(columns)]
        # CHROME_LINES counts one line of notes; the remedies of several problems can take many more.
        room = self.app.size.height - CHROME_LINES - max(0, getattr(self, "_notes_lines", 0) - 1)
        scrollbar = self.table.styles.scrollbar_size_vertical if len(rows) > room else 0
        # Each cell is padded by one column on each side.
        return widths, self.app.size.width - scrollbar - sum(widths) - 2 * len(widths)

    def notes(self, snap: StatusSnapshot, rows: list[Row], env: str | None) -> list[str]:
        """The lines above the table: what could not be read, and the empty-pane text (``env``: the view's
        environment filter, as for :meth:`rows`)."""
        out = snap.notes_for(self.PANE)
        if not rows and self.EMPTY and not out:  # an empty table after a failed read says nothing
            out.append(self.EMPTY)
        return out + self.own_notes(snap, env) + self.problem_notes(snap, env)

    def own_notes(self, snap: StatusSnapshot, env: str | None) -> list[str]:
        """Lines of this pane's own, between what could not be read and the problems' remedies (none here)."""
        return []

    def problem_notes(self, snap: StatusSnapshot, env: str | None) -> list[str]:
        """``<subject>: <what>; remedy: <what to do>`` for each of :attr:`PROBLEMS` in ``snap``, after
        :attr:`PROBLEM_PREFIX` (a workload 0/1 ready and crash-looping is said once). Subjects with the same
        remedy share one line and the remedy is said once: four crash-looping workloads said it four times,
        which at 80x24 left the Stacks table one row."""
        grouped: dict[str, dict[str, list[str]]] = {}
        for p in snap.problems:
            scope, slash, _ = p.subject.partition("/")
            if p.kind not in self.PROBLEMS or (env is not None and slash and scope != env):
                continue
            grouped.setdefault(problem_remedy(p), {}).setdefault(p.subject, []).append(p.detail)
        return ["; ".join(f"{self.PROBLEM_PREFIX}{subject}: {'; '.join(details)}" for subject, details in by.items())
                + f"; remedy: {remedy}" for remedy, by in grouped.items()]

    def show(self, snap: StatusSnapshot, now: datetime, env: str | None) -> None:
        """Render ``snap`` (only changed cells are touched)."""
        self._last = (snap, now, env)
        self._laid_out_for = self.app.size.width
        rows, columns = self.fit(snap, now, env)
        notes = self.notes(snap, rows, env)
        stale = snap.stale_panes.get(self.PANE) if self.MARKS_STALE else None
        if stale is not None:
            notes.insert(0, f"STALE since {clock_time(stale)} ({since(stale, now)} ago): these are the last rows "
                            "read, not live")
        notes_widget = self.query_one(".pane-notes", Static)
        notes_widget.set_class(stale is not None, "stale")
        text = printable(redact(" · ".join(notes)))
        measured = (text, self.app.size.width)
        if measured != getattr(self, "_notes_measured", None):  # wrapped again only when it can have changed
            self._notes_measured = measured
            lines = len(Text(text).wrap(self.app.console, max(1, self.app.size.width - 2))) if text else 0
            # The notes' height decides whether a scrollbar takes a column.
            if lines != getattr(self, "_notes_lines", 0):
                self._notes_lines = lines
                rows, columns = self.fit(snap, now, env)
        if getattr(self, "_notes_text", None) != text:
            self._notes_text = text
            notes_widget.update(text)
            notes_widget.display = bool(text)
        self.table.sync(rows, columns)

    def on_resize(self) -> None:
        # A pane whose columns depend on the width lays the last snapshot out again for the new one, after the
        # resize has been drawn: rows rebuilt while it is drawn were painted before the table measured its new
        # columns (at their labels' width) and stayed so until the next snapshot.
        self.call_after_refresh(self._lay_out_again)

    def _lay_out_again(self) -> None:
        last = getattr(self, "_last", None)  # read now: a snapshot shown meanwhile is the one to lay out
        if last is not None and self.app.size.width != getattr(self, "_laid_out_for", None):
            self.show(*last)
