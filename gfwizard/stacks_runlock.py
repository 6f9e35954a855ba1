"""One deploy of an environment at a time on this machine.

Two runs of one environment would share its data directories (the binary's ``TF_DATA_DIR``: backend
settings, saved plans) and its journal; the state lock only serialises their writes to the state.
So a run holds an exclusive ``flock`` on ``<journal dir>/<env>.lock`` from its first plan until it
ends. The kernel drops the lock when the process dies, so a killed run never leaves it held; the
file itself is left in place (removing a lock file races with the next run opening it). It holds
who holds it (run id, pid, host, start time), which the refusal names.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

from gfwizard.errors import CheckFailure

if TYPE_CHECKING:
    from gfwizard.layout import Layout


#: The ``kind`` a state migration takes the lock as (``gfwizard backend migrate``, the wizard's Ctrl+T); a deploy's
#: is ``deploy``.
MIGRATION_KIND = "state migration"


def env_run_lock(layout: "Layout", env: str) -> "RunLock":
    """``env``'s run lock in ``layout``: the one every deploy and every state migration of ``env`` takes (the
    command line's and the wizard's alike), so that no two of them run together."""
    return RunLock(layout.journal_file(env).with_name(f"{env}.lock"), env)


class RunLock:
    """The exclusive lock of one environment's deploys (reentrant for the run that holds it)."""

    def __init__(self, path: Path, env: str) -> None:
        self.path = path
        self.env = env
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        """Whether this run holds the lock."""
        return self._file is not None

    def acquire(self, run_id: str, holder: str = "", kind: str = "deploy") -> None:
        """Take the lock for ``run_id`` (``holder``: what runs it, e.g. ``gfwizard deploy``; ``kind``: ``deploy``,
        or ``state migration`` for ``gfwizard backend migrate``, which writes the same states) or raise
        :class:`CheckFailure` naming the run that holds it."""
        import fcntl

        if self._file is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise self._unusable(exc) from None
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read()
            holder = _describe(text)
            handle.close()
            raise CheckFailure(
                f"another {_kind(text)} run of {self.env} is running on this machine ({holder}): two runs would "
                "share its data directories and journal, and write the same states",
                remedy="wait for it to end (or stop it where it runs), then try again; the wizard's Deploy step "
                       "holds it from its first plan until its apply ends or the step is left") from None
        except BaseException:
            handle.close()
            raise
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"run_id": run_id, "holder": holder, "kind": kind, "pid": os.getpid(),
                                     "host": socket.gethostname(),
                                     "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
            handle.flush()
        except OSError as exc:
            # A full disk: the journal could not be written either, so the run stops before it starts.
            _close_quietly(handle)
            raise self._unusable(exc) from None
        self._file = handle

    def _unusable(self, exc: OSError) -> CheckFailure:
        reason = exc.strerror or type(exc).__name__
        return CheckFailure(f"the run lock {self.path} of {self.env} cannot be written: {reason}; nothing was run",
                            remedy=f"free space on (or fix the permissions of) {self.path.parent}, or move "
                                   f"{self.path} aside if it is not a file (it holds no state: only who runs a "
                                   "deploy), then try again")

    def release(self) -> None:
        """Let the next run in (closing the file drops the ``flock``)."""
        handle, self._file = self._file, None
        if handle is not None:
            handle.close()


def _close_quietly(handle: IO[str]) -> None:
    """Close ``handle`` (dropping its ``flock``) even when flushing what is buffered fails."""
    try:
        handle.close()
    except OSError:
        pass  # the flush of what is buffered failed again; the file is closed all the same


def _kind(text: str) -> str:
    """What kind of run holds the lock (``deploy`` when the lock file does not say: older runs wrote none)."""
    try:
        kind = json.loads(text).get("kind")
    except (ValueError, AttributeError):
        return "deploy"
    return kind if isinstance(kind, str) and kind else "deploy"


def _describe(text: str) -> str:
    """``run R, pid P on H since T`` from the lock file's content (what can be read of it)."""
    try:
        holder = json.loads(text)
    except ValueError:
        return "holder unknown"
    if not isinstance(holder, dict):
        return "holder unknown"
    what = f"{holder['holder']}: " if isinstance(holder.get("holder"), str) and holder["holder"] else ""
    return (f"{what}run {holder.get('run_id', '?')}, pid {holder.get('pid', '?')} on {holder.get('host', '?')} "
            f"since {holder.get('started', '?')}")
