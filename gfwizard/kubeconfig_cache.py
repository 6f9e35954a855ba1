"""Summaries of candidate files, cached by ``(path, mtime_ns, ctime_ns, size, inode, device)``.

Two layers: an in-process dict, and a small JSON file under ``state_dir()/cache/`` so that the
next ``gfwizard discover`` skips parsing files that have not changed. Only summaries are cached
(see :class:`gfwizard.kubeconfig_files.FileSummary`): context, cluster and user names, servers
without credentials, kinds of auth, exec command base names and certificate expiry dates. Never a
token, key, password or exec argument. Set ``GFW_DISCOVER_CACHE=0`` to bypass the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from gfwizard import __version__
from gfwizard.atomic import atomic_write
from gfwizard.kubeconfig_files import FileStatus, FileSummary, StatKey, memo_get, memo_put, read_summary, stat_key

CACHE_ENV = "GFW_DISCOVER_CACHE"
#: Bump when the summary format or the way it is derived changes.
CACHE_FORMAT = 1
MAX_ENTRIES = 4096
_CACHEABLE = (FileStatus.OK, FileStatus.EMPTY, FileStatus.INVALID)


def cache_file() -> Path:
    """Where the on-disk summary cache lives."""
    from gfwizard.paths import state_dir

    return state_dir() / "cache" / "kubeconfig-summaries.json"


def disk_cache_enabled(environ: Mapping[str, str]) -> bool:
    """False when ``GFW_DISCOVER_CACHE`` is ``0``, ``false``, ``no`` or ``off``."""
    return environ.get(CACHE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


class DiskCache:
    """The JSON cache file: ``{"version": ..., "entries": {realpath: [mtime_ns, ctime_ns, size, ino, dev, summary]}}``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.version = f"{CACHE_FORMAT}:{__version__}"
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False

    def load(self) -> "DiskCache":
        """Read the file; a missing, unreadable or foreign file counts as empty, and so does one in a state dir
        that another user controls (:func:`gfwizard.paths.cache_state_dir`)."""
        from gfwizard.paths import cache_state_dir

        if cache_state_dir(create=False) is None:
            return self
        try:
            with open(self.path, "rb") as fh:
                raw = json.loads(fh.read())
        except (OSError, ValueError):
            return self
        if isinstance(raw, dict) and raw.get("version") == self.version and isinstance(raw.get("entries"), dict):
            self.entries = raw["entries"]
        return self

    def get(self, key: StatKey) -> FileSummary | None:
        """The cached summary when the file's stat still matches ``key``."""
        entry = self.entries.get(key[0])
        if not isinstance(entry, list) or len(entry) != 6 or tuple(entry[:5]) != key[1:]:
            return None
        try:
            return FileSummary.from_cache(entry[5])
        except (KeyError, TypeError, ValueError, IndexError):
            return None

    def put(self, key: StatKey, summary: FileSummary) -> None:
        """Remember ``summary`` for ``key`` (only statuses that depend on content alone)."""
        if summary.status in _CACHEABLE:
            self.entries[key[0]] = [*key[1:], summary.to_cache()]
            self.dirty = True

    def save(self, keep: set[str]) -> None:
        """Write atomically (0600, dir 0700, a new state dir 0700 too); drop entries for files that are gone.
        Errors, and a state dir that another user controls, are ignored: the cache only saves time."""
        from gfwizard.paths import cache_state_dir

        for path in [p for p in self.entries if p not in keep]:
            if not os.path.exists(path) or len(self.entries) > MAX_ENTRIES:
                del self.entries[path]
        self.dirty = False
        if cache_state_dir() is None:
            return
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps({"version": self.version, "entries": self.entries},
                                               separators=(",", ":")), 0o600, sync_dir=False)
        except OSError:
            pass


def summaries(paths: list[str], use_disk: bool = True) -> list[FileSummary]:
    """One summary per path, in order; unchanged files are not parsed again."""
    disk = DiskCache(cache_file()).load() if use_disk else None
    out: list[FileSummary] = []
    seen: set[str] = set()
    for path in paths:
        key, failed = stat_key(path)
        if key is None:
            assert failed is not None
            out.append(failed)
            continue
        seen.add(key[0])
        summary = memo_get(key)
        if summary is None and disk is not None:
            summary = disk.get(key)
        if summary is None:
            summary = read_summary(path)
            if disk is not None:
                disk.put(key, summary)
        memo_put(key, summary)
        out.append(summary)
    if disk is not None and disk.dirty:
        disk.save(seen)
    return out
