"""Text that fits a terminal's width: a cell elided with an ellipsis, a line wrapped under a hanging
indent, and a table whose low-priority columns move onto a line under their row when the row would
not fit. Nothing is cut except what a caller elides on purpose: a value that does not fit is wrapped."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Sequence

ELLIPSIS = "…"
#: Between the items of a line that holds a row's moved columns.
ITEM_SEP = " · "


def elide(text: str, width: int, *, middle: bool = False) -> str:
    """``text`` cut to ``width`` characters with an ellipsis at the end (or in the middle, which keeps
    a name's distinguishing tail); unchanged when it fits."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:max(width, 0)]
    if not middle:
        return text[:width - 1] + ELLIPSIS
    head = width // 2
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def wrap(text: str, width: int, indent: str = "", subsequent: str | None = None) -> list[str]:
    """``text`` wrapped to ``width`` columns: the first line after ``indent``, the others after
    ``subsequent`` (default: ``indent``). Words are not split at hyphens (stack and pod names keep
    whole); only a word longer than a line is broken, so nothing is lost."""
    rest = indent if subsequent is None else subsequent
    if not text.strip():
        return [indent.rstrip()]
    wrapper = textwrap.TextWrapper(width=max(width, len(rest) + 1, len(indent) + 1), initial_indent=indent,
                                   subsequent_indent=rest, break_on_hyphens=False, break_long_words=True)
    return wrapper.wrap(text)


def pack(items: Sequence[str], width: int, indent: str, first: str | None = None, sep: str = ITEM_SEP) -> list[str]:
    """``items`` on as few lines of ``width`` as fit, the first line after ``first`` (default:
    ``indent``) and the others after ``indent``, never splitting an item across lines unless the item
    alone is longer than a line."""
    lines: list[str] = []
    line = ""
    for item in items:
        if line and len(line) + len(sep) + len(item) <= width:
            line += sep + item
            continue
        if line:
            lines.append(line)
        lead = indent if lines or first is None else first
        if len(lead) + len(item) <= width:
            line = lead + item
        else:
            *whole, line = wrap(item, width, lead, indent)
            lines += whole
    if line:
        lines.append(line)
    return lines


@dataclass(frozen=True)
class Column:
    """A column of :func:`fit_table`.

    ``moves``: 0 keeps the column in its row whatever the width (the columns that say what is wrong);
    ``n`` > 0 moves it onto the line under its row at step ``n`` when the row does not fit (columns
    with the same step move together; the lowest step moves first).
    """

    header: str
    moves: int = 0
    #: A shorter header, tried before any column moves (the full one still names it under a row).
    short: str = ""

    @property
    def label(self) -> str:
        """Its name in front of its value on the line under a row."""
        return self.header.lower()


def fit_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None,
              indent: str = "  ") -> list[str]:
    """The lines of a table of ``rows`` that fit in ``width`` columns (None: as wide as the cells).

    When a row does not fit, the short headers are tried, then the movable columns leave it step by
    step and are said under it (``label value · label value``, wrapped; a ``-`` or empty cell is left
    out). When even the columns that stay do not fit, each row becomes such a wrapped line of all its
    cells.
    """
    steps = sorted({c.moves for c in columns if c.moves})
    full = [c.header for c in columns]
    short = [c.short or c.header for c in columns]
    for headers, step in [(full, 0), *((short, step) for step in [0, *steps])]:
        kept = [i for i, c in enumerate(columns) if not c.moves or c.moves > step]
        widths = {i: max([len(headers[i]), *(len(row[i]) for row in rows)]) for i in kept}
        if width is None or len(indent) + sum(widths.values()) + 2 * (len(kept) - 1) <= width:
            return _lines(columns, headers, rows, kept, widths, width, indent)
    assert width is not None
    out: list[str] = []
    for row in rows:
        items = [f"{c.label} {cell}" for c, cell in zip(columns, row) if cell not in ("", "-")]
        out += pack(items, width, indent + "    ", first=indent)
    return out


def _lines(columns: Sequence[Column], headers: Sequence[str], rows: Sequence[Sequence[str]], kept: list[int],
           widths: dict[int, int], width: int | None, indent: str) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return (indent + "  ".join(cells[i].ljust(widths[i]) for i in kept)).rstrip()

    moved = sorted((i for i in range(len(columns)) if i not in kept), key=lambda i: (-columns[i].moves, i))
    # The moved cells go under the second column, so the first (env, age, role) still leads each row.
    under = indent + " " * min(widths[kept[0]] + 2, 8) if len(kept) > 1 else indent + "  "
    out = [line(headers)]
    for row in rows:
        out.append(line(row))
        items = [f"{columns[i].label} {row[i]}" for i in moved if row[i] not in ("", "-")]
        if items:
            out += pack(items, width if width is not None else 1 << 30, under)
    return out
