"""The live log pane: bounded per-stack buffers, batched repaints, follow on/off, search.

Lines may arrive from any thread at any rate (terraform's ``-json`` stream can burst to tens of
thousands of lines a second). ``add_line`` only appends to a per-stack pending list under a lock;
a timer moves them into the bounded per-stack buffers in one batch per tick, so the UI thread does
a bounded amount of work per frame, and memory stays bounded by ``max_lines`` per stack however
long the run and however far the UI falls behind (a pending list never holds more than
``2 * max_lines`` lines: older ones would fall out of the buffer anyway).

Redaction (:func:`gfwizard.redact.redact`, a last line of defence: the engine redacts first) costs
tens of microseconds a line, far too much for every line of a flood on the UI thread. It is applied
where a line becomes visible: :class:`LogView` redacts the few lines it paints (with a small cache),
and a search matches only lines whose redacted text still contains the query. So nothing
unredacted is ever shown, and a flood costs the UI a ``deque.extend`` per stack per tick.

While the pane is mounted two interpreter settings change (both undone on unmount), because a
flood is exactly when the operator presses keys (cancel!) and the measured tail latency came from
the interpreter, not from the pane (see docs/benchmarks.md):

* the GIL switch interval drops to 1 ms: the threads feeding the pane are CPU-bound, and a key
  press crosses several message queues, each hop waiting up to one switch interval for the GIL
  (5 ms by default: tens of ms per key);
* everything alive at mount is moved out of the garbage collector's view (``gc.freeze()``, after
  one collection), so the full collections a flood's allocations trigger scan only what is new
  instead of the whole app (a 50-100 ms pause each, otherwise).
"""

from __future__ import annotations

import gc
import sys
import threading
from collections import deque
from typing import Callable, Sequence

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Static

from gfwizard.redact import redact
from gfwizard.textsafe import printable_log

FLUSH_INTERVAL = 1 / 15
#: GIL switch interval while a pane is mounted (see the module docstring).
SWITCH_INTERVAL = 0.001
#: Redacted lines remembered by a LogView (a screenful scrolled back and forth is never redone).
REDACTED_CACHE = 2048


