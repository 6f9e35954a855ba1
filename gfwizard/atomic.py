"""Atomic file writes: a reader sees the old file or the new one, never a torn one.

Every file gfwizard writes (organization.yaml, backend files, the rehearsal kubeconfig, caches) goes
through :func:`atomic_write`: a temp file in the same directory (created 0600), fsync, chmod, then
``os.replace``. A process killed mid-write can only leave a ``.<name>.*.tmp`` beside the target;
the next write of that target removes such leftovers once they are old enough to be nobody's.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

#: A temp file older than this is a leftover of a killed writer, not a write in progress.
STALE_TEMP_SECONDS = 600.0


def atomic_write(target: Path, data: bytes | str, mode: int = 0o644, *, sync_dir: bool = True) -> None:
    """Replace ``target`` with ``data`` atomically (the directory must exist)."""
    tmp = stage(target, data, mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        _fsync_dir(target.parent)


def stage(target: Path, data: bytes | str, mode: int = 0o644) -> Path:
    """Write ``data`` to a temp file beside ``target`` (fsynced, ``mode`` set) and return its path.

    The caller moves it into place with ``os.replace`` (and removes it if it does not): staging every
    file of a multi-file update first means a full disk fails before anything is replaced.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    _sweep_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if mode != 0o600:
            os.chmod(tmp_name, mode)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return Path(tmp_name)


def sync_directory(directory: Path) -> None:
    """fsync ``directory`` so renames in it survive a crash (best effort)."""
    _fsync_dir(directory)


def write_if_changed(target: Path, data: bytes | str, mode: int = 0o644) -> bool:
    """Atomically write ``data`` unless ``target`` already holds exactly it (then its mtime is kept).

    Creates missing parent directories. Returns True when the file was written.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if holds(target, payload):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, payload, mode)
    return True


def holds(target: Path, data: bytes | str) -> bool:
    """True when ``target`` exists and holds exactly ``data`` (what :func:`write_if_changed` would skip)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        return target.read_bytes() == payload
    except OSError:
        return False


def _sweep_stale_temps(target: Path) -> None:
    cutoff = time.time() - STALE_TEMP_SECONDS
    try:
        leftovers = list(target.parent.glob(f".{target.name}.*.tmp"))
    except OSError:
        return
    for leftover in leftovers:
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            pass


def _fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
