"""The status app: a separate, read-only App (not a wizard step) for incidents.

It reads from a :class:`gfwizard.status.StatusFeed` (the live :class:`gfwizard.status.StatusSource`,
or a fixed feed in tests). Every second it checks the feed's version and, only when something
changed (or the shown ages are due for a refresh), builds a snapshot in a worker thread and applies
it to the panes cell by cell. There are no mutating actions: the only actions are looking
(switching panes, opening a workload, filtering by environment), refreshing and quitting; the
command palette and screenshots are off.

:func:`build_status_app` is the one factory: ``gfwizard status``, the wizard's Done screen and the
tests all build the app through it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Header, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from gfwizard.status import StatusFeed, StatusOptions, StatusSource, load_status_config
from gfwizard.status_model import StatusSnapshot
from screens.status_banner import ReadOnlyBanner
from screens.status_cluster import ClusterPane
from screens.status_events import EventsPane
from screens.status_locks import LocksPane
from screens.status_nodes import NodesPane
from screens.status_pane import StatusPane
from screens.status_stacks import StacksPane

log = logging.getLogger("gfwizard.ui.status")

#: Pane id -> (tab label, pane class), in tab order.
PANES: dict[str, tuple[str, type[StatusPane]]] = {
    "cluster": ("1 API", ClusterPane),
    "nodes": ("2 Nodes", NodesPane),
    "stacks": ("3 Stacks", StacksPane),
    "locks": ("4 Locks", LocksPane),
    "events": ("5 Events", EventsPane),
}
#: The only app-level actions status mode has: looking, refreshing, leaving.
READ_ONLY_ACTIONS = frozenset({"quit", "help_quit", "refresh", "show_pane", "cycle_env", "focus_next",
                               "focus_previous", "back", "pop_screen", "bell", "show_help_panel",
                               "hide_help_panel"})


@dataclass
class SnapshotReady(Message):
    """A new snapshot was built from the feed."""

    snapshot: StatusSnapshot
    version: int


@dataclass
class FeedStarted(Message):
    """The feed connected (or recorded why it could not) and is running."""


class StatusApp(App[None]):
    """Read-only status of honey, the stacks, their state and locks."""

    CSS_PATH = "status.tcss"
    TITLE = "gfwizard status"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q,ctrl+q", "quit", "Quit", priority=True),
        Binding("r", "refresh", "Refresh"),
        Binding("1", "show_pane('cluster')", "API", show=False),
        Binding("2", "show_pane('nodes')", "Nodes", show=False),
        Binding("3", "show_pane('stacks')", "Stacks", show=False),
        Binding("4", "show_pane('locks')", "Locks", show=False),
        Binding("5", "show_pane('events')", "Events", show=False),
        Binding("e", "cycle_env", "Env"),
    ]

    def __init__(self, feed: StatusFeed, *, config_path: Path | str = "", envs: list[str] | None = None,
                 clock: Callable[[], float] = time.time, tick_seconds: float = 1.0,
                 age_refresh_seconds: float = 2.0) -> None:
        super().__init__()
        self.feed = feed
        self.config_path = str(config_path)
        self.envs = list(envs or [])
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.age_refresh_seconds = age_refresh_seconds
        self.env_filter: str | None = None
        self.last_snapshot: StatusSnapshot | None = None
        self.feed_started = False
        self.snapshots_applied = 0
        self._shown_version = -1
        self._shown_at = 0.0
        self._building = False
        self._panes: list[StatusPane] = []
        self.sub_title = f"READ-ONLY · {self.config_path}" if self.config_path else "READ-ONLY"

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header()
        yield ReadOnlyBanner("READ-ONLY", id="banner", classes="banner-readonly", markup=False)
        with TabbedContent(initial="cluster", id="panes"):
            for pane_id, (label, cls) in PANES.items():
                with TabPane(label, id=pane_id):
                    yield cls(id=f"{pane_id}-pane")
        yield Footer()

    def on_mount(self) -> None:
        # Kept so a snapshot also reaches the panes while a workload screen is on top.
        self._panes = list(self.query(StatusPane))
        self._banner = self.query_one(ReadOnlyBanner)
        self._banner.show(None, self.now(), self.env_filter)
        self._panes[0].table.focus()
        self.start_feed()
        self.set_interval(self.tick_seconds, self._tick)

    def now(self) -> datetime:
        """The app's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    # ------------------------------------------------------------------ feed
    @work(thread=True, exclusive=True, exit_on_error=False, group="feed")
    def start_feed(self) -> None:
        """Connect and start watching (network I/O, so in a worker)."""
        self.feed.start()
        self.post_message(FeedStarted())

    def on_feed_started(self, _message: FeedStarted) -> None:
        self.feed_started = True
        self._tick()

    def _tick(self) -> None:
        if not self.feed_started or self._building:
            return
        due = self.clock() - self._shown_at >= self.age_refresh_seconds
        if self.feed.version != self._shown_version or due:
            self._building = True
            self.build_snapshot()

    @work(thread=True, exclusive=True, exit_on_error=False, group="snapshot")
    def build_snapshot(self) -> None:
        """Build a snapshot from the feed's caches (no I/O) off the UI thread."""
        try:
            version = self.feed.version
            self.post_message(SnapshotReady(self.feed.snapshot(), version))
        finally:
            self._building = False

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self.apply_snapshot(message.snapshot, message.version)

    def apply_snapshot(self, snap: StatusSnapshot, version: int = 0) -> None:
        """Show ``snap`` in the banner and every pane (only changed cells are redrawn)."""
        self.last_snapshot = snap
        self._shown_version = version
        self._shown_at = self.clock()
        now = self.now()
        self._banner.show(snap, now, self.env_filter)
        for pane in self._panes:
            pane.show(snap, now, self.env_filter)
        for banner in self.screen.query(ReadOnlyBanner):
            banner.show(snap, now, self.env_filter)
        refresh_title = getattr(self.screen, "refresh_title", None)  # the workload screen, when open
        if callable(refresh_title):
            refresh_title()
        self.snapshots_applied += 1

    # --------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only looking, refreshing and quitting exist here (no screenshot, palette or theme writes)."""
        if action not in READ_ONLY_ACTIONS:
            return False
        if action in ("show_pane", "cycle_env") and len(self.screen_stack) > 1:
            return False  # the panes are behind the workload screen: Esc first
        return True

    def action_refresh(self) -> None:
        """Re-read everything now (re-list every kind, probe the API, re-read state and locks)."""
        self.notify("refreshing: re-reading the cluster and the state (read-only)", timeout=2)
        self.refresh_feed()

    @work(thread=True, exclusive=True, exit_on_error=False, group="refresh")
    def refresh_feed(self) -> None:
        """Ask the feed to re-read (closing watches is I/O: off the UI thread)."""
        self.feed.refresh_now()

    def action_show_pane(self, pane: str) -> None:
        """Switch to a pane (1-5)."""
        if pane in PANES:
            self.query_one("#panes", TabbedContent).active = pane
            # Now, not on TabActivated (nor with focus(), which is queued too): a key typed right after
            # (``3`` then Enter) is already queued and would reach the table left behind.
            for shown in self._panes:
                if shown.id == f"{pane}-pane":
                    self.screen.set_focus(shown.table)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # Keys go to the visible pane's table (arrows move, Enter opens a workload).
        pane_id = event.pane.id or ""
        for pane in self._panes:
            if pane.id == f"{pane_id}-pane":
                pane.table.focus()

    def action_cycle_env(self) -> None:
        """Show all environments, then each one in turn (a view filter; nothing is changed)."""
        choices: list[str | None] = [None, *self.envs]
        index = choices.index(self.env_filter) if self.env_filter in choices else 0
        self.env_filter = choices[(index + 1) % len(choices)]
        self.notify(f"showing {'all environments' if self.env_filter is None else 'env ' + self.env_filter}",
                    timeout=2)
        if self.last_snapshot is not None:
            self.apply_snapshot(self.last_snapshot, self._shown_version)

    def on_stacks_pane_workload_chosen(self, message: StacksPane.WorkloadChosen) -> None:
        from screens.status_workload import WorkloadScreen

        self.push_screen(WorkloadScreen(self.feed, message.env, message.stack, message.workload, clock=self.clock))

    # ---------------------------------------------------------------- errors
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors are handled: the error modal (message and remedy)."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.show_error(event.worker.error)

    def show_error(self, error: BaseException, title: str = "Status could not read something") -> None:
        """Open the error modal for ``error`` (never a traceback)."""
        from screens.app import describe_error, keep_details
        from screens.error_modal import ErrorModal

        message, remedy = describe_error(error)
        keep_details(self, error, log)
        self.push_screen(ErrorModal(title, message, remedy))

    def on_unmount(self) -> None:
        self.feed.stop()


def build_status_app(config_path: Path | str, environ: Mapping[str, str] | None = None, *,
                     options: StatusOptions | None = None, feed: StatusFeed | None = None,
                     clock: Callable[[], float] = time.time, tick_seconds: float = 1.0) -> StatusApp:
    """The status app for ``config_path`` (loaded now: a bad config raises ``ConfigError`` here).

    ``environ``: the environment to read credentials from (default: this process's; the wizard
    passes the rehearsal's). ``feed``: read from this instead of a live :class:`StatusSource`.
    """
    options = options or StatusOptions()
    path = Path(config_path)
    cfg = load_status_config(path)
    envs = list(options.envs or cfg.environments)
    if feed is None:
        feed = StatusSource(cfg, config_path=path, environ=dict(os.environ if environ is None else environ),
                            options=options, clock=clock)
    return StatusApp(feed, config_path=path, envs=envs, clock=clock, tick_seconds=tick_seconds,
                     age_refresh_seconds=options.refresh_seconds)


def run_status_app(config_path: Path | str, environ: Mapping[str, str] | None = None, *,
                   options: StatusOptions | None = None) -> None:
    """Run the status app in this terminal until the operator quits."""
    build_status_app(config_path, environ, options=options).run()
