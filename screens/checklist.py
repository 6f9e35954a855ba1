"""A live checklist: each check pending, then pass / warn / fail; the highlighted one in full below.

The table keeps one line per check, cut to the terminal's width with an ellipsis, so nothing runs
off the right edge at 80 columns; the box under it shows the highlighted check's whole detail and
its remedy, wrapped (scrolled, and a Tab stop, when it holds more than it shows). After results arrive
the cursor jumps to the first failure (else the first warning), so the remedy that matters is on
screen without a key press.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical, VerticalScroll
from textual.events import Resize
from textual.widgets import DataTable, Static

from gfwizard.commands._common import with_config
from gfwizard.redact import redact
from gfwizard.textsafe import printable, printable_lines
from screens.key_hints import with_keys

if TYPE_CHECKING:
    from gfwizard.checks import Check

# Keyed by Level's string values: this module is on the first screen's import path, and
# gfwizard.checks pulls in pydantic, which the first paint should not wait for.
_BADGES = {
    "pass": ("PASS", "bold green"),
    "warn": ("WARN", "bold yellow"),
    "fail": ("FAIL", "bold red"),
}
#: Cell padding DataTable adds on each side of a cell.
CELL_PADDING = 2


@dataclass(frozen=True)
class NotRun:
    """A check left out of this run on purpose: ``why`` it was, and ``how`` to run it."""

    why: str
    how: str


def fit_widths(available: int, natural: Sequence[int], minimum: Sequence[int]) -> list[int]:
    """Column content widths that fit ``available`` cells (padding included): the widest columns
    give way first, never below their ``minimum``."""
    widths = list(natural)
    excess = sum(widths) - max(available - CELL_PADDING * len(widths), sum(minimum))
    while excess > 0:
        shrinkable = [i for i, w in enumerate(widths) if w > minimum[i]]
        if not shrinkable:
            break
        widths[max(shrinkable, key=lambda i: widths[i])] -= 1
        excess -= 1
    return widths


def cell(text: str, style: str = "") -> Text:
    """One table cell: a single line, cut with an ellipsis when the column is narrower."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")


class DetailBox(VerticalScroll):
    """The box holding the highlighted check in full. A Tab stop (scrolled by the keyboard, and brought into
    view) only while it holds more than it shows or the step around it scrolls: a remedy past the box's last
    row, or below the fold, could otherwise never be read from the keyboard. Elsewhere Tab order is as before."""

    DEFAULT_CSS = """
    DetailBox { height: auto; max-height: 7; margin: 1 0 0 0; overflow-x: hidden; overflow-y: auto; }
    DetailBox:focus { background: $boost; }
    DetailBox > .check-detail { height: auto; padding: 0 1; }
    """

    def allow_focus(self) -> bool:
        return self.max_scroll_y > 0 or any(isinstance(a, ScrollableContainer) and a.max_scroll_y > 0
                                            for a in self.ancestors)


