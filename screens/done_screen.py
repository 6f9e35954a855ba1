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
    # q quits here too (nothing runs any more), but the footer names Quit once: the app's ^q is on every step.
    BINDINGS = [Binding("s", "status", "Open status (read-only)"), Binding("q", "quit", "Quit", show=False)]

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
        self.query_one("#next-steps", Static).update(self.rehearsal_next() if self.session.is_rehearsal
                                                     else self.next_steps())

    def next_steps(self) -> Text:
        """What to run next on the real machine."""
        text = Text()
        text.append("Next: ", style="bold")
        text.append("gfwizard status", style="bold cyan")
        text.append(" is the live, read-only view (s opens it now).\n")
        text.append("Re-run ")
        text.append(f"gfwizard deploy --env {self.session.env}", style="cyan")
        text.append(" any time: unchanged stacks apply nothing.")
        return text

    def rehearsal_next(self) -> Text:
        """In a rehearsal the commands work only beside it (its services, credentials and workspace end with
        it), so say so instead of offering commands a plain shell cannot run."""
        text = Text()
        text.append("Next: ", style="bold")
        text.append("s", style="bold cyan")
        text.append(" opens the live, read-only status view of this rehearsal.\n")
        text.append("Quitting ends the rehearsal: its services stop, and its workspace is cleared unless it was "
                    "started with --keep. From another shell, while it runs, ")
        text.append("gfwizard status", style="cyan")
        text.append(" and ")
        text.append(f"gfwizard deploy --env {self.session.env}", style="cyan")
        text.append(" need its exports: start it with ")
        text.append("gfwizard rehearse --env-file FILE", style="cyan")
        text.append(" and source FILE there.")
        return text

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
