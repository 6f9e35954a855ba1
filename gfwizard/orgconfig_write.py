"""Writing ``organization.yaml`` to disk: atomic, the previous file kept as ``.bak``, never half done.

The new file and the backup are staged (temp file, fsync) before anything is renamed, so a full disk
fails with the file, its ``.bak`` and the directory as they were; a read-only file, a symlink loop or a
directory in the way is refused with what to do. Writers hold an exclusive ``flock`` on the directory,
and a caller that showed a diff passes the text it diffed against: a file changed since is not
overwritten (:class:`ConfigChangedError`).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from gfwizard.errors import InputError

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig


def backup_path(path: Path) -> Path:
    """Where the previous file is kept: ``organization.yaml.bak`` next to it; when ``path`` is a symlink, next to
    the file it points to, which is the one a write replaces (:func:`save_config` writes through the link)."""
    path = Path(path).expanduser()
    if path.is_symlink():
        path = _symlink_target(path) or path
    return path.with_name(path.name + ".bak")


class ConfigChangedError(InputError):
    """The file changed on disk after it was read (and its diff shown): nothing was written."""


#: How long a writer waits for another gfwizard writing the same directory's config.
LOCK_WAIT_SECONDS = 10.0

_UNSET: Any = object()


def read_existing(path: Path | str) -> str | None:
    """The text of the config at ``path`` exactly as stored (no newline translation), None when there is
    no file; InputError when the path is a directory, unreadable, a symlink loop or too large."""
    from gfwizard.orgconfig_yaml import read_config_text

    path = Path(path).expanduser()
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink() and not path.exists() and _symlink_target(path) is not None:
        return None  # a dangling symlink: the write creates its target
    return read_config_text(path)


def save_config(cfg: "OrgConfig", path: Path | str, *, expected: str | None = _UNSET) -> Path:
    """Write ``cfg`` to ``path`` atomically, keeping the previous file as ``.bak``; an unchanged
    config leaves the file (and the backup) untouched. Returns the path written.

    ``expected`` is the file's text the caller showed a diff against (None: there was no file): when
    the file now holds something else, :class:`ConfigChangedError` and nothing is written. A failed
    write (full disk, read-only file, another writer) leaves the file, its ``.bak`` and the directory
    as they were.
    """
    from gfwizard.orgconfig_save import render_config
    from gfwizard.orgconfig_yaml import ConfigError, read_config_text

    path = Path(path).expanduser()
    if path.is_symlink():
        target = _symlink_target(path)
        if target is None:
            raise InputError(f"cannot write {path}: it is a symlink that loops (or its chain is too long); "
                             "nothing was written",
                             remedy=f"point it at the real organization.yaml (`ls -l {path}`), or pass --config "
                                    "with the file itself")
        path = target
    if not path.parent.is_dir():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(path.parent, exc) from None
    with _writer_lock(path):
        existing: str | None = None
        if path.exists():
            try:
                existing = read_config_text(path)
            except ConfigError:
                existing = None  # not UTF-8: replaced (and kept as .bak) like any invalid file
        if expected is not _UNSET and existing != expected:
            raise ConfigChangedError(
                f"{path} changed on disk after it was read (another editor or gfwizard wrote it); "
                "nothing was written",
                remedy="look at the file as it is now; writing again shows the diff against it")
        text = render_config(cfg, existing)
        if existing is not None and text == existing:
            return path
        if path.exists():
            _refuse_read_only(path)
        _replace(path, text.encode("utf-8"))
    return path


def check_writable(path: Path | str) -> None:
    """InputError when ``path`` plainly cannot be written: a read-only file, a file where a directory should
    be, or a directory that is not writable. Asked before the questions, so an operator does not answer
    every one only to be refused at the end; :func:`save_config` still decides (and refuses) at the write."""
    path = Path(path).expanduser()
    if path.is_symlink():
        path = _symlink_target(path) or path
    if path.is_file():
        _refuse_read_only(path)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # save_config creates the missing directories under the nearest one that exists
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: {parent} is a file, where a directory should be; nothing was asked "
                         "or written", remedy="pass --config with a path whose directories are directories")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {path}: the directory {parent} is not writable by you; nothing was asked "
                         "or written",
                         remedy=f"check its permissions (`ls -ld {parent}`), or pass --config with a path in a "
                                "directory you can write")


def _symlink_target(path: Path) -> Path | None:
    """Where the symlink ``path`` finally points (None when it loops)."""
    try:
        return path.resolve(strict=False)
    except (RuntimeError, OSError):
        return None


def _refuse_read_only(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o222 and os.access(path, os.W_OK):
        return
    why = f"read-only (mode {mode:04o})" if not mode & 0o222 else "not writable by you (or marked immutable)"
    raise InputError(f"{path} is {why}; nothing was written",
                     remedy=f"if the change is meant, make it writable (`chmod u+w {path}`; `lsattr {path}` shows "
                            "an immutable flag) and write again")


def _replace(path: Path, payload: bytes) -> None:
    """Stage the new file and the backup first, then rename both: a full disk fails before either is
    touched, and when the last rename fails the old backup is put back."""
    from gfwizard.atomic import stage, sync_directory

    backup = backup_path(path)
    staged: list[Path] = []
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        try:
            new = stage(path, payload, mode)
            staged.append(new)
        except OSError as exc:
            raise _write_error(path, exc) from None
        if not path.exists():
            _rename(new, path)
            return
        if backup.is_dir():
            raise InputError(f"cannot keep the previous file as {backup}: that is a directory; nothing was "
                             "written", remedy=f"move the directory {backup} away, then write again")
        try:
            staged.append(stage(backup, path.read_bytes(), mode))
            old_backup = None
            if backup.is_file() and not backup.is_symlink():
                old_backup = stage(backup, backup.read_bytes(), backup.stat().st_mode & 0o777)
                staged.append(old_backup)
            os.replace(staged[1], backup)
        except OSError as exc:
            raise _write_error(backup, exc) from None
        try:
            _rename(new, path)
        except InputError:
            if old_backup is not None:
                os.replace(old_backup, backup)
            else:
                backup.unlink(missing_ok=True)
            raise
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
        sync_directory(path.parent)


def _rename(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _write_error(target: Path, exc: OSError) -> InputError:
    """An InputError naming ``target``, what went wrong and what to do about it (by errno)."""
    import errno

    where = target if target.is_dir() else target.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        remedy = f"free some space on the file system holding {where} (`df -h {where}`), then write again"
    elif exc.errno == errno.EROFS:
        remedy = f"{where} is on a read-only file system: pass --config with a path on a writable one"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        remedy = (f"check the permissions of {where} and {target} (`ls -ld {where} {target}`; `lsattr` shows an "
                  "immutable flag)")
    elif exc.errno in (errno.EEXIST, errno.ENOTDIR):
        return InputError(f"cannot write {target}: a file stands where its directory should be; nothing was written",
                          remedy="pass --config with a path whose directories are directories")
    else:
        remedy = "check that the directory exists and is writable"
    return InputError(f"cannot write {target}: {exc.strerror or exc}; nothing was written", remedy=remedy)


@contextmanager
def _writer_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the config's directory while reading, checking and replacing it, so
    two gfwizard writers never interleave (the directory is locked: no lock file is left behind)."""
    import fcntl
    import time

    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise InputError(f"another gfwizard has been writing {path} for {LOCK_WAIT_SECONDS:.0f}s; "
                                     "nothing was written",
                                     remedy="let it finish (or stop it), then write again") from None
                time.sleep(0.05)
            except OSError:
                break  # a file system without flock: write unlocked, as before
        yield
    finally:
        os.close(fd)  # closing drops the flock
