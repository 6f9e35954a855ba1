"""The embedded honey: a TLS Kubernetes API server on 127.0.0.1 for rehearsals and the test suite.

``kubectl`` and the official Python client use it unmodified. It serves discovery, Namespaces,
Nodes, Pods (with logs), Events, Deployments, ReplicaSets, StatefulSets and DaemonSets (with
watches, paging, selectors, server-side Tables), SelfSubjectAccessReviews, and the writes a
rehearsal deploy needs; workloads get scheduled pods and live status. See DESIGN.md §5.

Usage::

    with RehearsalAPIServer(nodes=3) as api:
        api.url, api.ca_pem, api.admin_token      # what a kubeconfig needs
        api.kubeconfig_dict()                     # ... or the whole kubeconfig, as a dict
        api.faults.set_error(500, count=2)        # the next two requests fail
        api.set_node_ready("sting", False)        # sting's kubelet stops posting: tainted, pods not Ready
        api.crash_backoff = 0.1                   # crash-looping pods restart sooner (see below)
        api.toleration_scale = 0.001              # NoExecute evictions after 0.3 s instead of 300 s
        api.request_log.entries()                 # every request made so far

Incidents can also be induced through the API itself, with kubectl, as an operator rehearses them
(docs/status-mode.md, "Rehearse an incident"): a status PATCH of a node's ``Ready`` condition is what the
node lifecycle controller reacts to, and the rehearsal-only annotation
``rehearsal.gloriousflywheel.io/fault: crashloop`` on a Deployment makes its pods crash-loop (``pending``:
unschedulable) until it is removed (:mod:`gfwizard.rehearsal.k8s_faults`).

Two users exist from the start: ``admin`` (allowed everything) and ``readonly`` (get/list/watch
only); :meth:`RehearsalAPIServer.set_policy` changes rules or adds users. The server is rehearsal
machinery: nothing in it touches a real cluster, and its tokens are registered with
:mod:`gfwizard.redact` so they never show in output.

Where it knowingly differs from a real API server (clients that only read see no difference):

* deletion is immediate (no lingering Terminating namespace, no graceful pod termination);
* the scheduler honours node selectors, taints and readiness but does not pack resource requests
  against allocatable (the placement view checks capacity itself);
* a NotReady node gets the node lifecycle controller's taints, its pods turn not Ready and are evicted
  after their ``tolerationSeconds`` (see :mod:`gfwizard.rehearsal.k8s_nodes` and
  :mod:`gfwizard.rehearsal.k8s_evict`), but an evicted pod is gone at once, where on a cluster it would
  stay ``Terminating`` while its node is unreachable;
* request bodies are JSON or YAML; kubectl's protobuf bodies are decoded for the kinds its typed
  commands send (``create namespace``, ``create deployment``, ``auth can-i``), others get 415;
* ``/openapi/v3`` carries operations only (enough for kubectl's server-side field validation):
  ``kubectl explain`` has no schemas to show; server-side apply merges without field ownership.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from gfwizard.errors import CheckFailure
from gfwizard.redact import register_secret
from gfwizard.rehearsal import k8s_objects as ko
from gfwizard.rehearsal.k8s_controllers import Cluster
from gfwizard.rehearsal.k8s_app import App
from gfwizard.rehearsal.k8s_http import APIHTTPServer
from gfwizard.rehearsal.k8s_kinds import STORED
from gfwizard.rehearsal.k8s_nodes import as_ready_status, conditions as node_conditions
from gfwizard.rehearsal.k8s_rbac import ADMIN_RULES, READONLY_RULES, validate_rules
from gfwizard.rehearsal.k8s_rest import Rest
from gfwizard.rehearsal.k8s_seed import LOAD_NAMESPACE, SYSTEM_NAMESPACES, seed
from gfwizard.rehearsal.k8s_store import Store
from gfwizard.rehearsal.k8s_tls import ServerTLS, generate
from gfwizard.rehearsal.serving import serve_in_thread

__all__ = ["APIRequest", "Faults", "RehearsalAPIServer", "RequestLog"]


@dataclass(frozen=True)
class APIRequest:
    """One answered request. ``user`` is None when authentication failed or never ran."""

    time: float
    method: str
    path: str
    query: str
    user: str | None
    status: int


class RequestLog:
    """Thread-safe in-memory request log, mirrored as JSON lines to a file when one is given."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: list[APIRequest] = []
        self.path = path
        self._fh = None

    def record(self, started: float, method: str, path: str, query: str, user: str | None, status: int) -> None:
        """Append one request (and write it to the file, if any)."""
        entry = APIRequest(started, method, path, query, user, status)
        with self._lock:
            self._entries.append(entry)
            if self.path is not None:
                if self._fh is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fh = self.path.open("a", encoding="utf-8")
                self._fh.write(json.dumps(asdict(entry), sort_keys=True) + "\n")
                self._fh.flush()

    def entries(self) -> list[dict[str, Any]]:
        """Every request since the last :meth:`clear`, oldest first, as dicts
        ``{time, method, path, query, user, status}``."""
        with self._lock:
            return [asdict(e) for e in self._entries]

    def requests(self) -> list[APIRequest]:
        """Same as :meth:`entries`, as typed values."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget the in-memory entries (the file keeps its history)."""
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        """Close the log file (it is reopened on the next record)."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


@dataclass
class _ErrorRule:
    status: int
    remaining: int | None
    path_prefix: str
    #: The methods affected; empty: every method.
    methods: tuple[str, ...] = ()


class Faults:
    """Fault injection: added latency, injected error statuses, and blackhole mode."""

    def __init__(self, latency: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._rules: list[_ErrorRule] = []
        self._blackhole = False
        self._reachable = threading.Event()
        self._reachable.set()
        #: Seconds added before every request is answered.
        self.latency = float(latency)

    def set_error(self, status: int, count: int | None = None, path_prefix: str = "",
                  methods: tuple[str, ...] = ()) -> None:
        """Answer requests whose path starts with ``path_prefix`` (and whose method is one of ``methods``,
        when given) with ``status`` (a Status body).

        ``count`` requests are affected, or every one until :meth:`clear` when None. Injected
        errors come before authentication. A 410 on a watch request arrives, as from a real
        server, as an ``ERROR`` event in a 200 stream.
        """
        if not 400 <= int(status) <= 599:
            raise ValueError(f"injected status must be 4xx or 5xx, not {status}")
        if count is not None and count < 1:
            raise ValueError(f"count must be at least 1 (or None for until cleared), not {count}")
        with self._lock:
            self._rules.append(_ErrorRule(int(status), count, path_prefix, tuple(m.upper() for m in methods)))

    def take(self, path: str, method: str = "GET") -> int | None:
        """The status to inject for a ``method`` request to ``path`` (consuming one use), or None."""
        with self._lock:
            for rule in self._rules:
                if path.startswith(rule.path_prefix) and (not rule.methods or method.upper() in rule.methods):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
                    return rule.status
        return None

    def pending(self) -> list[dict[str, Any]]:
        """The injected errors still in force: ``{status, remaining, path_prefix, methods}``."""
        with self._lock:
            return [asdict(r) for r in self._rules]

    def blackhole(self, on: bool = True) -> None:
        """Go silent like a black-holed network path: new connections are accepted but TLS never
        starts, and requests on already-open connections get no answer while it lasts."""
        self._blackhole = bool(on)
        if on:
            self._reachable.clear()
        else:
            self._reachable.set()

    def wait_until_reachable(self, timeout: float) -> bool:
        """Block while blackholed, up to ``timeout`` seconds; True once blackhole mode is off."""
        return self._reachable.wait(timeout)

    @property
    def blackholed(self) -> bool:
        """Is blackhole mode on?"""
        return self._blackhole

    def clear(self) -> None:
        """No faults at all: injected errors removed, blackhole off, latency 0."""
        with self._lock:
            self._rules.clear()
        self.blackhole(False)
        self.latency = 0.0


def _check_scale(scale: float) -> None:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 <= scale < float("inf"):
        raise ValueError(f"toleration_scale must be a finite number of 0 or more (got {scale!r})")


class RehearsalAPIServer:
    """A TLS Kubernetes API server on ``host`` (a random free port) backed by an in-memory cluster.

    ``nodes``: how many nodes (honey, bumble, sting, then worker-0001... alternating bumble and
    sting roles). ``pods``: extra load pods (namespace ``load``, Deployments of up to 50 replicas)
    on top of the system pods. ``latency``: seconds added to every request. ``log_path``: where
    the request log is appended as JSON lines. ``kube_system_uid``: fix the kube-system UID
    (random by default). ``bookmark_interval`` / ``log_interval``: seconds between watch
    BOOKMARK events (when asked for) and between new lines of ``logs --follow``. ``crash_backoff``: the
    kubelet's first back-off for a crash-looping container (the ``rehearsal.gloriousflywheel.io/fault:
    crashloop`` annotation on a Deployment; see :mod:`gfwizard.rehearsal.k8s_faults`), doubling per restart.
    ``toleration_scale``: real seconds the taint eviction controller waits per second of a pod's
    ``tolerationSeconds`` (1.0, as on a cluster: 300 s for an ordinary pod on a NotReady node; see
    :mod:`gfwizard.rehearsal.k8s_evict`).
    """

    def __init__(self, nodes: int = 3, pods: int = 0, latency: float = 0.0, log_path: Path | None = None, *,
                 host: str = "127.0.0.1", kube_system_uid: str | None = None,
                 bookmark_interval: float = 5.0, log_interval: float = 1.0, crash_backoff: float = 10.0,
                 toleration_scale: float = 1.0) -> None:
        if nodes < 0 or pods < 0:
            raise ValueError("nodes and pods must not be negative")
        _check_scale(toleration_scale)
        self.host = host
        self.port = 0
        self.nodes = nodes
        self.pods = pods
        self.kube_system_uid = kube_system_uid or ko.new_uid()
        self.request_log = RequestLog(Path(log_path) if log_path is not None else None)
        self.faults = Faults(latency)
        self.admin_token = secrets.token_urlsafe(32)
        self.readonly_token = secrets.token_urlsafe(32)
        self._tokens: dict[str, str] = {"admin": self.admin_token, "readonly": self.readonly_token}
        self._policies: dict[str, list[dict[str, Any]]] = {"admin": ADMIN_RULES, "readonly": READONLY_RULES}
        register_secret(self.admin_token, self.readonly_token)
        self._tls: ServerTLS = generate((host, "localhost"))
        self.ca_pem: bytes = self._tls.ca_pem
        self.ca_sha256: str = self._tls.ca_sha256
        self.store = Store(k.plural for k in STORED)
        self.cluster = Cluster(self.store)
        self.cluster.faults.backoff_base = float(crash_backoff)
        self.cluster.evictions.toleration_scale = float(toleration_scale)
        self._kubelet: threading.Thread | None = None
        self.rest = Rest(self.cluster)
        self._app = App(store=self.store, rest=self.rest, users={}, policies=self._policies, faults=self.faults,
                        request_log=self.request_log, bookmark_interval=bookmark_interval,
                        log_interval=log_interval)
        self._sync_users()
        self._seeded = False
        self._server: APIHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT`` (valid after :meth:`start`)."""
        return f"https://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    def start(self) -> "RehearsalAPIServer":
        """Build the cluster (first start only), bind a free port and serve; returns ``self``."""
        if self._server is not None:
            return self
        if not self._seeded:
            seed(self.store, self.cluster, nodes=self.nodes, pods=self.pods, kube_system_uid=self.kube_system_uid)
            self._seeded = True
        self._app.stopping.clear()
        try:
            server = APIHTTPServer((self.host, 0), self._app, self._tls.server_context(),
                                   lambda: self.faults.blackholed)
        except OSError as exc:
            raise CheckFailure(f"the rehearsal API server could not listen on {self.host}: {exc}",
                               remedy="free a local port or check loopback networking") from exc
        self._server = server
        self.port = int(server.server_address[1])
        self._app.server_address = f"{self.host}:{self.port}"
        self._thread = serve_in_thread(server, f"rehearsal-api-{self.port}")
        self._kubelet = threading.Thread(target=self._run_kubelet, name=f"rehearsal-kubelet-{self.port}",
                                         daemon=True)
        self._kubelet.start()
        return self

    def _run_kubelet(self) -> None:
        """Restart crash-looping containers as their back-off runs out, and evict pods whose toleration of a
        NoExecute taint runs out, until :meth:`stop`."""
        faults, evictions = self.cluster.faults, self.cluster.evictions
        stopping = self._app.stopping
        while not stopping.is_set():
            faults.wake.clear()  # before the ticks: a sync during them wakes the next wait
            waits = [w for w in (faults.tick(), evictions.tick()) if w is not None]
            faults.wake.wait(min(waits, default=1.0))

    def stop(self) -> None:
        """Stop serving: end streams, close connections, free the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        self._app.stopping.set()
        self.cluster.faults.wake.set()
        if self._kubelet is not None:
            self._kubelet.join(timeout=5)
            self._kubelet = None
        server.shutdown()
        # Streams notice `stopping` within a quarter second and end their chunked bodies cleanly.
        self._app.wait_for_streams(2.0)
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self.request_log.close()

    def __enter__(self) -> "RehearsalAPIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- users
    @property
    def tokens(self) -> dict[str, str]:
        """user -> bearer token (a copy)."""
        return dict(self._tokens)

    def _sync_users(self) -> None:
        self._app.users = {token: user for user, token in self._tokens.items()}

    def set_policy(self, user: str, rules: Iterable[Mapping[str, Any]]) -> str:
        """Replace ``user``'s RBAC rules (creating the user, with a fresh token, if new); returns its token.

        ``rules`` are PolicyRule-shaped dicts: ``verbs``, ``apiGroups``, ``resources``,
        ``resourceNames``, ``nonResourceURLs``, plus an optional ``namespaces`` list. An empty list
        denies everything (discovery stays readable, as for any authenticated user).
        """
        normalised = validate_rules(rules)
        if user not in self._tokens:
            token = secrets.token_urlsafe(32)
            register_secret(token)
            self._tokens[user] = token
            self._sync_users()
        self._policies[user] = normalised
        return self._tokens[user]

    def policy(self, user: str) -> list[dict[str, Any]]:
        """``user``'s current rules (a copy)."""
        return [dict(r) for r in self._policies.get(user, [])]

    # ------------------------------------------------------------ knobs
    @property
    def bookmark_interval(self) -> float:
        """Seconds between BOOKMARK events on watches that allow them."""
        return self._app.bookmark_interval

    @bookmark_interval.setter
    def bookmark_interval(self, seconds: float) -> None:
        self._app.bookmark_interval = float(seconds)

    @property
    def log_interval(self) -> float:
        """Seconds between new lines of a followed pod log."""
        return self._app.log_interval

    @log_interval.setter
    def log_interval(self, seconds: float) -> None:
        self._app.log_interval = float(seconds)

    @property
    def crash_backoff(self) -> float:
        """The kubelet's first back-off, in seconds, for a crash-looping container (doubling per restart)."""
        return self.cluster.faults.backoff_base

    @crash_backoff.setter
    def crash_backoff(self, seconds: float) -> None:
        self.cluster.faults.backoff_base = float(seconds)
        self.cluster.faults.wake.set()

    @property
    def toleration_scale(self) -> float:
        """Real seconds the taint eviction controller waits per second of a pod's ``tolerationSeconds`` (1.0 as on
        a cluster; 0.001 turns the default 300 s into 0.3 s). A change applies to evictions already waiting."""
        return self.cluster.evictions.toleration_scale

    @toleration_scale.setter
    def toleration_scale(self, scale: float) -> None:
        _check_scale(scale)
        self.cluster.evictions.toleration_scale = float(scale)
        self.cluster.faults.wake.set()

    def compact(self) -> int:
        """Forget watch history (like an etcd compaction): older resourceVersions now get 410 Gone."""
        return self.store.compact()

    def delete_namespace(self, name: str) -> None:
        """DELETE namespace ``name`` (and everything in it) through this server's API, as its admin, so the
        namespace controller empties it as on a real cluster; one already gone is fine."""
        import ssl
        import urllib.error
        import urllib.request
        from urllib.parse import quote

        context = ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))
        request = urllib.request.Request(f"{self.url}/api/v1/namespaces/{quote(name, safe='')}", method="DELETE",
                                         headers={"Authorization": f"Bearer {self.admin_token}"})
        try:
            urllib.request.urlopen(request, context=context, timeout=10).close()
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise

    def drop_deployed_namespaces(self, timeout: float = 30.0) -> list[str]:
        """Delete every namespace the server did not start with (the system ones, and ``load`` of the ``pods``
        knob), and everything
        in them, and wait until they are gone: a honey on which nothing was deployed. Returns their names."""
        import time

        def names() -> set[str]:
            return {str((stored.obj.get("metadata") or {}).get("name") or "")
                    for stored in self.store.all("namespaces")} - {"", LOAD_NAMESPACE, *SYSTEM_NAMESPACES}

        dropped = sorted(names())
        for name in dropped:
            self.delete_namespace(name)
        deadline = time.monotonic() + timeout
        while names() & set(dropped):
            if time.monotonic() > deadline:
                raise TimeoutError(f"namespaces {sorted(names() & set(dropped))} were not deleted within {timeout:g}s")
            time.sleep(0.02)
        return dropped

    def add_node(self, name: str, role: str, *, labels: Mapping[str, str] | None = None,
                 taints: Iterable[Mapping[str, Any]] | None = None, ready: bool = True) -> dict[str, Any]:
        """Register another node (pending pods that now fit get scheduled; DaemonSets extend)."""
        with self.store.lock:
            if self.store.get("nodes", "", name) is not None:
                raise ValueError(f"node {name!r} already exists")
            index = self.store.count("nodes")
            obj = ko.node(name, role, index, labels=labels, taints=taints, ready=ready)
            self.cluster.reconcile("nodes", self.store.put("nodes", obj).obj)
            return self.store.get("nodes", "", name).obj  # type: ignore[union-attr]

    def set_node_ready(self, name: str, ready: bool | str) -> dict[str, Any]:
        """Change node ``name``'s readiness as its kubelet would: True (``Ready=True``), ``"False"`` (kubelet
        posts NotReady), False or ``"Unknown"`` (kubelet stopped posting: every condition Unknown). The node
        lifecycle controller reacts as on a cluster (see :mod:`gfwizard.rehearsal.k8s_nodes`): taints, pods
        no longer Ready, events. Returns the node as stored afterwards."""
        status = as_ready_status(ready)
        with self.store.lock:
            stored = self.store.get("nodes", "", name)
            if stored is None:
                raise KeyError(f"no node {name!r}; nodes: {self.node_names()}")
            node = stored.obj
            now = ko.ts()
            previous = (node.get("status") or {}).get("conditions") or []
            conditions = node_conditions(status, now, now, previous)
            updated = {**node, "metadata": dict(node["metadata"]),
                       "status": {**node["status"], "conditions": conditions}}
            self.cluster.reconcile("nodes", self.store.put("nodes", updated).obj)
            return self.store.get("nodes", "", name).obj  # type: ignore[union-attr]

    def node_names(self) -> list[str]:
        """Names of the current nodes, in name order."""
        return [s.key[1] for s in self.store.all("nodes")]

    # ----------------------------------------------------------- clients
    def kubeconfig_dict(self, user: str = "admin", context: str = "honey", cluster: str = "honey") -> dict[str, Any]:
        """A kubeconfig (as a dict) for ``user``: CA data, server URL and bearer token.

        Writing it anywhere is the caller's business (tests write it under ``tmp_path``).
        """
        import base64

        if user not in self._tokens:
            raise KeyError(f"unknown rehearsal user {user!r}; known: {sorted(self._tokens)}")
        return {
            "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
            "clusters": [{"name": cluster, "cluster": {
                "server": self.url, "certificate-authority-data": base64.b64encode(self.ca_pem).decode()}}],
            "users": [{"name": f"{cluster}-{user}", "user": {"token": self._tokens[user]}}],
            "contexts": [{"name": context, "context": {"cluster": cluster, "user": f"{cluster}-{user}"}}],
        }

