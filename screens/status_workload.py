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
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Log, Static

from gfwizard.errors import GfwError
from gfwizard.redact import redact
from gfwizard.textsafe import printable, printable_log
from gfwizard.status_model import PodRow, WorkloadRow
from gfwizard.status_text import clock_time, since, workload_ready
from screens.status_banner import ReadOnlyBanner
from screens.status_table import Cell, DiffTable, Row

if TYPE_CHECKING:
    from gfwizard.status import StatusFeed
    from gfwizard.status_readonly import LineStream

LOG_TAIL = 200
LOG_MAX_LINES = 500
_FLUSH_SECONDS = 0.25


class WorkloadScreen(Screen[None]):
    """Pods and logs of one workload."""

    BINDINGS = [
        Binding("escape,b", "back", "Back"),
        Binding("r", "refresh", "Refresh"),
        Binding("c", "next_container", "Container"),
    ]
    #: Seconds before the first try to follow a broken log again, and the most between two tries.
    RESUME_SECONDS: tuple[float, float] = (2.0, 30.0)
    # What is wrong with a pod (ready, waiting reason, restarts) right after its name: a real pod name takes
    # 30 columns, and at 80 the columns after it are cut (``CreateContainerConfigError`` read ``CreateCon``).
    POD_COLUMNS = (("Pod", "pod"), ("Ready", "ready"), ("Waiting", "waiting"), ("Restarts", "restarts"),
                   ("Phase", "phase"), ("Node", "node"), ("Age", "age"))

    @dataclass
    class PodsLoaded(Message):
        """The pod list was read from the cache."""

        pods: list[PodRow]

    @dataclass
    class LogsUnavailable(Message):
        """The followed pod's log could not be read."""

        pod: str
        note: str
        #: Which follow this was (a newer one makes it moot).
        generation: int = 0
        #: Worth trying again (the API did not answer), as opposed to a refusal (403).
        retry: bool = False

    @dataclass
    class LogResumed(Message):
        """The log stream is open again after it had stopped."""

        pod: str
        container: str
        generation: int

    @dataclass
    class LogStopped(Message):
        """The followed log stream stopped without being closed here."""

        pod: str
        container: str
        reason: str
        generation: int
        #: It broke (API gone, connection cut), as opposed to ending (the container stopped).
        broken: bool

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
        #: Counts follows, so a message or line from a stream replaced since is ignored.
        self._generation = 0
        #: The follow whose lines the log shows (lags :attr:`_generation` while a resume connects).
        self._shown_generation = 0
        self._pending: list[tuple[int, str]] = []
        self._pending_lock = threading.Lock()
        self._resume_failures = 0
        self._resume_timer: Timer | None = None

    def _title(self) -> str:
        w = self.workload
        title = (f"{self.env}/{self.stack} · {w.kind} {w.namespace}/{w.name} · "
                 f"{workload_ready(w, self.source)} ready")
        # The pods come from the same watches as the Stacks pane: while the API does not answer they are
        # the last ones read, and a silent API leaves the log's stream open (still saying "following").
        snap = getattr(self.app, "last_snapshot", None)
        stale = snap.stale_panes.get("cluster") if snap is not None else None  # the API, not S3
        if stale is not None:
            title += (f" · STALE since {clock_time(stale)} ({since(stale, self._now())} ago): these pods and the "
                      "log are the last read, not live")
        return title

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
        yield Log(max_lines=LOG_MAX_LINES, id="pod-log", auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        banner = self.query_one(ReadOnlyBanner)
        banner.show(getattr(self.app, "last_snapshot", None), self._now(), None)
        self.refresh_title()
        self.load_pods()
        self.set_interval(1.0, self.load_pods)
        self.set_interval(_FLUSH_SECONDS, self._flush_log)

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
        self.refresh_bindings()
        self.refresh_title()
        now = self._now()
        rows: list[Row] = []
        for p in message.pods:
            ready: Cell = ("yes", "green") if p.ready else ("no", "bold red")
            waiting: Cell = (p.waiting_reason, "bold red") if p.waiting_reason else "-"
            rows.append((p.name, (p.name, ready, waiting, str(p.restarts), p.phase or "-", p.node or "-",
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
    def _follow(self, pod: PodRow, container_index: int, *, resuming: bool = False) -> None:
        container = pod.containers[container_index % len(pod.containers)] if pod.containers else ""
        self.following = (pod.name, container)
        self.refresh_bindings()
        self._close_stream()
        self._cancel_resume()
        if not resuming:
            self._resume_failures = 0
        self._generation += 1
        if not resuming:  # a resume keeps the last lines on screen until the stream is open again
            self._shown_generation = self._generation
            self.query_one("#pod-log", Log).clear()
            self.query_one("#log-title", Static).update(f"log of {pod.name}/{container} (following, read-only)")
        self.follow_logs(pod.namespace, pod.name, container, self._generation, resuming)

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs")
    def follow_logs(self, namespace: str, pod: str, container: str, generation: int = 0,
                    resuming: bool = False) -> None:
        """Stream the pod's log into the log view (lines batched every quarter second); say when and
        why the stream stopped, unless it was closed here (another pod or container, or leaving)."""
        try:
            stream = self.feed.open_logs(namespace, pod, container, tail=LOG_TAIL)
        except GfwError as exc:
            status = getattr(exc, "status", None)
            note = f"could not read: pods/log ({status})" if status else exc.message
            if getattr(exc, "kind", "") == "api" and ": " in exc.message:
                # The server's reason (``container "attic" … is waiting to start: ContainerCreating``) is
                # what tells a pod that has not started from a broken API; the path before it says nothing.
                note += ": " + exc.message.split(": ", 1)[1]
            self.post_message(self.LogsUnavailable(pod, printable(redact(note)), generation,
                                                   retry=getattr(exc, "kind", "") not in ("forbidden", "unauthorized")
                                                   and status not in (401, 403, 404)))
            return
        with self._stream_lock:
            self._stream = stream
        if resuming:
            self.post_message(self.LogResumed(pod, container, generation))
        reason, broken = "", False
        try:
            for line in stream:
                # Collected here, written by the UI's flush timer: a line before a quiet spell shows too.
                with self._pending_lock:
                    self._pending.append((generation, printable_log(redact(line.decode("utf-8", "replace")))))
                    if len(self._pending) > 4 * LOG_MAX_LINES:  # the UI is behind: it shows the last ones only
                        del self._pending[:-LOG_MAX_LINES]
        except GfwError as exc:
            reason, broken = exc.message, True
        finally:
            stream.close()
        with self._stream_lock:
            closed_here = self._stream is not stream
            if not closed_here:
                self._stream = None
        if not closed_here:
            self.post_message(self.LogStopped(pod, container, printable(redact(reason)), generation, broken))

    def _flush_log(self) -> None:
        """Write the lines collected since the last flush (those of the current follow only)."""
        with self._pending_lock:
            if self._shown_generation != self._generation:
                return  # a resumed stream's lines wait until the old ones are cleared
            pending, self._pending = self._pending, []
        lines = [line for generation, line in pending if generation == self._generation]
        if lines:
            self.query_one("#pod-log", Log).write_lines(lines)

    def on_workload_screen_logs_unavailable(self, message: LogsUnavailable) -> None:
        if self.following is None or self.following[0] != message.pod or message.generation != self._generation:
            return
        note = f"log of {message.pod}: {message.note}"
        if message.retry:
            note += f" · retrying in {self._schedule_resume():.0f} s (r: now)"
        self.query_one("#log-title", Static).update(note)

    def on_workload_screen_log_resumed(self, message: LogResumed) -> None:
        if message.generation != self._generation:
            return
        self._shown_generation = message.generation
        self.query_one("#pod-log", Log).clear()  # the tail is read again: what was shown would be doubled
        self._flush_log()
        self.query_one("#log-title", Static).update(
            f"log of {message.pod}/{message.container} (following again, read-only)")

    def on_workload_screen_log_stopped(self, message: LogStopped) -> None:
        if self.following is None or self.following[0] != message.pod or message.generation != self._generation:
            return
        self._flush_log()
        at = self._now().strftime("%H:%M:%SZ")
        where = f"log of {message.pod}/{message.container}"
        pod = next((p for p in self.pods if p.name == message.pod), None)
        running = pod is not None and pod.phase == "Running" and not pod.waiting_reason
        if message.broken or running:
            # An operator expects the follow to come back by itself, as the panes do; an API that goes
            # away may also end the stream cleanly, so a running pod's log is followed again too.
            why = message.reason or "the API closed the stream"
            self.query_one("#log-title", Static).update(
                f"{where}: STOPPED at {at}: {why} · resuming in {self._schedule_resume():.0f} s (r: now)")
        else:
            self.query_one("#log-title", Static).update(
                f"{where}: the stream ended at {at} (the container stopped) · r reconnects")

    def _schedule_resume(self) -> float:
        """Follow the same container again after a capped, growing delay; returns the delay."""
        first, cap = self.RESUME_SECONDS
        delay = min(cap, first * 2 ** self._resume_failures)
        self._resume_failures += 1
        self._cancel_resume()
        self._resume_timer = self.set_timer(delay, self._resume)
        return delay

    def _cancel_resume(self) -> None:
        if self._resume_timer is not None:
            self._resume_timer.stop()
            self._resume_timer = None

    def _resume(self) -> None:
        self._resume_timer = None
        if self.following is None:
            return
        pod = next((p for p in self.pods if p.name == self.following[0]), None)
        if pod is None:
            self.query_one("#log-title", Static).update(f"log of {self.following[0]}: the pod is gone")
            return
        index = pod.containers.index(self.following[1]) if self.following[1] in pod.containers else 0
        self._follow(pod, index, resuming=True)

    def _close_stream(self) -> None:
        with self._stream_lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    # --------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # c is offered only when there is another container to follow (with one it only restarted the log).
        if action == "next_container":
            pod = next((p for p in self.pods if self.following and p.name == self.following[0]), None)
            return pod is not None and len(pod.containers) > 1
        return True

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
        self._cancel_resume()
        self._close_stream()
