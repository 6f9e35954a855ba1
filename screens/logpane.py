"""The live log pane: bounded per-stack buffers, batched repaints, follow on/off, search.

Lines may arrive from any thread at any rate (terraform's ``-json`` stream can burst to tens of
thousands of lines a second). They go into a lock-protected pending list; a timer moves them to
the screen in batches, so the UI thread does a bounded amount of work per frame and memory is
bounded by ``max_lines`` per stack, however long the run.
"""

from __future__ import annotations

import threading
from collections import deque

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Log, Static

from gfwizard.redact import redact

FLUSH_INTERVAL = 1 / 15


class LogPane(Vertical):
    """Shows one stack's log at a time; keeps a bounded tail of every stack's."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("slash", "search", "Search"),
    ]

    def __init__(self, max_lines: int = 5000, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.buffers: dict[str, deque[str]] = {}
        self.transcripts: dict[str, str] = {}
        self.selected: str | None = None
        self.follow = True
        self.query_text = ""
        self._pending: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.ingested = 0

    def compose(self) -> ComposeResult:
        yield Static("Log", id="log-title", classes="pane-title")
        yield Log(max_lines=self.max_lines, id="log", auto_scroll=True)
        yield Input(placeholder="search (Enter to apply, Escape to clear)", id="log-search")
        yield Static("", id="log-transcript", classes="pane-foot")

    def on_mount(self) -> None:
        self.query_one("#log-search", Input).display = False
        self.set_interval(FLUSH_INTERVAL, self.flush)

    # ----- feeding (any thread) -----------------------------------------------------------
    def add_line(self, stack: str, line: str) -> None:
        """Queue one line for ``stack`` (thread-safe; redacted here as a last line of defence)."""
        with self._lock:
            self._pending.append((stack, line))

    def add_lines(self, stack: str, lines: list[str]) -> None:
        """Queue many lines for ``stack`` (thread-safe)."""
        with self._lock:
            self._pending.extend((stack, line) for line in lines)

    def set_transcript(self, stack: str, path: str) -> None:
        """Record where ``stack``'s full transcript is written."""
        self.transcripts[stack] = path
        if stack == self.selected:
            self._show_footer()

    # ----- UI thread ------------------------------------------------------------------------
    def flush(self) -> None:
        """Move queued lines into the buffers and the visible log (one batch per frame)."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        self.ingested += len(pending)
        visible: list[str] = []
        for stack, line in pending:
            line = redact(line)
            buffer = self.buffers.get(stack)
            if buffer is None:
                buffer = self.buffers[stack] = deque(maxlen=self.max_lines)
                if self.selected is None:
                    self.select(stack)
            buffer.append(line)
            if stack == self.selected and (not self.query_text or self.query_text in line):
                visible.append(line)
        if visible:
            log = self.query_one("#log", Log)
            log.write_lines(visible[-self.max_lines:], scroll_end=self.follow)

    def select(self, stack: str) -> None:
        """Show ``stack``'s buffered lines."""
        self.selected = stack
        self.query_one("#log-title", Static).update(f"Log · {stack}")
        self._rewrite()
        self._show_footer()

    def _rewrite(self) -> None:
        log = self.query_one("#log", Log)
        log.clear()
        lines = list(self.buffers.get(self.selected or "", ()))
        if self.query_text:
            lines = [line for line in lines if self.query_text in line]
        log.write_lines(lines, scroll_end=self.follow)

    def _show_footer(self) -> None:
        path = self.transcripts.get(self.selected or "", "")
        follow = "follow on" if self.follow else "follow off"
        search = f" · filter {self.query_text!r}" if self.query_text else ""
        self.query_one("#log-transcript", Static).update(
            f"{follow}{search} · transcript: {path or '(not started)'}")

    def action_toggle_follow(self) -> None:
        """Stop or resume scrolling with new lines."""
        self.follow = not self.follow
        self.query_one("#log", Log).auto_scroll = self.follow
        self._show_footer()

    def action_search(self) -> None:
        """Open the search box."""
        box = self.query_one("#log-search", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "log-search":
            self.query_text = event.value.strip()
            event.input.display = False
            self._rewrite()
            self._show_footer()
            self.query_one("#log", Log).focus()

    def on_key(self, event) -> None:  # type: ignore[no-untyped-def]
        box = self.query_one("#log-search", Input)
        if event.key == "escape" and box.has_focus:
            event.stop()
            box.value, box.display, self.query_text = "", False, ""
            self._rewrite()
            self._show_footer()
