"""The state locks pane: who holds which lock, doing what, since when (old locks in red)."""

from __future__ import annotations

from datetime import datetime

from gfwizard.status_model import StatusSnapshot, problem_remedy
from gfwizard.durations import duration
from screens.status_pane import StatusPane
from screens.status_table import Row


class LocksPane(StatusPane):
    """Held ``.tflock`` objects of the shown environments."""

    PANE = "locks"
    # Age (OLD) and the lock id (what force-unlock takes) first: at 80 columns they must not sit to the
    # right of a long holder name.
    COLUMNS = (("Env", "env"), ("Stack", "stack"), ("Age", "age"), ("Lock ID", "id"), ("Operation", "operation"),
               ("Holder", "who"))
    EMPTY = "no state lock held"

    def notes(self, snap: StatusSnapshot, rows: list[Row], env: str | None) -> list[str]:
        out = super().notes(snap, rows, env)
        out.append(f"locks held longer than {duration(snap.lock_age_threshold_minutes * 60)} are marked OLD")
        # The holder is the last column (cut at 80 columns) and the table has no remedy: say both for each
        # old lock, wrapped, above the table.
        for p in snap.problems:
            if p.kind == "old-lock" and (env is None or p.subject.split("/", 1)[0] == env):
                out.append(f"OLD {p.subject}: {p.detail}; remedy: {problem_remedy(p)}")
        return out

    def rows(self, snap: StatusSnapshot, now: datetime, env: str | None) -> list[Row]:
        rows: list[Row] = []
        for lk in snap.locks:
            if env is not None and lk.env != env:
                continue
            seconds = (now - lk.created).total_seconds() if lk.created else lk.age_seconds
            old = seconds is not None and seconds > snap.lock_age_threshold_minutes * 60
            shown_age = (duration(seconds) + " OLD", "bold red") if old else duration(seconds)
            rows.append((f"{lk.env}/{lk.stack}/{lk.id}", (lk.env, lk.stack, shown_age, lk.id or (lk.error, "red"),
                                                          lk.operation.removeprefix("OperationType") or "?",
                                                          lk.who or "?")))
        return rows
