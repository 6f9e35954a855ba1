"""Long-lived responses of the rehearsal API server: watches and followed pod logs.

Both are chunked HTTP/1.1 bodies. A watch sends one JSON event per line (``ADDED``/``MODIFIED``/
``DELETED``, ``BOOKMARK`` when asked for, an ``ERROR`` Status for an expired resourceVersion) until
its ``timeoutSeconds``, the client going away, or the server stopping; a followed log adds a line
every ``log_interval`` seconds until the client goes, the pod is deleted, or the server stops.
"""

from __future__ import annotations

import calendar
import select
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any, Callable

from gfwizard.rehearsal import k8s_objects as ko
from gfwizard.rehearsal.k8s_app import JSON, App, Disconnected, Target
from gfwizard.rehearsal.k8s_faults import CRASH_LOOP, crash_log
from gfwizard.rehearsal.k8s_kinds import Kind
from gfwizard.rehearsal.k8s_rest import bad_request, status_body
from gfwizard.rehearsal.k8s_store import Expired, Stored, Watcher, dumps

#: How many historical log lines a container has before ``follow`` adds new ones.
LOG_HISTORY = 60

Predicate = Callable[[dict[str, Any]], bool]


class StreamsMixin:
    """Watch and log-follow handling for :class:`k8s_http.Handler`."""

    if TYPE_CHECKING:
        app: App
        connection: socket.socket
        wfile: Any
        timeout: float
        close_connection: bool

        def _head(self, code: int, content_type: str, length: int | None,
                  extra: dict[str, str] | None = None) -> None: ...

        def _send(self, code: int, body: bytes, content_type: str = JSON,
                  extra: dict[str, str] | None = None) -> None: ...

        def _selectors(self, target: Target, query: dict[str, str]) -> tuple[Predicate | None, str | None]: ...

    def _chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            raise Disconnected() from None

    def _end_chunks(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            self.close_connection = True

    def _client_gone(self) -> bool:
        """True when the peer closed the connection (checked while a stream is idle)."""
        sock = self.connection
        if not socket_readable(sock, 0):
            return False
        try:
            sock.settimeout(0.05)
            data = sock.recv(1)
        except (ssl.SSLWantReadError, socket.timeout, TimeoutError):
            return False
        except (OSError, ssl.SSLError):
            return True
        finally:
            try:
                sock.settimeout(self.timeout)
            except OSError:
                pass
        return not data

    # --------------------------------------------------------------- watches
    def _do_watch(self, target: Target, query: dict[str, str], _body: bytes) -> None:
        """``GET ...?watch=true``: subscribe, then stream events (see the module docstring)."""
        kind = target.kind
        predicate, _node = self._selectors(target, query)
        namespace = target.namespace
        if target.name:
            name = target.name
            inner = predicate
            predicate = (lambda obj: obj["metadata"]["name"] == name and (inner is None or inner(obj)))
        initial_events = query.get("sendInitialEvents") in ("true", "1")
        rv = "" if initial_events else query.get("resourceVersion")
        try:
            timeout = float(query.get("timeoutSeconds") or 1800)
        except ValueError:
            raise bad_request(f"invalid timeoutSeconds: {query.get('timeoutSeconds')!r}") from None
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        try:
            watcher = self.app.store.watch(kind.plural, rv)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        except Expired as exc:
            self._head(200, JSON, None)
            self._chunk(dumps({"type": "ERROR", "object": status_body(410, "Expired", str(exc))}) + b"\n")
            self._end_chunks()
            return
        self.app.stream_started()
        try:
            self._watch_stream(kind, watcher, namespace, predicate, timeout, bookmarks, initial_events)
        finally:
            self.app.stream_ended()

    def _watch_stream(self, kind: Kind, watcher: Watcher, namespace: str,
                      predicate: Callable[[dict[str, Any]], bool] | None, timeout: float, bookmarks: bool,
                      initial_events: bool) -> None:
        deadline = time.monotonic() + timeout
        interval = max(0.05, self.app.bookmark_interval)
        next_bookmark = time.monotonic() + interval
        try:
            self._head(200, JSON, None)
            if initial_events:
                initial = watcher.queue.qsize()
                for _ in range(initial):
                    event = watcher.get(0)
                    if event is not None:
                        self._emit(event.type, event.item, namespace, predicate)
                if bookmarks:
                    self._bookmark(kind, end_of_initial=True)
            while not self.app.stopping.is_set():
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = min(0.25, deadline - now)
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                event = watcher.get(wait)
                if event is not None:
                    self._emit(event.type, event.item, namespace, predicate)
                    continue
                if bookmarks and time.monotonic() >= next_bookmark:
                    self._bookmark(kind)
                    next_bookmark = time.monotonic() + interval
                elif self._client_gone():
                    raise Disconnected()
            self._end_chunks()
        finally:
            watcher.close()

    def _emit(self, event_type: str, item: Stored, namespace: str,
              predicate: Callable[[dict[str, Any]], bool] | None) -> None:
        obj = item.obj
        if namespace and obj["metadata"].get("namespace") != namespace:
            return
        if predicate is not None and not predicate(obj):
            return
        self._chunk(b'{"type":"' + event_type.encode() + b'","object":' + item.raw + b"}\n")

    def _bookmark(self, kind: Kind, end_of_initial: bool = False) -> None:
        meta: dict[str, Any] = {"resourceVersion": str(self.app.store.rv)}
        if end_of_initial:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": meta}
        self._chunk(dumps({"type": "BOOKMARK", "object": obj}) + b"\n")

    # ------------------------------------------------------------------ logs
    def _logs(self, target: Target, query: dict[str, str]) -> None:
        """``GET pods/<name>/log`` with tailLines, sinceSeconds, limitBytes, timestamps and follow."""
        pod = self.app.rest.get(target.kind, target.namespace, target.name)
        name = pod["metadata"]["name"]
        containers = [c.get("name", "") for c in pod["spec"].get("containers", [])]
        container = query.get("container") or ""
        if not container:
            if len(containers) != 1:
                raise bad_request(f"a container name must be specified for pod {name}, choose one of: "
                                  f"[{' '.join(containers)}]")
            container = containers[0]
        if container not in containers:
            raise bad_request(f"container {container} is not valid for pod {name}")
        if not pod["spec"].get("nodeName"):
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
        cstatus = next((cs for cs in pod.get("status", {}).get("containerStatuses") or []
                        if cs.get("name") == container), {})
        previous = query.get("previous") in ("true", "1")
        if previous and not (cstatus.get("lastState") or {}).get("terminated"):
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        crashing = ((cstatus.get("state") or {}).get("waiting") or {}).get("reason") == CRASH_LOOP
        if previous or crashing:
            # The failed run's log (kubelet serves the last terminated container while the next one waits);
            # only the rehearsal's fault annotation makes a container fail.
            self._send(200, self._crashed_log(pod, container, cstatus, query), "text/plain")
            return
        tail, limit_bytes, since, stamps = _log_options(query)
        started = _started_at(pod)
        now = time.time()
        # One line per ~10 s since the container started (at least LOG_HISTORY); the last
        # LOG_HISTORY are kept, spread evenly between start and now.
        total = LOG_HISTORY + int(max(0.0, now - started) // 10)
        step = max(0.0, now - started) / total
        lines = [(started + seq * step, ko.log_line(name, container, seq))
                 for seq in range(total - LOG_HISTORY, total)]
        if since is not None:
            lines = [(t, text) for t, text in lines if t >= now - since]
        history = _log_body(lines, tail, limit_bytes, stamps)
        if query.get("follow") not in ("true", "1"):
            self._send(200, history, "text/plain")
            return
        self.app.stream_started()
        try:
            self._follow(pod, name, container, history, total, stamps)
        finally:
            self.app.stream_ended()

    def _crashed_log(self, pod: dict[str, Any], container: str, cstatus: dict[str, Any],
                     query: dict[str, str]) -> bytes:
        """The log of ``container``'s last failed run (tailLines, limitBytes and timestamps honoured)."""
        ended = (cstatus.get("lastState") or {}).get("terminated") or {}
        at = _parse_ts(ended.get("finishedAt")) or time.time()
        tail, limit_bytes, _, stamps = _log_options(query)
        return _log_body([(at, line) for line in crash_log(pod, container)], tail, limit_bytes, stamps)

    def _follow(self, pod: dict[str, Any], name: str, container: str, history: bytes, index: int,
                stamps: bool) -> None:
        self._head(200, "text/plain", None)
        if history:
            self._chunk(history)
        key = (pod["metadata"]["namespace"], name, pod["metadata"]["uid"])
        while not self.app.stopping.wait(self.app.log_interval):
            current = self.app.store.get("pods", key[0], key[1])
            if current is None or current.obj["metadata"]["uid"] != key[2]:
                break
            if self._client_gone():
                raise Disconnected()
            text = ko.log_line(name, container, index) + "\n"
            index += 1
            self._chunk(((ko.ts_nano(time.time()) + " ") if stamps else "").encode() + text.encode())
        self._end_chunks()


def socket_readable(sock: socket.socket, timeout: float) -> bool:
    """Is ``sock`` readable (data or EOF) within ``timeout`` seconds? (poll: no FD_SETSIZE limit)"""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
        return bool(poller.poll(int(timeout * 1000)))
    except (OSError, ValueError):
        return True


def _log_options(query: dict[str, str]) -> tuple[int | None, int | None, int | None, bool]:
    """``tailLines``, ``limitBytes``, ``sinceSeconds`` and ``timestamps`` of a log request (400 when not integers)."""
    try:
        tail = int(query["tailLines"]) if query.get("tailLines") not in (None, "") else None
        limit_bytes = int(query["limitBytes"]) if query.get("limitBytes") else None
        since = int(query["sinceSeconds"]) if query.get("sinceSeconds") else None
    except ValueError:
        raise bad_request("tailLines, limitBytes and sinceSeconds must be integers") from None
    return tail, limit_bytes, since, query.get("timestamps") in ("true", "1")


def _log_body(lines: list[tuple[float, str]], tail: int | None, limit_bytes: int | None, stamps: bool) -> bytes:
    """``lines`` ((time, text) pairs) as a log body: the last ``tail``, each stamped when asked, cut at
    ``limit_bytes``."""
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    body = "".join((f"{ko.ts_nano(t)} " if stamps else "") + text + "\n" for t, text in lines).encode()
    return body[:limit_bytes] if limit_bytes is not None else body


def _parse_ts(stamp: Any) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))
    except (TypeError, ValueError):
        return None


def _started_at(pod: dict[str, Any]) -> float:
    started = _parse_ts(pod.get("status", {}).get("startTime") or pod["metadata"].get("creationTimestamp"))
    return started if started is not None else time.time() - LOG_HISTORY * 10
