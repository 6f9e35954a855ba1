"""Step 7 — Done: what happened to each stack, where the transcripts are, what to run next."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static

from screens.step import StepScreen


class DoneScreen(StepScreen):
    """The summary; ``s`` opens the read-only status view."""

    STEP_TITLE = "7 · Done"
    BINDINGS = [Binding("s", "status", "Open status (read-only)"), Binding("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static(f"Environment {self.session.env} on honey"
                         + (" (rehearsal)" if self.session.is_rehearsal else ""), classes="step-help")
            yield DataTable(id="summary", cursor_type="row", zebra_stripes=True)
            yield Static("", id="next-steps", classes="step-help")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#summary", DataTable)
        table.add_columns("Stack", "Outcome", "Transcript")
        for stack, outcome in self.session.deploy_outcomes.items():
            style = "green" if outcome in ("applied", "no changes") else "red"
            table.add_row(stack, Text(outcome, style=style), self.session.transcripts.get(stack, "-"))
        config = f" --config {self.session.config_path}" if self.session.is_rehearsal else ""
        self.query_one("#next-steps", Static).update(
            f"Next: `gfwizard status{config}` shows the live, read-only view (press s to open it now).\n"
            f"Re-run `gfwizard deploy --env {self.session.env}{config}` any time: unchanged stacks apply nothing.")

    def action_status(self) -> None:
        """Leave the wizard and open the read-only status view."""
        self.app.exit("status")

    def action_quit(self) -> None:
        """Leave the wizard."""
        self.app.exit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next":
            return False
        return super().check_action(action, parameters)
