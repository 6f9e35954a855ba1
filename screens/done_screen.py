"""Step 7 — Done: what happened to each stack, where the transcripts are, what to run next."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from screens.step import StepScreen

#: Outcomes that mean the stack is deployed.
GOOD_OUTCOMES = ("applied", "no changes", "unchanged")


def transcript_columns(transcripts: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The directory every transcript is in ("" when they differ) and each stack's path relative to it,
    so the table stays narrow enough for 80 columns."""
    paths = [p for p in transcripts.values() if p]
    if not paths:
        return "", {}
    parents = {str(Path(p).parent) for p in paths}
    if len(parents) != 1:
        return "", dict(transcripts)
    return parents.pop() + os.sep, {stack: Path(p).name for stack, p in transcripts.items() if p}


class DoneScreen(StepScreen):
    """The summary; ``s`` opens the read-only status view."""

    STEP_TITLE = "7 · Done"
    BINDINGS = [Binding("s", "status", "Open status (read-only)"), Binding("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static(f"Environment {self.session.env} on honey"
                         + (" (rehearsal)" if self.session.is_rehearsal else ""), id="done-env", classes="step-help")
            yield DataTable(id="summary", cursor_type="row", zebra_stripes=True)
            yield Static("", id="transcripts-dir", classes="step-help", markup=False)
            yield Static("", id="next-steps", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#summary", DataTable)
        table.add_columns("Stack", "Outcome", "Transcript")
        directory, names = transcript_columns(self.session.transcripts)
        for stack, outcome in self.session.deploy_outcomes.items():
            style = "green" if outcome.split(" (")[0] in GOOD_OUTCOMES else "bold red"
            table.add_row(stack, Text(outcome, style=style), names.get(stack, "-"), key=stack)
        if directory:
            self.query_one("#transcripts-dir", Static).update(f"Transcripts (redacted) in {directory}")
        config = f" --config {self.session.config_path}" if self.session.is_rehearsal else ""
        text = Text()
        text.append("Next: ", style="bold")
        text.append(f"gfwizard status{config}", style="bold cyan")
        text.append(" is the live, read-only view (s opens it now).\n")
        text.append("Re-run ")
        text.append(f"gfwizard deploy --env {self.session.env}{config}", style="cyan")
        text.append(" any time: unchanged stacks apply nothing.")
        self.query_one("#next-steps", Static).update(text)

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
