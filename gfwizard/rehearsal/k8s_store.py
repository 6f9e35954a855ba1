"""The rehearsal API server's object store: resourceVersions, ordered lists, paging, watch fan-out.

Every object is kept as a dict together with its compact JSON encoding, so a list of 15,000 pods
is a join of cached byte strings, never 15,000 ``json.dumps`` calls. Objects in the store are
treated as immutable: writers put a new dict, readers never mutate what they get.

One global resourceVersion counter orders every write (like etcd's revision). Each resource keeps
a bounded history of its events; a watch from a resourceVersion older than that history gets a
410 ``Expired``, as from a compacted etcd.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import queue
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

Key = tuple[str, str]
Predicate = Callable[[dict[str, Any]], bool]

#: Events remembered per resource for watches that resume from a resourceVersion.
HISTORY = 20_000


def dumps(obj: Any) -> bytes:
    """Compact JSON, as the API server writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def controller_uid(obj: dict[str, Any]) -> str:
    """The uid of the object's controller ``ownerReference`` ("" when it has none)."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return str(ref.get("uid", ""))
    return ""


class Expired(Exception):
    """A resourceVersion (or continue token) older than the retained history: HTTP 410."""


class BadContinue(ValueError):
    """A continue token that does not decode."""


class Stored:
    """An object and its JSON encoding (computed on first use, then cached)."""

    __slots__ = ("obj", "_raw")

    def __init__(self, obj: dict[str, Any], raw: bytes | None = None) -> None:
        self.obj = obj
        self._raw = raw

    @property
    def raw(self) -> bytes:
        """Compact JSON of :attr:`obj` (objects are immutable once stored, so this never goes stale)."""
        raw = self._raw
        if raw is None:
            raw = self._raw = dumps(self.obj)
        return raw

    @property
    def key(self) -> Key:
        """``(namespace, name)``; namespace is "" for cluster-scoped objects."""
        meta = self.obj["metadata"]
        return (meta.get("namespace", ""), meta["name"])


@dataclass(frozen=True)
class Event:
    """A watch event: ``ADDED``/``MODIFIED``/``DELETED`` at a resourceVersion."""

    rv: int
    type: str
    item: Stored


class Watcher:
    """One subscriber: initial events plus everything published after it subscribed."""

    def __init__(self, store: "Store", plural: str, initial: list[Event]) -> None:
        self._store = store
        self.plural = plural
        self.queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        for event in initial:
            self.queue.put(event)

    def get(self, timeout: float) -> Event | None:
        """The next event, or None after ``timeout`` seconds without one."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Unsubscribe."""
        self._store.unsubscribe(self)


@dataclass
class Page:
    """One page of a list: the items, the list's resourceVersion and the continuation."""

    items: list[Stored]
    rv: int
    continue_token: str = ""
    remaining: int | None = None


class _Resource:
    """Objects of one kind, their sorted keys, history and watchers."""

    def __init__(self, plural: str) -> None:
        self.plural = plural
        self.objects: dict[Key, Stored] = {}
        self.sorted_keys: list[Key] | None = []
        self.history: deque[Event] = deque()
        self.compacted = 0
        #: resourceVersion of the last write to this resource
        self.last_write = 0
        self.watchers: set[Watcher] = set()
        #: pods only: node name -> keys of the pods bound to it ("" = unscheduled)
        self.by_node: dict[str, set[Key]] = {}
        #: controller owner uid -> keys of the objects it owns
        self.by_owner: dict[str, set[Key]] = {}

    def keys(self) -> list[Key]:
        if self.sorted_keys is None:
            self.sorted_keys = sorted(self.objects)
        return self.sorted_keys


