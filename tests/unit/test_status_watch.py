"""List-then-watch caches: paging, watch events, 410 Gone -> re-list, outages -> stale + backoff."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Iterator

import pytest

from gfwizard.status_readonly import ReadError
from gfwizard.status_records import pod_record
from gfwizard.status_watch import Backoff, KindSpec, KindWatcher

SPEC = KindSpec("pods", "/api/v1/pods", pod_record, resource="pods")


def _pod(name: str, rv: int, node: str = "bumble") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)},
            "spec": {"nodeName": node, "containers": [{"name": "main"}]}, "status": {"phase": "Running"}}


class _Stream:
    def __init__(self, events: list[Any], hold: threading.Event | None) -> None:
        self.events = events
        self.hold = hold
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for event in self.events:
            if isinstance(event, BaseException):
                raise event
            yield json.dumps(event).encode()
        if self.hold is not None:  # a watch that stays open until closed
            while not self.closed and not self.hold.wait(0.01):
                pass
            raise ReadError("unreachable", "closed", "reopened")

    def close(self) -> None:
        self.closed = True


class ScriptedKube:
    """Answers lists from ``pages`` and watches from ``watches`` in order, recording every request."""

    def __init__(self, pages: list[Any], watches: list[Any]) -> None:
        self.pages = pages
        self.watches = watches
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.release = threading.Event()

    def get_json(self, path: str, query: dict[str, Any]) -> Any:
        self.requests.append(("list", dict(query)))
        answer = self.pages.pop(0) if self.pages else {"metadata": {"resourceVersion": "1"}, "items": []}
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def open_stream(self, path: str, query: dict[str, Any], read_timeout: float) -> _Stream:
        self.requests.append(("watch", dict(query)))
        answer = self.watches.pop(0) if self.watches else []
        if isinstance(answer, BaseException):
            raise answer
        return _Stream(answer, self.release)


def _wait(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


def test_paged_list_keeps_records_and_resource_version() -> None:
    kube = ScriptedKube([{"metadata": {"continue": "tok", "resourceVersion": "10"}, "items": [_pod("a", 5)]},
                         {"metadata": {"resourceVersion": "11"}, "items": [_pod("b", 6)]}], [])
    w = KindWatcher(kube, SPEC, page_size=1)  # type: ignore[arg-type]
    w.list_once()
    assert sorted(p.name for p in w.items()) == ["a", "b"]
    assert w.resource_version == "11" and w.lists == 1
    assert [q for _, q in kube.requests] == [{"limit": 1}, {"limit": 1, "continue": "tok"}]


def test_expired_continue_token_restarts_the_list() -> None:
    kube = ScriptedKube([{"metadata": {"continue": "tok", "resourceVersion": "10"}, "items": [_pod("gone", 5)]},
                         ReadError("gone", "410 Gone", "re-list", 410),
                         {"metadata": {"resourceVersion": "20"}, "items": [_pod("a", 15)]}], [])
    w = KindWatcher(kube, SPEC)  # type: ignore[arg-type]
    w.list_once()
    assert [p.name for p in w.items()] == ["a"] and w.resource_version == "20"
    assert "continue" not in kube.requests[-1][1]


def test_watch_applies_events_and_410_relists() -> None:
    changes: list[str] = []
    kube = ScriptedKube(
        [{"metadata": {"resourceVersion": "10"}, "items": [_pod("a", 5), _pod("b", 6)]},
         {"metadata": {"resourceVersion": "30"}, "items": [_pod("fresh", 29)]}],
        [[{"type": "ADDED", "object": _pod("c", 11)}, {"type": "MODIFIED", "object": _pod("a", 12, node="sting")},
          {"type": "DELETED", "object": _pod("b", 13)},
          {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "14"}}},
          {"type": "ERROR", "object": {"code": 410, "message": "too old resource version"}}]])
    w = KindWatcher(kube, SPEC, on_change=changes.append)  # type: ignore[arg-type]
    w.start()
    try:
        _wait(lambda: w.lists == 2 and w.watches == 2)
    finally:
        kube.release.set()
        w.stop()
    assert [p.name for p in w.items()] == ["fresh"]
    kinds = [(kind, q.get("resourceVersion")) for kind, q in kube.requests]
    assert kinds[:4] == [("list", None), ("watch", "10"), ("list", None), ("watch", "30")]
    assert kube.requests[1][1]["allowWatchBookmarks"] == "true" and kube.requests[1][1]["watch"] == "true"
    assert changes  # every applied event notified the owner


def test_outage_marks_stale_backs_off_and_recovers() -> None:
    clock = [1000.0]
    down = ReadError("unreachable", "cannot reach honey", "retry")
    kube = ScriptedKube([down, down, down, {"metadata": {"resourceVersion": "5"}, "items": [_pod("a", 5)]}], [])
    seen_stale: list[float | None] = []
    w = KindWatcher(kube, SPEC, backoff=Backoff(0.01, 0.05, jitter=0),  # type: ignore[arg-type]
                    clock=lambda: clock[0], on_change=lambda _n: seen_stale.append(w.stale_since))
    w.start()
    try:
        _wait(lambda: w.listed)
    finally:
        kube.release.set()
        w.stop()
    assert 1000.0 in seen_stale  # it was stale since the first failure ...
    assert w.stale_since is None and w.error is None  # ... and recovered by itself
    assert [kind for kind, _ in kube.requests][:4] == ["list", "list", "list", "list"]


def test_forbidden_is_unreadable_not_stale() -> None:
    kube = ScriptedKube([ReadError("forbidden", "403 Forbidden: pods is forbidden", "ask", 403)], [])
    w = KindWatcher(kube, SPEC, backoff=Backoff(0.01, 5, jitter=0))  # type: ignore[arg-type]
    w.start()
    try:
        _wait(lambda: w.error is not None)
        time.sleep(0.1)
        assert w.unreadable and w.stale_since is None
        assert len(kube.requests) == 1  # denied kinds are retried at the backoff cap, not hammered
    finally:
        w.stop()


@pytest.mark.parametrize("initial,cap,expected", [(1, 30, [1, 2, 4, 8, 16, 30, 30]), (0.5, 2, [0.5, 1, 2, 2])])
def test_backoff_grows_and_is_capped(initial: float, cap: float, expected: list[float]) -> None:
    b = Backoff(initial, cap, jitter=0)
    assert [b.next_delay() for _ in expected] == expected
    b.reset()
    assert b.next_delay() == initial
