"""List-then-watch caches of the kinds status shows, surviving API outages.

Each :class:`KindWatcher` keeps one kind (nodes, pods, ...) current with the API server's own
mechanism: a paged list (``limit``/``continue``; raw JSON parsed here and cut down to a record at
once), then a watch from that list's ``resourceVersion``. ``410 Gone`` (the watch's history was
compacted, or a continue token expired) triggers a fresh list. A failed list or watch marks the
kind stale (``stale_since``) and is retried with capped exponential backoff; the first success
clears it. A 401/403 is recorded as *unreadable* and retried at the backoff cap, never hammered.

:meth:`KindWatcher.list_once` is the same list without the watch, for ``status --once``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from gfwizard.status_readonly import ReadError

if TYPE_CHECKING:
    from gfwizard.status_readonly import LineStream, ReadOnlyKube

Record = Any
Key = tuple[str, str]


@dataclass(frozen=True)
class KindSpec:
    """One kind status watches."""

    name: str
    #: Cluster-wide list path, e.g. ``/api/v1/pods``.
    path: str
    #: Object -> record (None: not kept).
    record: Callable[[Mapping[str, Any]], Record | None]
    #: Extra list/watch query, e.g. a field selector.
    query: Mapping[str, str] = field(default_factory=dict)
    #: RBAC resource and group, for the access review and the "could not read" note.
    resource: str = ""
    group: str = ""
    #: Keep at most this many records (the newest resourceVersions win), e.g. for events.
    max_items: int | None = None


class Backoff:
    """Capped exponential backoff with jitter: ``initial``, ``initial*factor``, ... up to ``cap`` seconds."""

    def __init__(self, initial: float = 1.0, cap: float = 30.0, factor: float = 2.0, jitter: float = 0.1) -> None:
        self.initial, self.cap, self.factor, self.jitter = initial, cap, factor, jitter
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (grows with every call until :meth:`reset`)."""
        delay = min(self.cap, self.initial * (self.factor ** self.failures))
        self.failures += 1
        if self.jitter:
            delay *= 1 + random.uniform(-self.jitter, self.jitter)
        return min(self.cap, max(0.0, delay))

    def reset(self) -> None:
        """Back to the initial delay (after a success)."""
        self.failures = 0


class _Relist(Exception):
    """The watch said 410 Gone: list again."""


