"""Saved plan files: they hold variable values in clear text, so they live in private directories,
are named after the process that made them, and a run removes those whose process is gone (a run
that was killed never deleted its own)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from gfwizard.journal_process import pid_alive

#: ``<run id>-p<pid>.tfplan``: whose process made the plan.
_OWNER = re.compile(r"-p(\d+)\.tfplan$")
#: A plan file named without its process (an older gfwizard) counts as abandoned after this long.
UNOWNED_AGE_SECONDS = 3600.0


def plan_name(run_id: str, pid: int | None = None) -> str:
    """The file name of a run's saved plan."""
    return f"{run_id}-p{os.getpid() if pid is None else pid}.tfplan"


def process_started_at(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), from ``/proc``; None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        ticks = float(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime, counted after "(comm)"
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _owner_alive(pid: int, plan: Path) -> bool:
    """True when the process that wrote ``plan`` still runs: ``pid`` is alive and was not started after
    the plan was written (a pid the system handed to a newer process since does not count)."""
    if not pid_alive(pid):
        return False
    started = process_started_at(pid)
    return started is None or started <= plan.stat().st_mtime + 1


def sweep_stale_plans(directory: Path, keep: Path, now: float | None = None) -> list[Path]:
    """Delete the saved plans in ``directory`` whose process is gone (never ``keep``); returns them."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    for path in directory.glob("*.tfplan"):
        if path == keep:
            continue
        owner = _OWNER.search(path.name)
        try:
            if owner is not None:
                if _owner_alive(int(owner.group(1)), path):
                    continue
            elif now - path.stat().st_mtime < UNOWNED_AGE_SECONDS:
                continue
            path.unlink()
        except FileNotFoundError:
            continue  # its own run removed it meanwhile
        removed.append(path)
    return removed