class Checklist(Vertical):
    """Rows keyed by check name; ``set_pending`` then ``show`` / ``update_check`` as results arrive."""

    DEFAULT_CSS = """
    Checklist { height: auto; }
    Checklist > DataTable { height: auto; max-height: 14; }
    """

    def __init__(self, *, id: str | None = None, key_hints: Mapping[str, str] | None = None) -> None:
        super().__init__(id=id)
        self._rows: dict[str, "Check | NotRun | None"] = {}
        #: CLI command -> the step's key that does the same (shown first in remedies).
        self.key_hints: Mapping[str, str] = key_hints or {}

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True, classes="check-table")
        with DetailBox():
            yield Static("", classes="check-detail", markup=False)

    @property
    def table(self) -> DataTable[Text]:
        """The table of checks."""
        return self.query_one(DataTable)

    @property
    def checks(self) -> list["Check"]:
        """The results shown so far (pending and not-run rows left out), in display order."""
        return [c for c in self._rows.values() if c is not None and not isinstance(c, NotRun)]

    # ----- feeding ----------------------------------------------------------------------------
    def set_pending(self, names: Iterable[str], not_run: Mapping[str, NotRun] | None = None) -> None:
        """Show each named check as pending, and each of ``not_run`` as not run (replaces any earlier rows)."""
        self._rows = {name: None for name in names}
        self._rows.update(not_run or {})
        self._rebuild(cursor=0)

    def update_check(self, check: "Check") -> None:
        """Show one check's result (adds the row when it was not pending)."""
        self._rows[check.name] = check
        self._rebuild(cursor=self.table.cursor_row)

    def show(self, checks: Iterable["Check"], not_run: Mapping[str, NotRun] | None = None) -> None:
        """Replace the rows with ``checks``, then the checks ``not_run``; the cursor goes to the first
        failure, else the first warning, else the first check not run (its line says how to run it)."""
        self._rows = {c.name: c for c in checks}
        self._rows.update(not_run or {})
        self._rebuild(cursor=self._first_problem())

    def clear(self) -> None:
        """Remove every row."""
        self._rows = {}
        self._rebuild(cursor=0)

    # ----- drawing ----------------------------------------------------------------------------
    def _first_problem(self) -> int:
        checks = list(self._rows.values())
        for level in ("fail", "warn"):
            for index, check in enumerate(checks):
                if check is not None and not isinstance(check, NotRun) and check.level == level:
                    return index
        return next((index for index, check in enumerate(checks) if isinstance(check, NotRun)), 0)

    def _cells(self, name: str, check: "Check | NotRun | None") -> tuple[Text, Text, Text]:
        if check is None:
            return cell("…", "dim"), cell(name), cell("pending", "dim")
        if isinstance(check, NotRun):
            return cell("–", "dim"), cell(name), cell("not run yet", "dim")
        label, style = _BADGES[check.level.value]
        return cell(label, style), cell(check.name), cell(printable(redact(check.detail)))

    def _rebuild(self, cursor: int) -> None:
        if not self.size.width:
            return  # not laid out yet: the first Resize builds the table (once, at the right width)
        table = self.table
        rows = [self._cells(name, check) for name, check in self._rows.items()]
        natural = [4, max([5, *(r[1].cell_len for r in rows)]), max([6, *(r[2].cell_len for r in rows)])]
        # The scrollbar gutter is kept free so a late vertical scrollbar never pushes text off screen.
        widths = fit_widths(max(self.size.width - 2, 0), natural, [4, 8, 10])
        table.clear(columns=True)
        for (label, key), width in zip((("", "badge"), ("Check", "name"), ("Detail", "detail")), widths):
            table.add_column(label, key=key, width=width)
        for name, cells in zip(self._rows, rows):
            table.add_row(*cells, key=name)
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1), animate=False)
        self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one(".check-detail", Static)
        box = self.query_one(DetailBox)
        box.scroll_home(animate=False)
        names = list(self._rows)
        row = self.table.cursor_row
        check = self._rows.get(names[row]) if 0 <= row < len(names) else None
        if check is None:
            detail.update("")
            box.display = False
            return
        if isinstance(check, NotRun):
            text = Text()
            text.append("NOT RUN ", style="bold")
            text.append(names[row], style="bold")
            text.append(": " + printable_lines(redact(check.why)))
            text.append("\nTo run it: ", style="bold yellow")
            text.append(printable_lines(redact(check.how)))
            detail.update(text)
            box.display = True
            return
        label, style = _BADGES[check.level.value]
        text = Text()
        text.append(f"{label} ", style=style)
        text.append(check.name, style="bold")
        text.append(": " + printable_lines(redact(check.detail)))
        if check.remedy:
            text.append("\nRemedy: ", style="bold yellow")
            text.append(printable_lines(redact(with_config(with_keys(check.remedy, self.key_hints)))))
        detail.update(text)
        box.display = True

    def on_resize(self, event: Resize) -> None:
        self._rebuild(cursor=self.table.cursor_row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()