class KindWatcher:
    """The live cache of one kind (see the module docstring). Thread-safe reads via :meth:`items`."""

    def __init__(self, kube: "ReadOnlyKube", spec: KindSpec, *, on_change: Callable[[str], None] | None = None,
                 page_size: int = 500, watch_timeout: int = 240, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.kube = kube
        self.spec = spec
        self.on_change = on_change or (lambda _name: None)
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.backoff = backoff or Backoff()
        self.clock = clock
        self._items: dict[Key, Record] = {}
        self._rv_of: dict[Key, int] = {}
        self._lock = threading.Lock()
        self.resource_version = ""
        #: Wall-clock time of the first failure since the last success, or None.
        self.stale_since: float | None = None
        #: The last error (kept while it lasts), for the "could not read" / stale notes.
        self.error: ReadError | None = None
        self.listed = False
        self.lists = 0
        self.watches = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._relist_requested = False
        self._stream: LineStream | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- reads
    def items(self) -> list[Record]:
        """A copy of the current records."""
        with self._lock:
            return list(self._items.values())

    @property
    def unreadable(self) -> bool:
        """True while the API denies this kind (401/403)."""
        return self.error is not None and self.error.kind in ("forbidden", "unauthorized")

    # ---------------------------------------------------------------- lists
    def list_once(self) -> None:
        """One full paged list; replaces the cache. Raises :class:`ReadError`."""
        items: dict[Key, Record] = {}
        rv_of: dict[Key, int] = {}
        token = ""
        rv = ""
        while True:
            query: dict[str, Any] = {**self.spec.query, "limit": self.page_size}
            if token:
                query["continue"] = token
            try:
                doc = self.kube.get_json(self.spec.path, query)
            except ReadError as exc:
                if exc.kind == "gone" and token:
                    # The continue token expired mid-list: start over.
                    items.clear()
                    rv_of.clear()
                    token = ""
                    continue
                raise
            meta = doc.get("metadata") or {}
            for obj in doc.get("items") or ():
                self._keep(items, rv_of, obj)
            del doc
            token = str(meta.get("continue") or "")
            rv = str(meta.get("resourceVersion") or rv)
            if not token:
                break
        self._trim(items, rv_of)
        with self._lock:
            self._items = items
            self._rv_of = rv_of
        self.resource_version = rv
        self.listed = True
        self.lists += 1
        self._succeeded()
        self.on_change(self.spec.name)

    def _keep(self, items: dict[Key, Record], rv_of: dict[Key, int], obj: Mapping[str, Any]) -> None:
        record = self.spec.record(obj)
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if record is None:
            items.pop(key, None)
            return
        items[key] = record
        if self.spec.max_items is not None:
            try:
                rv_of[key] = int(meta.get("resourceVersion") or 0)
            except ValueError:
                rv_of[key] = 0

    def _trim(self, items: dict[Key, Record], rv_of: dict[Key, int]) -> None:
        limit = self.spec.max_items
        if limit is None or len(items) <= limit:
            return
        for key in sorted(items, key=lambda k: rv_of.get(k, 0))[: len(items) - limit]:
            items.pop(key, None)
            rv_of.pop(key, None)

    # --------------------------------------------------------------- watches
    def _watch(self) -> None:
        query: dict[str, Any] = {**self.spec.query, "watch": "true", "resourceVersion": self.resource_version,
                                 "allowWatchBookmarks": "true", "timeoutSeconds": self.watch_timeout}
        stream = self.kube.open_stream(self.spec.path, query, read_timeout=self.watch_timeout + 30)
        self._stream = stream
        self.watches += 1
        self._succeeded()
        try:
            if self._stop.is_set() or self._relist_requested:
                return
            for line in stream:
                self._apply(json.loads(line))
        finally:
            self._stream = None
            stream.close()

    def _apply(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise _Relist()
            raise ReadError("api", f"watch of {self.spec.name} failed: {obj.get('message', '')}",
                            "retrying with backoff", int(code) if isinstance(code, int) else None)
        meta = obj.get("metadata") or {}
        rv = str(meta.get("resourceVersion") or "")
        if kind == "BOOKMARK":
            if rv:
                self.resource_version = rv
            return
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        with self._lock:
            if kind == "DELETED":
                self._items.pop(key, None)
                self._rv_of.pop(key, None)
            elif kind in ("ADDED", "MODIFIED"):
                self._keep(self._items, self._rv_of, obj)
                if self.spec.max_items is not None and len(self._items) > self.spec.max_items * 1.2:
                    self._trim(self._items, self._rv_of)
        if rv:
            self.resource_version = rv
        self.on_change(self.spec.name)

    # --------------------------------------------------------------- the loop
    def _succeeded(self) -> None:
        changed = self.stale_since is not None or self.error is not None
        self.stale_since = None
        self.error = None
        self.backoff.reset()
        if changed:
            self.on_change(self.spec.name)

    def _failed(self, exc: ReadError) -> float:
        denied = exc.kind in ("forbidden", "unauthorized")
        notify = self.error is None or self.error.kind != exc.kind
        if not denied and self.stale_since is None:
            self.stale_since = self.clock()
            notify = True
        self.error = exc
        if notify:
            self.on_change(self.spec.name)
        return self.backoff.cap if denied else self.backoff.next_delay()

    def run(self) -> None:
        """List, then watch, until :meth:`stop` (the body of the watcher's thread)."""
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list or self._relist_requested or not self.resource_version:
                    self._relist_requested = False
                    self.list_once()
                    need_list = False
                self._watch()
            except _Relist:
                need_list = True
            except ReadError as exc:
                if self._stop.is_set():
                    break
                if self._relist_requested:
                    continue
                delay = self._failed(exc)
                self._wake.wait(delay)
                self._wake.clear()
            except (ValueError, KeyError, TypeError) as exc:
                # A malformed answer: treat like any API failure.
                delay = self._failed(ReadError("api", f"unreadable answer for {self.spec.name}: {exc}",
                                               "retrying with backoff"))
                self._wake.wait(delay)
                self._wake.clear()
                need_list = True

    def start(self) -> "KindWatcher":
        """Start the watcher's daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name=f"gfw-status-{self.spec.name}", daemon=True)
            self._thread.start()
        return self

    def relist(self) -> None:
        """List again now (the manual refresh): ends the current watch or backoff wait."""
        self._relist_requested = True
        self._wake.set()
        stream = self._stream
        if stream is not None:
            stream.close()

    def signal_stop(self) -> None:
        """Ask the thread to stop (its open watch is closed) without waiting for it."""
        self._stop.set()
        self._wake.set()
        stream = self._stream
        if stream is not None:
            stream.close()

    def join(self, timeout: float) -> None:
        """Wait at most ``timeout`` seconds for the thread to end (it is a daemon: it may outlive this)."""
        if self._thread is not None:
            self._thread.join(max(0.0, timeout))

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread (its open watch is closed) and wait at most ``timeout`` for it."""
        self.signal_stop()
        self.join(timeout)
