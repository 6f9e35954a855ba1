"""The stacks pane: per environment and stack, the state object (serial, age), the last apply from
the journal, and each workload's ready/desired, restarts and crash-looping pods. Enter on a
workload opens its pods and logs.

Its columns fit the width: when they do not, the headers shorten (``Apply``, ``Rst``, ``Crash``), then the
ages lose their ``ago``, then the crash-looping pods are counted instead of named, then counted in the
restarts' column, and last the workload's name is elided (Enter shows it whole). The stack's State and
Last apply and the workload's Ready are never elided, and come first: at worst the workload's own columns
are what a narrow screen cuts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from gfwizard.commands._common import with_config
from gfwizard.status_model import StatusSnapshot, WorkloadRow
from gfwizard.status_text import SOURCE_NOTE, last_apply, stack_state, workload_ready
from gfwizard.textfit import cell_width, elide
from screens.status_pane import StatusPane
from screens.status_table import Cell, ColumnSpec, DiffTable, Row, cell_text


@dataclass(frozen=True)
class Level:
    """How far the Stacks pane shortens its cells to fit the width (each level keeps the ones before)."""

    #: Ages without ``ago`` (``serial 7, 30m``, ``applied 30m``).
    short_times: bool = False
    #: Crash-looping pods counted, not named, and no ``(no state)`` after a name (its State says so).
    count_crashes: bool = False
    #: No CrashLoop column: a crash-looping workload's restarts read ``14 crash``.
    merge_crashes: bool = False


#: Full cells, then short headers, short ages, counted crashes, restarts and crashes in one column.
LEVELS = (Level(), Level(), Level(short_times=True), Level(short_times=True, count_crashes=True),
          Level(short_times=True, count_crashes=True, merge_crashes=True))
#: The headers from level 1 on.
SHORT_LABELS = {"apply": "Apply", "restarts": "Rst", "crash": "Crash"}
#: The least a workload's name is elided to.
WORKLOAD_MIN = 8


def elide_workload(text: str, width: int) -> str:
    """``namespace/name`` in ``width``: the namespace goes first (``…/name``), then the middle."""
    if cell_width(text) <= width:
        return text
    _, slash, name = text.partition("/")
    if slash and cell_width(name) + 2 <= width:
        return "…/" + name
    return elide(text, width, middle=True)


class StacksTable(DiffTable):
    """The stacks table: Enter says in the footer what it does here (the events pane's does too)."""

    BINDINGS = [Binding("enter", "select_cursor", "Workload", tooltip="The workload under the cursor: pods and log")]


class StacksPane(StatusPane):
    """Stacks and their workloads."""

    PANE = "stacks"
    TABLE = StacksTable
    # What the stack is (state, last apply), then each workload's Ready before its name: a name of any length
    # comes after them, so it is what gets cut, never ``NO STATE, yet running``, ``missing (0/1)`` or the last
    # apply. ``status --once`` has the same order.
    COLUMNS = (("Env", "env"), ("Stack", "stack"), ("State", "state"), ("Last apply", "apply"), ("Ready", "ready"),
               ("Workload", "workload"), ("Restarts", "restarts"), ("CrashLoop", "crash"))
    EMPTY = "no stacks in this environment"
    PROBLEMS = ("workload-below-desired", "crash-looping")

    @dataclass
    class WorkloadChosen(Message):
        """The operator pressed Enter on a workload row."""

        env: str
        stack: str
        workload: WorkloadRow

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._workloads: dict[str, tuple[str, str, WorkloadRow]] = {}

    def rows(self, snap: StatusSnapshot, now: datetime, env: str | None) -> list[Row]:
        return self._rows(snap, now, env, 0)

    def fit(self, snap: StatusSnapshot, now: datetime, env: str | None) -> tuple[list[Row], list[ColumnSpec]]:
        """The rows and fixed-width columns for the screen's width: the first of :data:`LEVELS` that fits,
        else the last with the workload's name elided."""
        for level in range(len(LEVELS)):
            rows = self._rows(snap, now, env, level)
            columns = [(SHORT_LABELS.get(key, label) if level else label, key) for label, key in self.COLUMNS
                       if not (key == "crash" and LEVELS[level].merge_crashes)]
            widths, spare = self.widths_and_spare(rows, columns)
            if spare >= 0:
                break
        at = [key for _, key in columns].index("workload")
        if spare < 0 and widths[at] > WORKLOAD_MIN:
            widths[at] = max(WORKLOAD_MIN, widths[at] + spare)
            rows = [(key, (*cells[:at], elide_workload(cell_text(cells[at]), widths[at]), *cells[at + 1:]))
                    for key, cells in rows]
        return rows, [(label, key, w) for (label, key), w in zip(columns, widths)]

    def _rows(self, snap: StatusSnapshot, now: datetime, env: str | None, level: int) -> list[Row]:
        how = LEVELS[level]
        rows: list[Row] = []
        workloads: dict[str, tuple[str, str, WorkloadRow]] = {}
        for s in snap.stacks:
            if env is not None and s.env != env:
                continue
            shown_state = stack_state(s, now, short=how.short_times)
            state: Cell = (shown_state, "bold red" if s.source == "untracked" else "red") \
                if s.state.error or s.source == "untracked" else shown_state
            applied = last_apply(s, now, short=how.short_times)
            apply_cell: Cell = (applied, "red") if s.last_apply and s.last_apply.outcome in (
                "failed", "interrupted", "started", "locked", "gate-failed") else applied
            if not s.workloads:  # the State cell next to it says why (not applied, unreadable)
                cells: tuple[Cell, ...] = (s.env, s.stack, state, apply_cell, "-", "-", "-", "-")
                rows.append((f"{s.env}/{s.stack}", cells[:-1] if how.merge_crashes else cells))
                continue
            for w in s.workloads:
                key = f"{s.env}/{s.stack}/{w.kind}/{w.namespace}/{w.name}"
                ready: Cell = (workload_ready(w, s.source), "yellow" if not w.known or (
                    s.source in ("defaults", "untracked") and not w.found) else "bold red" if w.below_desired else "bold green")
                shown_restarts = str(w.restarts) if w.pods_known else "?"
                crash: Cell = (str(len(w.crash_looping)) if how.count_crashes else ",".join(w.crash_looping),
                               "bold red") if w.crash_looping else "-"
                restarts: Cell = ("?", "yellow") if not w.pods_known else \
                    (shown_restarts, "yellow") if w.restarts else "0"
                # The State next to it already says why the list is not the state's (NO STATE, unreadable).
                label = f"{w.namespace}/{w.name}" + ("" if how.count_crashes else SOURCE_NOTE.get(s.source, ""))
                if how.merge_crashes:
                    if w.crash_looping:
                        restarts = (f"{shown_restarts} crash", "bold red")
                    rows.append((key, (s.env, s.stack, state, apply_cell, ready, label, restarts)))
                else:
                    rows.append((key, (s.env, s.stack, state, apply_cell, ready, label, restarts, crash)))
                workloads[key] = (s.env, s.stack, w)
        self._workloads = workloads
        return rows

    def own_notes(self, snap: StatusSnapshot, env: str | None) -> list[str]:
        """One line naming the stacks that run without state, and what to do: before the workloads' remedies,
        as "do not deploy" is the one that must not be missed."""
        untracked = [s for s in snap.stacks if s.source == "untracked" and env in (None, s.env)]
        if not untracked:
            return []
        envs = {s.env for s in untracked}
        env = next(iter(envs)) if len(envs) == 1 else "<env>"
        one = len(untracked) == 1
        stack = untracked[0].stack
        return [with_config(
            f"NO STATE, yet running: {', '.join(f'{s.env}/{s.stack}' for s in untracked)} — "
            + ("do not deploy it yet" if one else "deploy none of them yet")
            + f" (an apply without the state would create it all again); if {'its' if one else 'their'} state "
            f"is still on the GitLab HTTP backend, move it with `gfwizard backend migrate --env {env}"
            f"{f' --stack {stack}' if one else ''}`; if it was deleted, restore the previous version of the "
            "state object (the bucket is versioned)")]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = str(event.row_key.value)
        chosen = self._workloads.get(key)
        if chosen is not None:
            self.post_message(self.WorkloadChosen(*chosen))
        else:  # a stack without workloads to open: say so rather than ignore the key
            self.app.notify(f"{key} has no workload to open: its State says why", timeout=3)
