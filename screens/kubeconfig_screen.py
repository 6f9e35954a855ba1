"""Step 2 — Kubeconfig: every discovered context, classified; the operator picks the one to use."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from gfwizard.textfit import elide, elide_start
from gfwizard.textsafe import printable
from screens.checklist import CELL_PADDING, cell, fit_widths
from screens.step import StepScreen

if TYPE_CHECKING:
    from gfwizard.kubeconfig import ContextInfo, Discovery

#: classification value -> (badge, style)
BADGES: dict[str, tuple[str, str]] = {
    "target": ("TARGET honey", "bold green"),
    "legacy-civo": ("LEGACY civo", "bold yellow"),
    "gitlab-agent": ("GITLAB-AGENT", "bold yellow"),
    "node-role-misuse": ("NODE-ROLE misuse", "bold red"),
    "other": ("other", "dim"),
}
NOT_A_TARGET = {"legacy-civo", "gitlab-agent", "node-role-misuse"}
COLUMNS = (("", 1, 1), ("Context", 7, 28), ("Class", 16, 16), ("Server", 12, 30), ("Auth", 5, 12), ("File", 10, 200))
"""(label, minimum width, natural width cap) of each table column."""
#: Below this many columns the File column is left out (the box under the table names the file).
FILE_COLUMN_MIN_WIDTH = 110
#: Indexes in :data:`COLUMNS` of the context name, the server and the file.
CONTEXT_COLUMN, SERVER_COLUMN, FILE_COLUMN = 1, 3, 5


def short_path(path: str, home: str | None = None) -> str:
    """``/home/op/.kube/x`` -> ``~/.kube/x`` for display."""
    home = (home or os.path.expanduser("~")).rstrip(os.sep)
    return "~" + path[len(home):] if home and path.startswith(home + os.sep) else path


def _elided(text: Text, width: int, *, start: bool = False) -> Text:
    """A table cell cut to ``width`` in the middle (``start``: at its start), its style kept."""
    if text.cell_len <= width:
        return text
    return cell(elide_start(text.plain, width) if start else elide(text.plain, width, middle=True), str(text.style))


class KubeconfigScreen(StepScreen):
    """Lists contexts from every kubeconfig candidate; the highlighted one is the selection."""

    STEP_TITLE = "2 · Kubeconfig"
    BINDINGS = [Binding("r", "rescan", "Rescan")]

    @dataclass
    class DiscoveryFinished(Message):
        """Kubeconfig discovery came back, with the file problems and warnings worth showing."""

        discovery: "Discovery"
        notes: list[str] = field(default_factory=list)

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session)
        self.discovery: "Discovery | None" = None
        self.selected: "ContextInfo | None" = None
        self.selection_error: str | None = None
        self.notes: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static("Pick the context that reaches honey (↑/↓), then Enter or Ctrl+N. No exec plugin runs; no "
                         "kubeconfig is written.", classes="step-help")
            yield DataTable(id="contexts", cursor_type="row", zebra_stripes=True)
            yield Static("", id="context-detail", classes="detail-box", markup=False)
            # A scroll container, not a bare Static: it takes focus (Tab from the table) and scrolls with the
            # arrows and PageUp/PageDown, so a keyboard-only operator can read every note, not the first few.
            with VerticalScroll(id="notes-pane", classes="notes"):
                yield Static("", id="file-problems", markup=False)
        yield Static("Discovering kubeconfig files…", id="step-status", classes="step-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._fill_table()
        self.discover()

    def action_rescan(self) -> None:
        """Look for kubeconfig files again (after fixing one, or exporting KUBECONFIG elsewhere)."""
        self.discovery, self.selected = None, None
        self._status("Discovering kubeconfig files…", True)
        self._fill_table()
        self.refresh_bindings()
        self.discover()

    @work(thread=True, exclusive=True, exit_on_error=False, group="kubeconfig")
    def discover(self) -> None:
        """Run discovery off the UI thread (reads files only; exec plugins are never run)."""
        from gfwizard.kubeconfig import FileStatus, discover, load_target_hint

        hint, hint_warning = load_target_hint(self.session.config_path)
        environ = self.session.environ()
        found = discover(environ=environ, home=self.session.home(), target=hint)
        named = {os.path.abspath(os.path.expanduser(p)) for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p}
        if hint.kubeconfig:
            named.add(os.path.abspath(os.path.expanduser(hint.kubeconfig)))
        notes = [hint_warning] if hint_warning else []
        for info in found.files:
            # A missing ~/.kube/config is normal; a missing file someone named is not.
            if info.status is FileStatus.OK or (info.status is FileStatus.MISSING and info.path not in named):
                continue
            notes.append(f"{info.path}: {info.status.value}{' — ' + info.error if info.error else ''}")
        notes.extend(found.warnings)
        if not get_current_worker().is_cancelled:
            self.post_message(self.DiscoveryFinished(found, notes))

    def on_kubeconfig_screen_discovery_finished(self, message: DiscoveryFinished) -> None:
        self.discovery, self.notes = message.discovery, message.notes
        preferred = self.session.context
        if preferred is None or all(c.name != preferred for c in message.discovery.contexts):
            targets = [c for c in message.discovery.contexts if c.classification.value == "target"]
            preferred = targets[0].name if targets else None
        cursor = next((i for i, c in enumerate(message.discovery.contexts) if c.name == preferred), 0)
        self._fill_table(cursor)
        table = self.query_one("#contexts", DataTable)
        if message.discovery.contexts:
            self._select(message.discovery.contexts[cursor])
        else:
            self._status("No kubeconfig context found. Looked in: " + ", ".join(message.discovery.searched), True)
        table.focus()
        self.refresh_bindings()

    # ----- drawing ----------------------------------------------------------------------------
    def _fill_table(self, cursor: int | None = None) -> None:
        table = self.query_one("#contexts", DataTable)
        cursor = table.cursor_row if cursor is None else cursor
        contexts = self.discovery.contexts if self.discovery is not None else []
        rows = []
        for ctx in contexts:
            badge, style = BADGES.get(ctx.classification.value, ("?", ""))
            auth = ctx.auth.value + (" EXPIRED" if ctx.cert_expired else "")
            # Names come from the kubeconfig: a control character or bidi override in one is shown escaped.
            rows.append((cell("*" if ctx.current else ""),
                         cell(printable(ctx.name) + (" (shadowed)" if ctx.shadowed_by else "")),
                         cell(badge, style), cell(ctx.server or "-"), cell(auth, "red" if ctx.cert_expired else ""),
                         cell(short_path(ctx.file))))
        width = table.size.width or self.size.width
        columns = COLUMNS if width >= FILE_COLUMN_MIN_WIDTH else COLUMNS[:-1]
        whole = [max([len(label), *(r[i].cell_len for r in rows)]) for i, (label, _minimum, _cap) in enumerate(columns)]
        natural = [min(cap, w) for w, (_label, _minimum, cap) in zip(whole, columns)]
        widths = fit_widths(width - 2, natural, [m for _l, m, _c in columns]) if width else natural
        # Room the capped columns left unused (a wide terminal) goes to the names, then the servers.
        spare = width - 2 - sum(widths) - CELL_PADDING * len(widths)
        for index in (CONTEXT_COLUMN, SERVER_COLUMN):
            grow = max(0, min(spare, whole[index] - widths[index]))
            widths[index] += grow
            spare -= grow
        # Cut at their end, names read alike (…cluster/staging-blue and …cluster/prod-blue both as
        # "arn:aws:eks:eu-west-1:1234…"): a name keeps its head and its distinguishing tail, a file its name. A server
        # is still cut at its end: its host comes first.
        cut_start = {CONTEXT_COLUMN: False, FILE_COLUMN: True}
        rows = [tuple(_elided(text, widths[i], start=cut_start[i]) if i in cut_start and i < len(widths) else text
                      for i, text in enumerate(row)) for row in rows]
        table.clear(columns=True)
        for (label, _minimum, _cap), col_width in zip(columns, widths):
            table.add_column(label, width=col_width)
        for index, row in enumerate(rows):
            table.add_row(*row[:len(columns)], key=str(index))
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1), animate=False)
        self._show_detail()

    def _show_detail(self) -> None:
        box = self.query_one("#context-detail", Static)
        ctx = self.selected
        if ctx is None:
            box.display = False
        else:
            # A name from a file can run to hundreds of characters: whole, it filled the box and hid the lines
            # that say what is wrong. Middle-elided, each keeps its head and distinguishing tail.
            room = max(20, box.content_size.width or self.size.width - 4)
            text = Text()
            text.append(elide(printable(ctx.name), room, middle=True), style="bold")
            text.append(f" in {short_path(ctx.file)}\n")
            text.append(f"cluster {elide(printable(ctx.cluster or '-'), room // 3, middle=True)} at "
                        f"{elide(ctx.server or '-', room // 2, middle=True)}, user "
                        f"{elide(printable(ctx.user or '-'), room // 3, middle=True)} ({ctx.auth.value}"
                        + (f" via {ctx.exec_command}" if ctx.exec_command else "")
                        + (f", certificate until {ctx.cert_expiry[:10]}" if ctx.cert_expiry else "") + ")")
            if ctx.reason:
                text.append("\n" + ctx.reason, style=BADGES.get(ctx.classification.value, ("", ""))[1])
            if ctx.shadowed_by:
                text.append(f"\nhidden by the same context name in {short_path(ctx.shadowed_by)}", style="yellow")
            for problem in ctx.problems:
                text.append("\n✗ " + problem, style="red")
            box.update(text)
            box.display = True
        notes = list(self.notes)
        current = self.discovery.current_context if self.discovery is not None else None
        if ctx is not None and current and current != ctx.name:
            notes.insert(0, f"kubectl's current-context is {current!r}, not {ctx.name!r}: gfwizard always passes the "
                            f"context explicitly, but a bare `kubectl` goes to {current!r}.")
        problems = self.query_one("#file-problems", Static)
        problems.update(Text("\n".join("⚠ " + n for n in notes), style="yellow"))
        # Hidden when empty, so Tab does not stop on a pane with nothing in it.
        self.query_one("#notes-pane", VerticalScroll).display = bool(notes)

    def on_resize(self, event: Resize) -> None:
        if self.discovery is not None:
            self._fill_table()

    # ----- selecting --------------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.discovery is not None and event.row_key.value is not None:
            self._select(self.discovery.contexts[int(event.row_key.value)])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.discovery is not None and event.row_key.value is not None:
            self._select(self.discovery.contexts[int(event.row_key.value)])
            self.action_next()

    def _select(self, ctx: "ContextInfo") -> None:
        """Make ``ctx`` the operator's choice; the kubeconfig handed on is the one a client must load."""
        from gfwizard.errors import GfwError

        assert self.discovery is not None
        self.selected, self.selection_error = ctx, None
        try:
            kubeconfig, _name = self.discovery.client_target(ctx.name, ctx.file)
        except GfwError as exc:
            kubeconfig = ctx.file
            # The status line has three rows for the message and its remedy: the name is elided, the file shortened.
            text = exc.message + (f" ({exc.remedy})" if exc.remedy else "")
            self.selection_error = text.replace(repr(ctx.name), repr(self._short_name(ctx))).replace(
                ctx.file, short_path(ctx.file))
        if (self.session.context, self.session.kubeconfig) != (ctx.name, kubeconfig):
            self.session.validated = False
        self.session.context, self.session.kubeconfig = ctx.name, kubeconfig
        reason = self.blocked_reason()
        self._status(reason or f"Selected {self._short_name(ctx)}. Enter or Ctrl+N for Next.", reason is not None)
        self._show_detail()
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The base class opens the error modal; this only keeps the status line honest.
        if event.state is WorkerState.ERROR and event.worker.group == "kubeconfig":
            self._status("Kubeconfig discovery failed (see the error). r tries again.", True)

    def _short_name(self, ctx: "ContextInfo") -> str:
        """The context's name, escaped and middle-elided to leave the status line room for what follows."""
        return elide(printable(ctx.name), max(20, self.size.width - 40), middle=True)

    def blocked_reason(self) -> str | None:
        if self.discovery is None:
            return "Discovery is still running."
        if self.selected is None:
            return "No context to select: put honey's kubeconfig in ~/.kube (or KUBECONFIG), then r to rescan."
        cls = self.selected.classification.value
        if cls in NOT_A_TARGET:
            return (f"{self._short_name(self.selected)} cannot be a deploy target: "
                    f"{self.selected.reason or BADGES[cls][0]}.")
        if self.selected.cert_expired:
            return f"{self._short_name(self.selected)}: the client certificate expired on {self.selected.cert_expiry}."
        if self.selection_error:
            return self.selection_error  # it names the context already
        return None
