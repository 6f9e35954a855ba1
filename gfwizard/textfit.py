"""Text that fits a terminal's width: a cell elided with an ellipsis, a line wrapped under a hanging
indent, and a table whose low-priority columns move onto a line under their row when the row would
not fit. Nothing is cut except what a caller elides on purpose: a value that does not fit is wrapped.

Widths are terminal cells, not characters: a wide character (East Asian Wide or Fullwidth: CJK, most
emoji) takes two, a combining mark or zero-width character none. Text is cut only between characters,
so a wide character that would straddle the edge is left out whole rather than half shown past it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

ELLIPSIS = "…"
#: Between the items of a line that holds a row's moved columns.
ITEM_SEP = " · "
#: The whitespace :func:`wrap` breaks lines at (``textwrap``'s: ASCII only, so a no-break space holds).
_SPACES = re.compile(r"([\t\n\x0b\x0c\r ]+)")
_TO_SPACE = str.maketrans("\t\n\x0b\x0c\r", "     ")


@lru_cache(maxsize=4096)
def char_cells(ch: str) -> int:
    """The terminal cells one character takes: 2 when East Asian Wide or Fullwidth, 0 for a combining
    mark, a format character (zero-width space and joiner, bidi marks) or a Hangul medial/final jamo
    (they join the syllable before them), else 1. Control characters are escaped before text is
    measured (:mod:`gfwizard.textsafe`), so they are not considered."""
    if ch < "\u0300":
        return 1
    if unicodedata.category(ch) in ("Mn", "Me", "Cf") or "\u1160" <= ch <= "\u11ff":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_width(text: str) -> int:
    """The terminal cells ``text`` takes on one line."""
    return len(text) if text.isascii() else sum(map(char_cells, text))


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` cells (``str.ljust`` in cells)."""
    return text + " " * (width - cell_width(text))


def _head(text: str, width: int) -> str:
    """The longest start of ``text`` that fits in ``width`` cells (with the marks on its last character)."""
    if text.isascii():
        return text[:max(width, 0)]
    used = 0
    for i, ch in enumerate(text):
        used += char_cells(ch)
        if used > width:
            return text[:i]
    return text


def _tail(text: str, width: int) -> str:
    """The longest end of ``text`` that fits in ``width`` cells and does not begin with a mark (which
    would sit on whatever is put before it)."""
    start, used = len(text), 0
    for i in range(len(text) - 1, -1, -1):
        used += char_cells(text[i])
        if used > width:
            break
        start = i
    while start < len(text) and char_cells(text[start]) == 0:
        start += 1
    return text[start:]