class LogView(ScrollView, can_focus=True):
    """A read-only view of a sequence of lines (a pane's buffer), redacted as it is painted."""

    DEFAULT_CSS = """
    LogView { background: $surface; }
    """

    def __init__(self, source: Callable[[], Sequence[str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._source = source
        self._width = 0
        self._cache: dict[str, str] = {}
        #: Whether the view keeps to the end (the pane's follow mode), also when it is resized.
        self.following = True

    @property
    def lines(self) -> Sequence[str]:
        """The lines shown (unredacted; painted redacted)."""
        return self._source()

    def visible_text(self) -> list[str]:
        """The redacted lines currently on screen, top to bottom."""
        lines = self._source()
        top = round(self.scroll_offset.y)
        return [self.redacted(lines[i]) for i in range(top, min(len(lines), top + self.size.height))]

    def redacted(self, line: str) -> str:
        """``line`` redacted (cached), its line breaks made spaces, and made safe to paint
        (:func:`gfwizard.textsafe.printable_log`: colour sequences dropped, tabs expanded, other
        controls and bidi overrides shown escaped)."""
        cached = self._cache.get(line)
        if cached is None:
            if len(self._cache) >= REDACTED_CACHE:
                self._cache.clear()
            # A message of several lines (`Interrupt received.\nPlease wait…`) reads as one.
            joined = redact(line).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
            cached = self._cache[line] = printable_log(joined)
        return cached

    def update(self, follow: bool, new_widths: int = 0, reset: bool = False) -> None:
        """The source changed: resize, scroll to the end when following, repaint."""
        if reset:
            self._width = max((len(line) for line in self._source()), default=0)
            self._cache.clear()
        self._width = max(self._width, new_widths)
        self.virtual_size = Size(self._width, len(self._source()))
        self.following = follow
        if follow:
            # Deferred: a new virtual size only allows scrolling once the scrollbars are laid out.
            self.scroll_end(animate=False, x_axis=False)
        self.refresh()

    def on_resize(self) -> None:
        # A smaller window must not hide the newest lines while following.
        if self.following:
            self.scroll_end(animate=False, x_axis=False)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        style = self.rich_style
        lines = self._source()
        if index >= len(lines):
            return Strip.blank(width, style)
        text = self.redacted(lines[index])
        strip = Strip([Segment(text, style)], len(text)) if text.isascii() else Strip(
            Text(text, style=style, no_wrap=True, end="").render(self.app.console))
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, index)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()


class LogPane(Vertical):
    """Shows one stack's log at a time; keeps a bounded tail of every stack's."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("slash", "search", "Search"),
    ]

    def __init__(self, max_lines: int = 5000, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        #: Per-stack tails, as received (the view redacts what it paints).
        self.buffers: dict[str, deque[str]] = {}
        self.transcripts: dict[str, str] = {}
        self.selected: str | None = None
        self.follow = True
        self.query_text = ""
        #: What had focus when ``/`` opened the search box (it gets focus back).
        self._before_search: Widget | None = None
        self._matches: deque[str] = deque(maxlen=max_lines)
        self._pending: dict[str, list[str]] = {}
        self._received = 0
        self._lock = threading.Lock()
        self._saved_switch_interval: float | None = None
        #: Lines taken in so far (shown, or aged out of a bounded buffer).
        self.ingested = 0

    def compose(self) -> ComposeResult:
        yield Static("Log", id="log-title", classes="pane-title", markup=False)
        yield LogView(self._shown, id="log")
        yield Input(placeholder="search (Enter to apply, Escape to clear)", id="log-search")
        yield Static("", id="log-transcript", classes="pane-foot", markup=False)

    def on_mount(self) -> None:
        self.query_one("#log-search", Input).display = False
        self.set_interval(FLUSH_INTERVAL, self.flush)
        self._show_footer()
        self._saved_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._saved_switch_interval, SWITCH_INTERVAL))
        gc.collect()
        gc.freeze()

    def on_unmount(self) -> None:
        if self._saved_switch_interval is not None:
            sys.setswitchinterval(self._saved_switch_interval)
        gc.unfreeze()

    def _shown(self) -> Sequence[str]:
        if self.query_text:
            return self._matches
        return self.buffers.get(self.selected or "", ())

    # ----- feeding (any thread) -----------------------------------------------------------
    def add_line(self, stack: str, line: str) -> None:
        """Queue one line for ``stack`` (thread-safe; cheap: no redaction, no UI work)."""
        with self._lock:
            pending = self._pending.get(stack)
            if pending is None:
                pending = self._pending[stack] = []
            pending.append(line)
            self._received += 1
            if len(pending) > 2 * self.max_lines:
                del pending[:-self.max_lines]  # they would age out of the buffer unseen

    def has_lines(self, stack: str) -> bool:
        """True when ``stack`` has shown or queued lines (thread-safe)."""
        with self._lock:
            return bool(self._pending.get(stack)) or bool(self.buffers.get(stack))

    def add_lines(self, stack: str, lines: list[str]) -> None:
        """Queue many lines for ``stack`` (thread-safe)."""
        with self._lock:
            pending = self._pending.setdefault(stack, [])
            pending.extend(lines)
            self._received += len(lines)
            if len(pending) > 2 * self.max_lines:
                del pending[:-self.max_lines]

    def set_transcript(self, stack: str, path: str) -> None:
        """Record where ``stack``'s full transcript is written."""
        self.transcripts[stack] = path
        if stack == self.selected:
            self._show_footer()

    # ----- UI thread ------------------------------------------------------------------------
    def flush(self) -> None:
        """Move queued lines into the buffers and repaint the view (one batch per tick)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            received, self._received = self._received, 0
        if not received:
            return
        self.ingested += received
        widest = 0
        for stack, lines in pending.items():
            buffer = self.buffers.get(stack)
            if buffer is None:
                buffer = self.buffers[stack] = deque(maxlen=self.max_lines)
            tail = lines[-self.max_lines:]
            buffer.extend(tail)
            if self.selected is None:
                self.select(stack)
            elif stack == self.selected:
                if self.query_text:
                    tail = self._matching(tail)
                    self._matches.extend(tail)
                widest = max(widest, max(map(len, tail), default=0))
        if any(stack == self.selected for stack in pending):
            self.query_one(LogView).update(self.follow, widest)

    def _matching(self, lines: Sequence[str]) -> list[str]:
        view, query = self.query_one(LogView), self.query_text
        return [line for line in lines if query in line and query in view.redacted(line)]

    def select(self, stack: str) -> None:
        """Show ``stack``'s buffered lines."""
        self.selected = stack
        self.buffers.setdefault(stack, deque(maxlen=self.max_lines))
        self.query_one("#log-title", Static).update(f"Log · {stack}")
        self._refilter()
        self._show_footer()

    def _refilter(self) -> None:
        self._matches.clear()
        if self.query_text:
            self._matches.extend(self._matching(list(self.buffers.get(self.selected or "", ()))))
        self.query_one(LogView).update(self.follow, reset=True)

    def _show_footer(self) -> None:
        path = self.transcripts.get(self.selected or "", "")
        follow = "follow on" if self.follow else "follow off"
        search = f" · filter {self.query_text!r}" if self.query_text else ""
        self.query_one("#log-transcript", Static).update(
            f"{follow}{search} · transcript: {path or '(not started)'}")

    def action_toggle_follow(self) -> None:
        """Stop or resume scrolling with new lines."""
        self.follow = not self.follow
        self.query_one(LogView).following = self.follow
        if self.follow:
            self.query_one(LogView).update(True)
        self._show_footer()

    def action_search(self) -> None:
        """Open the search box."""
        box = self.query_one("#log-search", Input)
        self._before_search = self.app.focused
        box.display = True
        box.focus()

    def _end_search(self) -> None:
        """Back to where the operator was before ``/`` (the stack list keeps its arrow keys)."""
        before, self._before_search = self._before_search, None
        target = before if before is not None and before.is_attached and before.focusable else self.query_one(LogView)
        target.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "log-search":
            self.query_text = event.value.strip()
            event.input.display = False
            self._refilter()
            self._show_footer()
            self._end_search()

    def on_key(self, event) -> None:  # type: ignore[no-untyped-def]
        box = self.query_one("#log-search", Input)
        if event.key != "escape":
            return
        if box.has_focus:
            event.stop()
            box.display = False
            self.clear_filter()
            self._end_search()

    def clear_filter(self) -> None:
        """Show every line again (Escape in the search box, or on the Deploy step while a filter is on)."""
        self.query_one("#log-search", Input).value, self.query_text = "", ""
        self._refilter()
        self._show_footer()