def encode_continue(rv: int, key: Key, namespaced: bool) -> str:
    """A continue token in the API server's own shape (base64 JSON with ``rv`` and ``start``)."""
    start = f"{key[0]}/{key[1]}\x00" if namespaced else f"{key[1]}\x00"
    payload = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_continue(token: str, namespaced: bool) -> tuple[int, Key]:
    """``(rv, last key)`` from a continue token; raises :class:`BadContinue`."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        rv = int(data["rv"])
        start = str(data["start"]).rstrip("\x00")
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadContinue(f"continue key is not valid: {exc}") from None
    if data.get("v") != "meta.k8s.io/v1" or not start:
        raise BadContinue("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    if namespaced:
        ns, _, name = start.partition("/")
        return rv, (ns, name)
    return rv, ("", start)


class Store:
    """Thread-safe store of every served object (see the module docstring)."""

    def __init__(self, plurals: Iterable[str], history: int = HISTORY) -> None:
        self.lock = threading.RLock()
        self._rv = 0
        self._history_size = history
        self._res: dict[str, _Resource] = {p: _Resource(p) for p in plurals}

    # ----------------------------------------------------------------- reads
    @property
    def rv(self) -> int:
        """The current (latest) resourceVersion."""
        return self._rv

    def get(self, plural: str, namespace: str, name: str) -> Stored | None:
        """One object, or None."""
        return self._res[plural].objects.get((namespace, name))

    def count(self, plural: str) -> int:
        """How many objects of a kind exist."""
        return len(self._res[plural].objects)

    def all(self, plural: str, namespace: str | None = None) -> list[Stored]:
        """Every object of a kind (in one namespace when given), in key order."""
        with self.lock:
            res = self._res[plural]
            return [res.objects[k] for k in self._key_range(res, namespace)]

    def pods_on_node(self, node: str) -> list[Stored]:
        """Pods bound to ``node`` ("" for unscheduled pods)."""
        with self.lock:
            res = self._res["pods"]
            return [res.objects[k] for k in sorted(res.by_node.get(node, ()))]

    def owned(self, plural: str, owner_uid: str) -> list[Stored]:
        """Objects of a kind whose controller ``ownerReference`` is ``owner_uid``, in key order."""
        with self.lock:
            res = self._res[plural]
            return [res.objects[k] for k in sorted(res.by_owner.get(owner_uid, ()))]

    def pod_count_on_node(self, node: str) -> int:
        """How many pods are bound to ``node``."""
        return len(self._res["pods"].by_node.get(node, ()))

    def _key_range(self, res: _Resource, namespace: str | None) -> list[Key]:
        keys = res.keys()
        if namespace is None:
            return keys
        lo = bisect.bisect_left(keys, (namespace, ""))
        hi = bisect.bisect_left(keys, (namespace + "\x00", ""))
        return keys[lo:hi]

    def list(self, plural: str, *, namespace: str | None = None, predicate: Predicate | None = None,
             limit: int = 0, continue_token: str = "", namespaced: bool = True,
             node_name: str | None = None) -> Page:
        """A (possibly paged) list in key order.

        ``node_name`` narrows pods through the node index before ``predicate`` runs (it is the
        ``spec.nodeName=`` field selector, the query status views make per node).
        """
        with self.lock:
            res = self._res[plural]
            if node_name is not None and plural == "pods":
                keys = sorted(k for k in res.by_node.get(node_name, ()) if namespace is None or k[0] == namespace)
            else:
                keys = self._key_range(res, namespace)
            start = 0
            if continue_token:
                token_rv, last = decode_continue(continue_token, namespaced)
                if token_rv < res.compacted:
                    raise Expired(
                        "The provided continue parameter is too old to display a consistent list result. "
                        "You can start a new list without the continue parameter."
                    )
                start = bisect.bisect_right(keys, last)
            rv = self._rv
            if limit <= 0:
                selected = keys[start:] if start else keys
                items = [res.objects[k] for k in selected]
                if predicate is not None:
                    items = [s for s in items if predicate(s.obj)]
                return Page(items, rv)
            items: list[Stored] = []
            index = start
            total = len(keys)
            while index < total and len(items) < limit:
                stored = res.objects[keys[index]]
                index += 1
                if predicate is None or predicate(stored.obj):
                    items.append(stored)
            if index >= total:
                return Page(items, rv)
            token = encode_continue(rv, keys[index - 1], namespaced)
            # Like the real server: remainingItemCount only when it is exact (no selector).
            remaining = (total - index) if predicate is None else None
            return Page(items, rv, token, remaining)

    # ---------------------------------------------------------------- writes
    def put(self, plural: str, obj: dict[str, Any]) -> Stored:
        """Create or replace ``obj``; stamps a fresh ``metadata.resourceVersion`` and publishes."""
        with self.lock:
            res = self._res[plural]
            self._rv += 1
            obj["metadata"]["resourceVersion"] = str(self._rv)
            stored = Stored(obj)
            key = stored.key
            previous = res.objects.get(key)
            if previous is None and res.sorted_keys is not None:
                keys = res.sorted_keys
                if not keys or keys[-1] < key:
                    keys.append(key)
                else:
                    bisect.insort(keys, key)
            res.objects[key] = stored
            if previous is not None:
                self._unindex(res, previous)
            self._index(res, stored)
            self._publish(res, Event(self._rv, "MODIFIED" if previous is not None else "ADDED", stored))
            return stored

    def delete(self, plural: str, namespace: str, name: str) -> Stored | None:
        """Remove one object; publishes ``DELETED`` with the object at the deletion's resourceVersion."""
        with self.lock:
            res = self._res[plural]
            previous = res.objects.pop((namespace, name), None)
            if previous is None:
                return None
            if res.sorted_keys is not None:
                index = bisect.bisect_left(res.sorted_keys, previous.key)
                if index < len(res.sorted_keys) and res.sorted_keys[index] == previous.key:
                    del res.sorted_keys[index]
            self._unindex(res, previous)
            self._rv += 1
            obj = dict(previous.obj)
            obj["metadata"] = {**obj["metadata"], "resourceVersion": str(self._rv)}
            gone = Stored(obj)
            self._publish(res, Event(self._rv, "DELETED", gone))
            return gone

    @staticmethod
    def _index_keys(res: _Resource, stored: Stored) -> list[tuple[dict[str, set[Key]], str]]:
        out: list[tuple[dict[str, set[Key]], str]] = []
        if res.plural == "pods":
            out.append((res.by_node, stored.obj.get("spec", {}).get("nodeName", "")))
        uid = controller_uid(stored.obj)
        if uid:
            out.append((res.by_owner, uid))
        return out

    def _index(self, res: _Resource, stored: Stored) -> None:
        for index, value in self._index_keys(res, stored):
            index.setdefault(value, set()).add(stored.key)

    def _unindex(self, res: _Resource, stored: Stored) -> None:
        for index, value in self._index_keys(res, stored):
            keys = index.get(value)
            if keys is not None:
                keys.discard(stored.key)
                if not keys:
                    del index[value]

    def last_write(self, plural: str) -> int:
        """The resourceVersion of the latest write to a kind (a cheap change detector)."""
        return self._res[plural].last_write

    def _publish(self, res: _Resource, event: Event) -> None:
        res.last_write = event.rv
        if len(res.history) >= self._history_size:
            res.compacted = res.history.popleft().rv
        res.history.append(event)
        for watcher in res.watchers:
            watcher.queue.put(event)

    def compact(self) -> int:
        """Forget every resource's history (like an etcd compaction); returns the compacted revision.

        Afterwards any watch or continue token from an older resourceVersion gets 410 Gone.
        """
        with self.lock:
            for res in self._res.values():
                res.history.clear()
                res.compacted = self._rv
            return self._rv

    # ---------------------------------------------------------------- watches
    def watch(self, plural: str, resource_version: str | None) -> Watcher:
        """Subscribe from ``resource_version``.

        None/"" ("most recent") and "0" ("any") start with a synthetic ``ADDED`` for every existing
        object; a number replays the retained history after it, or raises :class:`Expired`.
        """
        with self.lock:
            res = self._res[plural]
            if not resource_version or resource_version == "0":
                initial = [Event(self._rv, "ADDED", res.objects[k]) for k in res.keys()]
            else:
                try:
                    since = int(resource_version)
                except ValueError:
                    raise ValueError(f"invalid resource version: {resource_version!r}") from None
                if since < res.compacted:
                    raise Expired(f"too old resource version: {since} ({res.compacted + 1})")
                initial = self._history_after(res, since)
            watcher = Watcher(self, plural, initial)
            res.watchers.add(watcher)
            return watcher

    @staticmethod
    def _history_after(res: _Resource, since: int) -> list[Event]:
        events: Iterator[Event] = reversed(res.history)
        newer: list[Event] = []
        for event in events:
            if event.rv <= since:
                break
            newer.append(event)
        newer.reverse()
        return newer

    def unsubscribe(self, watcher: Watcher) -> None:
        """Stop delivering events to ``watcher``."""
        with self.lock:
            self._res[watcher.plural].watchers.discard(watcher)