def elide(text: str, width: int, *, middle: bool = False) -> str:
    """``text`` cut to ``width`` cells with an ellipsis at the end (or in the middle, which keeps a
    name's distinguishing tail); unchanged when it fits. A wide character that would cross the edge is
    left out, so the result can be a cell short of ``width``, never over it."""
    if cell_width(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:max(width, 0)]
    if not middle:
        return _head(text, width - 1) + ELLIPSIS
    head = _head(text, width // 2)
    # A cell the head could not use (a wide character at its edge) goes to the tail.
    return head + ELLIPSIS + _tail(text, width - 1 - cell_width(head))


def elide_start(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis at the start, keeping its end (a path's file name,
    which tells ``…/team00.yaml`` from ``…/team01.yaml``); unchanged when it fits."""
    if cell_width(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:max(width, 0)]
    return ELLIPSIS + _tail(text, width - 1)


def elide_names(names: Sequence[str], width: int, *, empty: str = "none", least: int = 8) -> str:
    """``names`` joined with ``, `` in ``width`` cells (``empty`` when there are none): whole when they
    fit; else the names that fit their share stay whole and the longer ones share the rest equally, each
    elided in the middle (:func:`elide`), while every cut one keeps ``least`` cells; else the first one
    elided, followed by how many more (``ip-10-0…pool-b +2``)."""
    joined = ", ".join(names) or empty
    if cell_width(joined) <= width or not names:
        return elide(joined, width, middle=True)
    if len(names) == 1:
        return elide(names[0], width, middle=True)
    widths = [cell_width(name) for name in names]
    sizes = list(widths)
    left = width - 2 * (len(names) - 1)
    # Shortest first: a name under its share keeps it whole and leaves the rest to the longer ones.
    for done, i in enumerate(sorted(range(len(names)), key=widths.__getitem__)):
        sizes[i] = min(widths[i], max(left, 0) // (len(names) - done))
        left -= sizes[i]
    if all(size >= least for size, whole in zip(sizes, widths) if size < whole):
        return ", ".join(elide(name, size, middle=True) for name, size in zip(names, sizes))
    more = f" +{len(names) - 1}"
    return elide(names[0], width - len(more), middle=True) + more if width > len(more) else elide(joined, width)


def shrink_widths(widths: Sequence[int], room: int, stages: Sequence[Sequence[tuple[int, int]]]) -> list[int] | None:
    """Column ``widths`` narrowed to add up to at most ``room`` cells, or None when they cannot be.

    ``stages`` says which columns give up cells and how far: each stage is ``(column, least)`` pairs,
    and a stage is used only when the ones before it were not enough. Within a stage the widest
    column gives a cell first, so long columns meet at a common width and short ones keep theirs.
    """
    out = list(widths)
    for stage in stages:
        excess = sum(out) - room
        while excess > 0:
            giving = [(out[i], i) for i, least in stage if out[i] > least]
            if not giving:
                break
            _, i = max(giving)
            out[i] -= 1
            excess -= 1
        if sum(out) <= room:
            return out
    return out if sum(out) <= room else None


def wrap(text: str, width: int, indent: str = "", subsequent: str | None = None) -> list[str]:
    """``text`` wrapped to ``width`` cells: the first line after ``indent``, the others after
    ``subsequent`` (default: ``indent``). Words are not split at hyphens (stack and pod names keep
    whole); only a word longer than a line is broken, so nothing is lost. For ASCII text these are
    the lines of ``textwrap.TextWrapper(break_on_hyphens=False)``, whose rules it follows in cells."""
    rest = indent if subsequent is None else subsequent
    if not text.strip():
        return [indent.rstrip()]
    width = max(width, cell_width(rest) + 1, cell_width(indent) + 1)
    chunks = [c for c in _SPACES.split(text.expandtabs().translate(_TO_SPACE)) if c][::-1]
    lines: list[str] = []
    while chunks:
        lead = rest if lines else indent
        room = width - cell_width(lead)
        if lines and not chunks[-1].strip():
            chunks.pop()  # the space a line was broken at does not start the next one
        line: list[str] = []
        used = 0
        while chunks and used + cell_width(chunks[-1]) <= room:
            used += cell_width(chunks[-1])
            line.append(chunks.pop())
        if chunks and cell_width(chunks[-1]) > room:
            # A word longer than a line fills the rest of this one and goes on over the next.
            word = chunks[-1]
            part = _head(word, room - used) or ("" if line else word[0])  # never stuck on a too-wide first char
            line.append(part)
            chunks[-1] = word[len(part):]
        if line and not line[-1].strip():
            line.pop()
        if line:
            lines.append(lead + "".join(line))
    return lines


def pack(items: Sequence[str], width: int, indent: str, first: str | None = None, sep: str = ITEM_SEP) -> list[str]:
    """``items`` on as few lines of ``width`` as fit, the first line after ``first`` (default:
    ``indent``) and the others after ``indent``, never splitting an item across lines unless the item
    alone is longer than a line."""
    lines: list[str] = []
    line = ""
    for item in items:
        if line and cell_width(line) + cell_width(sep) + cell_width(item) <= width:
            line += sep + item
            continue
        if line:
            lines.append(line)
        lead = indent if lines or first is None else first
        if cell_width(lead) + cell_width(item) <= width:
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
    """The lines of a table of ``rows`` that fit in ``width`` cells (None: as wide as the cells).

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
        widths = {i: max([cell_width(headers[i]), *(cell_width(row[i]) for row in rows)]) for i in kept}
        if width is None or cell_width(indent) + sum(widths.values()) + 2 * (len(kept) - 1) <= width:
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
        return (indent + "  ".join(pad(cells[i], widths[i]) for i in kept)).rstrip()

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
