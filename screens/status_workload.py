"""One workload of a stack: its pods (from the live cache) and the selected pod's recent log,
followed read-only (a GET with ``follow``). Escape goes back to the panes."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Log, Static

from gfwizard.errors import GfwError
from gfwizard.redact import redact
from gfwizard.textsafe import printable, printable_log
from gfwizard.status_model import PodRow, WorkloadRow
from gfwizard.status_text import since, workload_ready
from screens.status_banner import ReadOnlyBanner
from screens.status_table import Cell, DiffTable, Row

if TYPE_CHECKING:
    from gfwizard.status import StatusFeed
    from gfwizard.status_readonly import LineStream

LOG_TAIL = 200
_FLUSH_SECONDS = 0.25


class WorkloadScreen(Screen[None]):
    """Pods and logs of one workload."""

    BINDINGS = [
        Binding("escape,b", "back", "Back"),
        Binding("r", "refresh", "Refresh"),
        Binding("c", "next_container", "Container"),
    ]
    POD_COLUMNS = (("Pod", "pod"), ("Node", "node"), ("Phase", "phase"), ("Ready", "ready"),
                   ("Restarts", "restarts"), ("Waiting", "waiting"), ("Age", "age"))

    @dataclass
    class PodsLoaded(Message):
        """The pod list was read from the cache."""

        pods: list[PodRow]

    @dataclass
    class LogLines(Message):
        """New log lines of the followed pod."""

        pod: str
        lines: list[str]

    @dataclass
    class LogsUnavailable(Message):
        """The followed pod's log could not be read."""

        pod: str
        note: str

    def __init__(self, feed: "StatusFeed", env: str, stack: str, workload: WorkloadRow,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.feed = feed
        self.env = env
        self.stack = stack
        self.workload = workload
        self.clock = clock
        self.pods: list[PodRow] = []
        self.following: tuple[str, str] | None = None
        self._stream: "LineStream | None" = None
        self._stream_lock = threading.Lock()
        #: Where the workload list came from (``state``, ``defaults``), for how a missing object reads.
        self.source = "state"
        self._shown_title = ""

    def _title(self) -> str:
        w = self.workload
        return (f"{self.env}/{self.stack} · {w.kind} {w.namespace}/{w.name} · "
                f"{workload_ready(w, self.source)} ready")

    def refresh_title(self) -> None:
        """Take the workload's ready/desired from the app's latest snapshot and redraw the title."""
        snap = getattr(self.app, "last_snapshot", None)
        w = self.workload
        for stack in snap.stacks if snap is not None else ():
            if (stack.env, stack.stack) != (self.env, self.stack):
                continue
            found = next((x for x in stack.workloads if (x.kind, x.namespace, x.name) == (w.kind, w.namespace,
                                                                                           w.name)), None)
            if found is not None:
                self.workload, self.source = found, stack.source
        text = self._title()
        if text != self._shown_title:
            self._shown_title = text
            self.query_one("#workload-title", Static).update(text)

    def compose(self) -> ComposeResult:
        yield Header()
        yield ReadOnlyBanner("", id="banner", classes="banner-readonly", markup=False)
        yield Static(self._title(), id="workload-title", classes="pane-title", markup=False)
        yield DiffTable(self.POD_COLUMNS, id="pods-table")
        yield Static("log: select a pod", id="log-title", classes="pane-notes", markup=False)
        yield Log(max_lines=500, id="pod-log", auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        banner = self.query_one(ReadOnlyBanner)
        banner.show(getattr(self.app, "last_snapshot", None), self._now(), None)
        self.refresh_title()
        self.load_pods()
        self.set_interval(1.0, self.load_pods)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    # ------------------------------------------------------------------ pods
    @work(thread=True, exclusive=True, exit_on_error=False, group="pods")
    def load_pods(self) -> None:
        """Read the workload's pods from the live cache (no I/O)."""
        w = self.workload
        self.post_message(self.PodsLoaded(self.feed.workload_pods(w.namespace, w.kind, w.name)))

    def on_workload_screen_pods_loaded(self, message: PodsLoaded) -> None:
        self.pods = message.pods
        self.refresh_title()
        now = self._now()
        rows: list[Row] = []
        for p in message.pods:
            ready: Cell = ("yes", "green") if p.ready else ("no", "bold red")
            waiting: Cell = (p.waiting_reason, "bold red") if p.waiting_reason else "-"
            rows.append((p.name, (p.name, p.node or "-", p.phase or "-", ready, str(p.restarts), waiting,
                                  since(p.created, now))))
        table = self.query_one("#pods-table", DiffTable)
        table.sync(rows)
        if self.following is None and self.pods:
            self._follow(self.pods[0], 0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = str(event.row_key.value) if event.row_key is not None else ""
        pod = next((p for p in self.pods if p.name == name), None)
        if pod is not None and (self.following is None or self.following[0] != pod.name):
            self._follow(pod, 0)

    # ------------------------------------------------------------------ logs
    def _follow(self, pod: PodRow, container_index: int) -> None:
        container = pod.containers[container_index % len(pod.containers)] if pod.containers else ""
        self.following = (pod.name, container)
        self._close_stream()
        self.query_one("#pod-log", Log).clear()
        self.query_one("#log-title", Static).update(f"log of {pod.name}/{container} (following, read-only)")
        self.follow_logs(pod.namespace, pod.name, container)

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs")
    def follow_logs(self, namespace: str, pod: str, container: str) -> None:
        """Stream the pod's log into the log view (lines batched every quarter second)."""
        try:
            stream = self.feed.open_logs(namespace, pod, container, tail=LOG_TAIL)
        except GfwError as exc:
            note = f"could not read: pods/log ({exc.status})" if getattr(exc, "status", None) else exc.message
            self.post_message(self.LogsUnavailable(pod, printable(redact(note))))
            return
        with self._stream_lock:
            self._stream = stream
        batch: list[str] = []
        flushed = time.monotonic()
        try:
            for line in stream:
                batch.append(printable_log(redact(line.decode("utf-8", "replace"))))
                if time.monotonic() - flushed >= _FLUSH_SECONDS or len(batch) >= 200:
                    self.post_message(self.LogLines(pod, batch))
                    batch, flushed = [], time.monotonic()
        except GfwError:
            pass  # closed because the selection changed or the screen closed
        finally:
            if batch:
                self.post_message(self.LogLines(pod, batch))
            stream.close()

    def on_workload_screen_log_lines(self, message: LogLines) -> None:
        if self.following is not None and self.following[0] == message.pod:
            self.query_one("#pod-log", Log).write_lines(message.lines)

    def on_workload_screen_logs_unavailable(self, message: LogsUnavailable) -> None:
        if self.following is not None and self.following[0] == message.pod:
            self.query_one("#log-title", Static).update(f"log of {message.pod}: {message.note}")

    def _close_stream(self) -> None:
        with self._stream_lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    # --------------------------------------------------------------- actions
    def action_back(self) -> None:
        """Back to the panes (the log stream is closed)."""
        self._close_stream()
        self.dismiss(None)

    def action_refresh(self) -> None:
        """Reload the pods and restart the log from its tail."""
        self.load_pods()
        if self.following is not None:
            pod = next((p for p in self.pods if p.name == self.following[0]), None)
            if pod is not None:
                index = pod.containers.index(self.following[1]) if self.following[1] in pod.containers else 0
                self._follow(pod, index)

    def action_next_container(self) -> None:
        """Follow the next container of the selected pod."""
        if self.following is None:
            return
        pod = next((p for p in self.pods if p.name == self.following[0]), None)
        if pod is not None and pod.containers:
            index = pod.containers.index(self.following[1]) if self.following[1] in pod.containers else -1
            self._follow(pod, index + 1)

    def on_unmount(self) -> None:
        self._close_stream()
