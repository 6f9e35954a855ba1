"""The stacks pane: per environment and stack, the state object (serial, age), the last apply from
the journal, and each workload's ready/desired, restarts and crash-looping pods. Enter on a
workload opens its pods and logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message
from textual.widgets import DataTable

from gfwizard.commands._common import with_config
from gfwizard.status_model import StatusSnapshot, WorkloadRow
from gfwizard.status_text import SOURCE_NOTE, last_apply, stack_state, workload_ready
from screens.status_pane import StatusPane
from screens.status_table import Cell, Row


class StacksPane(StatusPane):
    """Stacks and their workloads."""

    PANE = "stacks"
    # What the stack is (state, last apply), then each workload's Ready before its name: a name of any length
    # comes after them, so it is what gets cut, never ``NO STATE, yet running``, ``missing (0/1)`` or the last
    # apply. ``status --once`` has the same order.
    COLUMNS = (("Env", "env"), ("Stack", "stack"), ("State", "state"), ("Last apply", "apply"), ("Ready", "ready"),
               ("Workload", "workload"), ("Restarts", "restarts"), ("CrashLoop", "crash"))
    EMPTY = "no stacks in this environment"

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
        rows: list[Row] = []
        workloads: dict[str, tuple[str, str, WorkloadRow]] = {}
        for s in snap.stacks:
            if env is not None and s.env != env:
                continue
            state: Cell = (stack_state(s, now), "bold red" if s.source == "untracked" else "red") \
                if s.state.error or s.source == "untracked" else stack_state(s, now)
            applied = last_apply(s, now)
            apply_cell: Cell = (applied, "red") if s.last_apply and s.last_apply.outcome in (
                "failed", "interrupted", "started", "locked", "gate-failed") else applied
            if not s.workloads:  # the State cell next to it says why (not applied, unreadable)
                rows.append((f"{s.env}/{s.stack}", (s.env, s.stack, state, apply_cell, "-", "-", "-", "-")))
                continue
            for w in s.workloads:
                key = f"{s.env}/{s.stack}/{w.kind}/{w.namespace}/{w.name}"
                ready: Cell = (workload_ready(w, s.source), "yellow" if not w.known or (
                    s.source in ("defaults", "untracked") and not w.found) else "bold red" if w.below_desired else "bold green")
                crash: Cell = (",".join(w.crash_looping), "bold red") if w.crash_looping else "-"
                restarts: Cell = ("?", "yellow") if not w.pods_known else \
                    (str(w.restarts), "yellow") if w.restarts else "0"
                label = f"{w.namespace}/{w.name}" + SOURCE_NOTE.get(s.source, "")
                rows.append((key, (s.env, s.stack, state, apply_cell, ready, label, restarts, crash)))
                workloads[key] = (s.env, s.stack, w)
        self._workloads = workloads
        return rows

    def notes(self, snap: StatusSnapshot, rows: list[Row], env: str | None) -> list[str]:
        """What could not be read, then one line naming the stacks that run without state, and what to do."""
        out = super().notes(snap, rows, env)
        untracked = [s for s in snap.stacks if s.source == "untracked" and env in (None, s.env)]
        if untracked:
            envs = {s.env for s in untracked}
            env = next(iter(envs)) if len(envs) == 1 else "<env>"
            stack = untracked[0].stack if len(untracked) == 1 else "<stack>"
            each = "" if len(untracked) == 1 else " for each"
            out.append(with_config(
                f"NO STATE, yet running: {', '.join(f'{s.env}/{s.stack}' for s in untracked)} — deploy none of "
                "them yet (an apply without the state would create it all again); if their state is still on the "
                f"GitLab HTTP backend, move it with `gfwizard backend migrate --env {env} --stack {stack}`{each}"))
        return out

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        chosen = self._workloads.get(str(event.row_key.value))
        if chosen is not None:
            self.post_message(self.WorkloadChosen(*chosen))
