"""Step 2 — Kubeconfig: every discovered context, classified; the operator picks the one to use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

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


class KubeconfigScreen(StepScreen):
    """Lists contexts from every kubeconfig candidate; Enter selects one."""

    STEP_TITLE = "2 · Kubeconfig"

    @dataclass
    class DiscoveryFinished(Message):
        """Kubeconfig discovery came back."""

        discovery: "Discovery"

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session)
        self.discovery: "Discovery | None" = None
        self.selected: "ContextInfo | None" = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static("Pick the context that reaches honey (↑/↓, Enter). Exec plugins are not run here; "
                         "no kubeconfig file is ever written.", classes="step-help")
            yield DataTable(id="contexts", cursor_type="row", zebra_stripes=True)
            yield Static("", id="file-problems", classes="step-help")
            yield Static("Discovering kubeconfig files…", id="step-status", classes="step-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#contexts", DataTable)
        table.add_columns("", "Context", "Class", "Server", "Auth", "File")
        self.discover()

    @work(thread=True, exclusive=True, exit_on_error=False, group="kubeconfig")
    def discover(self) -> None:
        """Run discovery off the UI thread (reads files only)."""
        from gfwizard.kubeconfig import discover, load_target_hint

        hint, _warning = load_target_hint(self.session.config_path)
        found = discover(environ=self.session.environ(), home=self.session.home(), target=hint)
        self.post_message(self.DiscoveryFinished(found))

    def on_kubeconfig_screen_discovery_finished(self, message: DiscoveryFinished) -> None:
        self.discovery = message.discovery
        table = self.query_one("#contexts", DataTable)
        table.clear()
        preferred = self.session.context
        cursor = 0
        for index, ctx in enumerate(message.discovery.contexts):
            badge, style = BADGES.get(ctx.classification.value, ("?", ""))
            table.add_row("*" if ctx.current else "", ctx.name, Text(badge, style=style), ctx.server,
                          ctx.auth.value + (" EXPIRED" if ctx.cert_expired else ""), ctx.file,
                          key=f"{index}")
            if preferred is None and ctx.classification.value == "target":
                preferred = ctx.name
            if ctx.name == preferred:
                cursor = index
        problems = [f"{f.path}: {f.status.value}{' — ' + f.error if f.error else ''}"
                    for f in message.discovery.files if f.status.value != "ok"]
        notes = [*problems, *message.discovery.warnings]
        self.query_one("#file-problems", Static).update("\n".join(notes))
        if message.discovery.contexts:
            table.move_cursor(row=cursor)
            self._select(message.discovery.contexts[cursor])
        else:
            self._set_status("No kubeconfig found. Looked in: " + ", ".join(message.discovery.searched), True)
        table.focus()
        self.refresh_bindings()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.discovery is not None and event.row_key.value is not None:
            self._select(self.discovery.contexts[int(event.row_key.value)])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.discovery is not None and event.row_key.value is not None:
            self._select(self.discovery.contexts[int(event.row_key.value)])
            if self.blocked_reason() is None:
                self.action_next()

    def _select(self, ctx: "ContextInfo") -> None:
        self.selected = ctx
        self.session.context = ctx.name
        self.session.kubeconfig = ctx.file
        reason = self.blocked_reason()
        self._set_status(reason or f"Selected {ctx.name} from {ctx.file}. Enter or Ctrl+N for Next.", reason is not None)
        self.refresh_bindings()

    def _set_status(self, text: str, blocked: bool) -> None:
        status = self.query_one("#step-status", Static)
        status.update(text)
        status.set_class(blocked, "blocked")

    def blocked_reason(self) -> str | None:
        if self.discovery is None:
            return "Discovery is still running."
        if self.selected is None:
            return "Select a context first."
        cls = self.selected.classification.value
        if cls in NOT_A_TARGET:
            return f"{self.selected.name} cannot be a deploy target: {self.selected.reason or BADGES[cls][0]}."
        if self.selected.cert_expired:
            return f"{self.selected.name}: the client certificate expired on {self.selected.cert_expiry}."
        return None
