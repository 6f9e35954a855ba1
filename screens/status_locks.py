"""The state locks pane: who holds which lock, doing what, since when (old locks in red)."""

from __future__ import annotations

from datetime import datetime

from gfwizard.status_model import StatusSnapshot
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
    # The holder is the last column (cut at 80 columns) and the table has no remedy: both are said for each
    # old lock, wrapped, above the table.
    PROBLEMS = ("old-lock",)
    PROBLEM_PREFIX = "OLD "

    def own_notes(self, snap: StatusSnapshot, env: str | None) -> list[str]:
        """What OLD means here: held longer than the snapshot's threshold."""
        return [f"locks held longer than {duration(snap.lock_age_threshold_minutes * 60)} are marked OLD"]

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
