"""Step 5 — Config: the organization.yaml the wizard built, as a diff against the file; written on confirm."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from screens.confirm_modal import ConfirmModal
from screens.step import StepScreen


def diff_text(old: str | None, new: str, path: Path) -> Text:
    """A coloured unified diff (or the whole new file when there is no old one)."""
    if old is None:
        return Text(new)
    out = Text()
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), f"{path} (on disk)", f"{path} (new)",
                                     lineterm=""):
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else (
            "cyan" if line.startswith("@@") else "")
        out.append(line + "\n", style=style)
    return out


class ConfigScreen(StepScreen):
    """Shows the generated file and what changes; Ctrl+W writes it (atomic, previous kept as .bak)."""

    STEP_TITLE = "5 · organization.yaml"
    BINDINGS = [Binding("ctrl+w", "write", "Write file"), Binding("v", "toggle_view", "Diff/whole file")]

    @dataclass
    class Rendered(Message):
        """The new file text and the file on disk (None when there is none)."""

        new_text: str
        old_text: str | None

    @dataclass
    class ConfigWritten(Message):
        """organization.yaml was written (Ctrl+W offers a write only when the diff is not empty)."""

        path: Path

    @dataclass
    class ChangedOnDisk(Message):
        """organization.yaml changed on disk after its diff was shown: nothing was written."""

        path: Path

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session)
        self.new_text: str | None = None
        self.old_text: str | None = None
        self.whole_file = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="step-body"):
            yield Static(self.STEP_TITLE, classes="step-title")
            yield Static(self._help(identical=False), id="config-help", classes="step-help", markup=False)
            with VerticalScroll(id="config-view"):
                yield Static("Rendering…", id="config-diff")
        yield Static("", id="step-status", classes="step-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.render_config()

    def _help(self, identical: bool) -> str:
        """The line under the title: what Ctrl+W would do, or that there is nothing to write."""
        if identical:
            return f"{self.session.config_path} already holds this (never a secret); nothing to write."
        return f"{self.session.config_path} (never holds a secret). Review it, then Ctrl+W writes it."

    @work(thread=True, exclusive=True, exit_on_error=False, group="config")
    def render_config(self) -> None:
        """Render the draft exactly as it would be written (comments of the existing file kept)."""
        from gfwizard.orgconfig import render_config
        from gfwizard.orgconfig_write import read_existing

        assert self.session.draft is not None, "the Validate step drafts the config"
        path = self.session.config_path
        # As stored (CRLF kept): the text the write compares with and renders over.
        old = read_existing(path)
        new = render_config(self.session.draft, old)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Rendered(new, old))

    def on_config_screen_rendered(self, message: Rendered) -> None:
        self.new_text, self.old_text = message.new_text, message.old_text
        self.query_one("#config-help", Static).update(self._help(message.old_text == message.new_text))
        if message.old_text == message.new_text:
            self.session.config_written = True
            self._status(f"{self.session.config_path} is already up to date. Ctrl+N for Next.", False)
        else:
            self.session.config_written = False
            what = "a new file" if message.old_text is None else "the changes are shown above"
            self._status(f"Not written yet ({what}). Ctrl+W writes it.", True)
        self._show()
        self.refresh_bindings()

    def _show(self) -> None:
        assert self.new_text is not None
        view = self.query_one("#config-diff", Static)
        if self.whole_file or self.old_text is None or self.old_text == self.new_text:
            view.update(Syntax(self.new_text, "yaml", theme="ansi_dark", line_numbers=False, word_wrap=True))
        else:
            view.update(diff_text(self.old_text, self.new_text, self.session.config_path))

    def action_toggle_view(self) -> None:
        """Switch between the diff and the whole new file."""
        self.whole_file = not self.whole_file
        if self.new_text is not None:
            self._show()

    def action_write(self) -> None:
        """Confirm, then write atomically."""
        if self.new_text is None or self.new_text == self.old_text:
            self.notify("Nothing to write.")
            return
        from gfwizard.orgconfig_write import backup_path

        where = self.session.config_path
        backup = f"\nThe previous file is kept as {backup_path(where)}." if self.old_text is not None else ""
        self.app.push_screen(ConfirmModal("Write organization.yaml?", f"Write {where}\n(atomic: temp file, then "
                                          f"rename).{backup}", "Write"),
                             lambda yes: self.write() if yes else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="config-write")
    def write(self) -> None:
        """Save through the core (temp file + rename, .bak kept, comments preserved)."""
        from gfwizard.orgconfig import save_config
        from gfwizard.orgconfig_write import ConfigChangedError

        assert self.session.draft is not None
        path = self.session.config_path
        try:
            # Someone may have changed the file after the diff was shown: writing then would replace
            # what they wrote with something the operator never saw, so the core refuses.
            save_config(self.session.draft, path, expected=self.old_text)
        except ConfigChangedError:
            self.post_message(self.ChangedOnDisk(path))
            return
        self.post_message(self.ConfigWritten(path))

    def on_config_screen_changed_on_disk(self, message: ChangedOnDisk) -> None:
        self.notify(f"{message.path} changed on disk since the diff was shown: nothing was written. The diff "
                    "now compares with the file as it is; Ctrl+W writes that.", title="Not written",
                    severity="warning", timeout=15, markup=False)
        self.render_config()

    def on_config_screen_config_written(self, message: ConfigWritten) -> None:
        self.session.config_written = True
        self.session.existing_config = self.session.draft
        self.notify(f"Wrote {message.path}", markup=False)
        self.render_config()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The base class opens the error modal; this only keeps the status line honest.
        if event.state is WorkerState.ERROR and event.worker.group in ("config", "config-write"):
            self._status("Nothing was written (see the error).", True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_view":
            return self.old_text is not None and self.new_text is not None and self.old_text != self.new_text
        if action == "write":
            return self.new_text is not None and self.new_text != self.old_text
        return super().check_action(action, parameters)

    def blocked_reason(self) -> str | None:
        if self.new_text is None:
            return "Rendering the config…"
        if not self.session.config_written:
            return "Write organization.yaml first (Ctrl+W)."
        return None
