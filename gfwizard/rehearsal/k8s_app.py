"""Shared pieces of the rehearsal API server's HTTP layer: the per-server context and parsed paths."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gfwizard.rehearsal.k8s_kinds import Kind
from gfwizard.rehearsal.k8s_rest import Rest
from gfwizard.rehearsal.k8s_store import Store

if TYPE_CHECKING:
    from gfwizard.rehearsal.apiserver import Faults, RequestLog

JSON = "application/json"


@dataclass
class App:
    """Everything a request handler needs (shared by all connections of one server)."""

    store: Store
    rest: Rest
    users: dict[str, str]  # token -> user
    policies: dict[str, list[dict[str, Any]]]  # user -> rules
    faults: "Faults"
    request_log: "RequestLog"
    stopping: threading.Event = field(default_factory=threading.Event)
    bookmark_interval: float = 5.0
    log_interval: float = 1.0
    server_address: str = "127.0.0.1:0"
    #: Open watch / follow streams (stop lets them end cleanly before cutting connections).
    streams: int = 0
    streams_changed: threading.Condition = field(default_factory=threading.Condition)

    def stream_started(self) -> None:
        """Count a stream in."""
        with self.streams_changed:
            self.streams += 1

    def stream_ended(self) -> None:
        """Count a stream out."""
        with self.streams_changed:
            self.streams -= 1
            self.streams_changed.notify_all()

    def wait_for_streams(self, timeout: float) -> bool:
        """Wait until no stream is open (True) or ``timeout`` passes (False)."""
        with self.streams_changed:
            return self.streams_changed.wait_for(lambda: self.streams <= 0, timeout)


@dataclass(frozen=True)
class Target:
    """A parsed resource path."""

    kind: Kind
    namespace: str
    name: str
    subresource: str


class Disconnected(Exception):
    """The client went away mid-stream."""


def parse_resource_path(path: str) -> tuple[str, str, str, str, str, str] | None:
    """``(group, version, namespace, plural, name, subresource)`` of an API path, or None."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    return group, version, namespace, plural, name, sub
