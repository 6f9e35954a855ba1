"""Whether the process that wrote an unfinished journal entry still runs (read-only: ``/proc`` and signal 0).

A journal entry names its process by pid and ``user@host``; new entries also record the process's
identity on its host (:func:`process_token`: the boot id and the start time in clock ticks, both from
``/proc``), so a pid the system has since handed to another process is not taken for the run. Neither
clock changes nor a reboot can make two processes share a token. Entries without a token (an older
gfwizard) are judged by the pid alone: a live pid counts as the run, never wrongly as gone.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Mapping, TypeVar

if TYPE_CHECKING:
    from gfwizard.journal import JournalEntry

K = TypeVar("K")

#: ``running``: the process is alive on this host; ``gone``: it is not (or its pid now belongs to another
#: process); ``elsewhere``: it ran on another host, whose processes cannot be seen from here; ``unknown``:
#: the entry names no process.
RunState = Literal["running", "gone", "elsewhere", "unknown"]


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists on this machine (it may belong to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_token(pid: int) -> str:
    """``<boot id>:<start time in clock ticks>`` of process ``pid``, or "" where ``/proc`` cannot say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = stat.rsplit(")", 1)[1].split()[19]  # field 22, starttime, counted after "(comm)"
    except (OSError, IndexError):
        return ""
    return f"{boot}:{ticks}" if boot and ticks.isdigit() else ""


def operator_host(operator: str) -> str:
    """The host of a journal entry's ``user@host`` operator ("" when it names none)."""
    return operator.rpartition("@")[2] if "@" in operator else ""


def run_state(pid: int, operator: str, token: str = "", host: str | None = None) -> RunState:
    """What became of the process ``pid`` that ``operator`` (``user@host``) ran, as seen from ``host``
    (default: this machine's name); ``token``: its :func:`process_token` when the entry recorded one."""
    where = operator_host(operator)
    if pid <= 0 or not where:
        return "unknown"
    if where != (socket.gethostname() if host is None else host):
        return "elsewhere"
    if not pid_alive(pid):
        return "gone"
    if token:
        now = process_token(pid)
        if now and now != token:
            return "gone"
    return "running"


def unfinished_runs(applies: Mapping[K, "JournalEntry"]) -> dict[K, RunState]:
    """The :func:`run_state` of each entry of ``applies`` that started and recorded no outcome."""
    return {key: run_state(e.pid, e.operator, e.pid_token) for key, e in applies.items() if e.outcome == "started"}
