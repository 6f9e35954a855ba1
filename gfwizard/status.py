"""Status mode: a read-only view of honey, the stacks, their state and locks, live or as one snapshot.

Everything is read through :class:`~gfwizard.status_readonly.ReadOnlyKube` (GET, plus
SelfSubjectAccessReview) and :class:`~gfwizard.status_readonly.ReadOnlyState` (S3 GET/HEAD/LIST);
the journal is read, never appended. Nothing here imports the deploy engine, the IaC runner or the
backend's writers (``tests/unit/test_status_readonly.py`` checks that in a fresh interpreter).

* :func:`collect_once` — one snapshot: every kind listed once (paged), the API probed, state and
  locks read, the journal read. ``gfwizard status --once`` prints it.
* :class:`StatusSource` — the live feed behind the TUI: list-then-watch per kind
  (:mod:`gfwizard.status_watch`), an API probe every ``refresh_seconds`` and state/locks/journal every
  ``state_refresh_seconds``, each in its own thread (a slow bucket cannot delay the probe);
  :attr:`StatusSource.version` changes whenever something changed, so the UI rebuilds
  (:meth:`StatusSource.snapshot`) only then. API outages show as ``stale_since``.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from gfwizard.errors import GfwError
from gfwizard.redact import redact
from gfwizard.status_assemble import Inputs, assemble, pods_of
from gfwizard.status_model import NO_CLIENT, ClusterStatus, PodRow, StatusSnapshot, Unreadable
from gfwizard.status_probe import ClusterProbe
from gfwizard.status_readonly import LineStream, ReadError, ReadOnlyKube
from gfwizard.status_records import event_record, node_record, pod_record, workload_record
from gfwizard.status_state import ReadOnlyState, StateReader
from gfwizard.status_watch import Backoff, KindSpec, KindWatcher

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

#: Which pane a kind's "could not read" note belongs to.
PANE_OF = {"nodes": "nodes", "pods": "stacks", "deployments": "stacks", "statefulsets": "stacks",
           "daemonsets": "stacks", "events": "events"}

#: Seconds :meth:`StatusSource.stop` waits for all its threads together (quitting must be prompt).
STOP_BUDGET_SECONDS = 1.0


@dataclass(frozen=True)
class StatusOptions:
    """Knobs of status mode (the CLI sets the first three)."""

    #: Environments to show (None: all of organization.yaml's).
    envs: tuple[str, ...] | None = None
    lock_age_threshold_minutes: float = 30.0
    #: Seconds between API probes (and the UI's age refresh).
    refresh_seconds: float = 2.0
    #: Seconds between reads of the state objects, locks and journal (S3 has no watch).
    state_refresh_seconds: float = 10.0
    #: (connect, read) seconds for every API and S3 request but the probe.
    timeouts: tuple[float, float] = (3.0, 10.0)
    #: Seconds in all for one API probe: STALE shows at most ``refresh_seconds`` + this after the API goes silent.
    probe_timeout: float = 3.0
    #: Server-side timeout of each watch request (it is then resumed from its resourceVersion).
    watch_timeout: int = 240
    page_size: int = 500
    #: Warning events kept in memory.
    max_events: int = 300
    backoff_initial: float = 1.0
    backoff_cap: float = 30.0


def not_listed(why: str) -> list[Unreadable]:
    """One "could not read" entry per listed kind, when there is no API client to list them with."""
    return [Unreadable(pane=pane, what=name, detail=why) for name, pane in PANE_OF.items()]


def kind_specs(options: StatusOptions) -> list[KindSpec]:
    """The kinds status lists and watches."""
    return [
        KindSpec("nodes", "/api/v1/nodes", node_record, resource="nodes"),
        KindSpec("pods", "/api/v1/pods", pod_record, resource="pods"),
        KindSpec("deployments", "/apis/apps/v1/deployments", workload_record("Deployment"),
                 resource="deployments", group="apps"),
        KindSpec("statefulsets", "/apis/apps/v1/statefulsets", workload_record("StatefulSet"),
                 resource="statefulsets", group="apps"),
        KindSpec("daemonsets", "/apis/apps/v1/daemonsets", workload_record("DaemonSet"),
                 resource="daemonsets", group="apps"),
        KindSpec("events", "/api/v1/events", event_record, query={"fieldSelector": "type=Warning"},
                 resource="events", max_items=options.max_events),
    ]


def load_status_config(config_path: Path) -> "OrgConfig":
    """Load organization.yaml (raises ``ConfigError``, an InputError, naming file, line and field)."""
    from gfwizard.orgconfig import load_config

    return load_config(config_path)


def resolve_envs(cfg: "OrgConfig", env: str | None) -> tuple[str, ...]:
    """``(env,)`` after checking it exists (InputError naming the known ones), or every environment."""
    if env is None:
        return tuple(cfg.environments)
    cfg.environment(env)
    return (env,)


def _now(clock: Callable[[], float]) -> datetime:
    return datetime.fromtimestamp(clock(), timezone.utc)

# ----------------------------------------------------------------------- the live feed
class StatusFeed(Protocol):
    """What the status app reads from (a :class:`StatusSource`, or a fixed feed in tests)."""

    @property
    def version(self) -> int: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def snapshot(self) -> StatusSnapshot: ...

    def refresh_now(self) -> None: ...

    def workload_pods(self, namespace: str, kind: str, name: str) -> list[PodRow]: ...

    def open_logs(self, namespace: str, pod: str, container: str, tail: int = 200) -> LineStream: ...


class StatusSource:
    """The live, read-only view behind the status app (see the module docstring)."""

    def __init__(self, cfg: "OrgConfig", *, config_path: Path | str = "", environ: Mapping[str, str] | None = None,
                 options: StatusOptions | None = None, clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.config_path = str(config_path)
        self.environ = dict(os.environ if environ is None else environ)
        self.options = options or StatusOptions()
        self.clock = clock
        self.envs = list(self.options.envs or cfg.environments)
        self.kube: ReadOnlyKube | None = None
        self.kube_error = ""
        self.watchers: dict[str, KindWatcher] = {}
        self.denied: list[Unreadable] = []
        self.logs_allowed: bool | None = None
        self.probe: ClusterProbe | None = None
        self.state: StateReader | None = None
        self._version = 0
        self._version_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._wake_state = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = False

    # ------------------------------------------------------------ lifecycle
    @property
    def version(self) -> int:
        """Changes whenever anything shown changed."""
        return self._version

    def _changed(self, _what: str = "") -> None:
        with self._version_lock:
            self._version += 1

    def start(self) -> None:
        """Connect, check permissions, start the watchers and the poller (blocking network I/O: call
        from a worker thread). Never raises for cluster or S3 problems: they show in the snapshot."""
        if self.started:
            return
        self.started = True
        opts = self.options
        try:
            self.kube = ReadOnlyKube.for_config(self.cfg, environ=self.environ, timeouts=opts.timeouts)
        except GfwError as exc:
            self.kube_error = NO_CLIENT + redact(exc.message + (f" — {exc.remedy}" if exc.remedy else ""))
        self.probe = ClusterProbe(self.cfg, self.kube, self.kube_error, self.clock, opts.probe_timeout)
        self.state = StateReader(self.cfg, self.envs, environ=self.environ, timeouts=opts.timeouts, clock=self.clock)
        if self.kube is not None:
            specs = kind_specs(opts)
            allowed = self._reviews(specs)
            for spec in specs:
                if not allowed.get(spec.name, True):
                    self.denied.append(Unreadable(pane=PANE_OF[spec.name], what=spec.name, status=403,
                                                  detail=f"RBAC does not allow list/watch {spec.name}"))
                    continue
                self.watchers[spec.name] = KindWatcher(
                    self.kube, spec, on_change=self._changed, page_size=opts.page_size,
                    watch_timeout=opts.watch_timeout, clock=self.clock,
                    backoff=Backoff(opts.backoff_initial, opts.backoff_cap)).start()
        # The first picture is complete: probe, state and the first list of every kind (each bounded
        # by the request timeouts) before the poller takes over.
        self.probe.probe()
        self.state.poll()
        deadline = time.monotonic() + sum(opts.timeouts) + 5
        while time.monotonic() < deadline and any(not w.listed and w.error is None for w in self.watchers.values()):
            time.sleep(0.05)
        self._changed("started")
        self._threads = [threading.Thread(target=self._probe_loop, name="gfw-status-probe", daemon=True),
                         threading.Thread(target=self._state_loop, name="gfw-status-state", daemon=True)]
        for thread in self._threads:
            thread.start()

    def _reviews(self, specs: Sequence[KindSpec]) -> dict[str, bool]:
        """SelfSubjectAccessReviews for list and watch of every kind, and get pods/log."""
        assert self.kube is not None
        kube = self.kube
        checks: list[tuple[str, str, str, str, str]] = []
        for spec in specs:
            checks += [(spec.name, "list", spec.resource, spec.group, ""), (spec.name, "watch", spec.resource,
                                                                              spec.group, "")]
        checks.append(("logs", "get", "pods", "", "log"))

        def review(item: tuple[str, str, str, str, str]) -> tuple[str, bool | None]:
            name, verb, resource, group, sub = item
            try:
                return name, kube.access_review(verb, resource, group, sub)
            except GfwError:
                return name, None  # no answer: find out from the requests themselves

        allowed: dict[str, bool] = {}
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="gfw-status-ssar") as pool:
            for name, ok in pool.map(review, checks):
                if ok is not None:
                    allowed[name] = allowed.get(name, True) and ok
        self.logs_allowed = allowed.pop("logs", None)
        return allowed

    def _probe_loop(self) -> None:
        """Probe the API every ``refresh_seconds`` (sooner on :meth:`refresh_now`)."""
        while not self._stop.is_set():
            self._wake.wait(self.options.refresh_seconds)
            self._wake.clear()
            if self._stop.is_set() or self.probe is None:
                break
            before = self.probe.status
            self.probe.probe()
            if self.probe.status != before:
                self._changed("cluster")

    def _state_loop(self) -> None:
        """Re-read state, locks and journal every ``state_refresh_seconds`` (sooner on :meth:`refresh_now`)."""
        while not self._stop.is_set():
            self._wake_state.wait(self.options.state_refresh_seconds)
            self._wake_state.clear()
            if self._stop.is_set() or self.state is None:
                break
            before = self.state.signature()
            self.state.poll()
            if self.state.signature() != before:
                self._changed("state")

    def refresh_now(self) -> None:
        """The manual refresh: probe, re-read state/locks/journal and re-list every kind now."""
        self._wake.set()
        self._wake_state.set()
        for watcher in self.watchers.values():
            watcher.relist()

    def stop(self) -> None:
        """Stop every thread and close the connections, within :data:`STOP_BUDGET_SECONDS` in all.

        Every thread is told first and then all are waited for against one deadline: a thread stuck
        in a read of a silent API or bucket (up to the read timeout) must not hold up quitting, and
        six of them must not add up. They are daemons, so one still reading does not keep the process.
        """
        self._stop.set()
        self._wake.set()
        self._wake_state.set()
        for watcher in self.watchers.values():
            watcher.signal_stop()
        deadline = time.monotonic() + STOP_BUDGET_SECONDS
        for watcher in self.watchers.values():
            watcher.join(deadline - time.monotonic())
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.kube is not None:
            self.kube.close()

    # ------------------------------------------------------------------ reads
    def _stale(self) -> tuple[datetime | None, str]:
        candidates = [(since, reason) for since, reason, _pane in self._stale_sources()]
        if not candidates:
            return None, ""
        # Since the first failure; why: the first failing read of the API and of the state store each.
        api = [c for c in candidates if c[1].startswith("API")]
        rest = [c for c in candidates if not c[1].startswith("API")]
        reason = "; ".join(min(group)[1] for group in (api, rest) if group)
        return datetime.fromtimestamp(min(candidates)[0], timezone.utc), reason

    def _stale_panes(self) -> dict[str, datetime]:
        """Pane -> since when a source it shows has been failing (its rows are the last ones read)."""
        out: dict[str, float] = {}
        for since, _reason, pane in self._stale_sources():
            out[pane] = min(since, out.get(pane, since))
        return {pane: datetime.fromtimestamp(since, timezone.utc) for pane, since in out.items()}

    def _stale_sources(self) -> list[tuple[float, str, str]]:
        """(since, reason, pane) of every failing source; the state store feeds two panes."""
        out: list[tuple[float, str, str]] = []
        since = self.probe.stale_as_of(self.clock()) if self.probe is not None else None
        if self.probe is not None and since is not None:
            error = self.probe.status.error if self.probe.stale_since is not None else ""
            reason = "API: " + (error or f"{self.probe.status.server} did not answer GET /version in time "
                                          f"({self.probe.timeout:.1f}s)")
            out.append((since, reason, "cluster"))
            # A watch on a dropped connection stays silent until its read timeout (minutes): the rows
            # listed through it are no longer live once the API stops answering the probe.
            out += [(since, reason, pane)
                    for pane in sorted({PANE_OF[name] for name, w in self.watchers.items() if w.listed})]
        for w in self.watchers.values():
            if w.stale_since is not None:
                out.append((w.stale_since, f"API ({w.spec.name}): " + (w.error.message if w.error else ""),
                            PANE_OF[w.spec.name]))
        if self.state is not None and self.state.stale_since is not None:
            out += [(self.state.stale_since, self.state.stale_reason, pane) for pane in ("stacks", "locks")]
        return out

    def _unreadable(self) -> list[Unreadable]:
        out = list(self.denied)
        if self.started and self.kube is None:
            out += not_listed(self.kube_error)
        for name, w in self.watchers.items():
            # A kind listed before keeps showing its last list (marked stale); one never listed is unknown.
            if (w.unreadable or not w.listed) and w.error is not None:
                out.append(Unreadable(pane=PANE_OF[name], what=name, status=w.error.status, detail=w.error.message))
        if self.probe is not None:
            out += _uid_unreadable(self.probe)
        if self.logs_allowed is False:
            out.append(Unreadable(pane="stacks", what="pods/log", status=403,
                                  detail="RBAC does not allow get pods/log"))
        if self.state is not None:
            out += self.state.unreadable
        return out

    def snapshot(self) -> StatusSnapshot:
        """The current snapshot, built from the caches (no I/O)."""
        workloads = _workload_index(self.watchers)
        stale_since, stale_reason = self._stale()
        state = self.state
        inputs = Inputs(
            cluster=self.probe.status if self.probe else ClusterStatus(server=self.cfg.cluster.api_server,
                                                                       context=self.cfg.cluster.context),
            nodes=self._items("nodes"), pods=self._items("pods"), workloads=workloads, events=self._items("events"),
            states=state.states if state else {}, locks=state.locks if state else [],
            last_applies=state.applies if state else {}, run_states=state.run_states if state else {},
            expected=state.expected if state else {},
            unreadable=self._unreadable(),
            stale_since=stale_since, stale_reason=stale_reason, stale_panes=self._stale_panes())
        return assemble(self.cfg, inputs, envs=self.envs, now=_now(self.clock), config_path=self.config_path,
                        lock_age_threshold_minutes=self.options.lock_age_threshold_minutes)

    def _items(self, name: str) -> list[Any]:
        w = self.watchers.get(name)
        return w.items() if w is not None else []

    def workload_pods(self, namespace: str, kind: str, name: str) -> list[PodRow]:
        """The pods of one workload (from the pod cache: no I/O)."""
        return pods_of(self._items("pods"), namespace, kind, name)

    def open_logs(self, namespace: str, pod: str, container: str, tail: int = 200) -> LineStream:
        """Follow a container's log (GET with ``follow``); raises :class:`ReadError` when denied or down."""
        if self.kube is None:
            raise ReadError("unreachable", self.kube_error or "no cluster connection", "check the kubeconfig")
        return self.kube.open_stream(f"/api/v1/namespaces/{namespace}/pods/{pod}/log",
                                     {"container": container, "tailLines": tail, "follow": "true"},
                                     read_timeout=300)


def _workload_index(watchers: Mapping[str, KindWatcher]) -> dict[tuple[str, str, str], Any]:
    """``(kind, namespace, name) -> record`` of every listed Deployment, StatefulSet and DaemonSet."""
    index = {}
    for name in ("deployments", "statefulsets", "daemonsets"):
        w = watchers.get(name)
        for rec in w.items() if w is not None else ():
            index[(rec.kind, rec.namespace, rec.name)] = rec
    return index


def _uid_unreadable(probe: ClusterProbe) -> list[Unreadable]:
    """The API pane's note when the kube-system namespace (the fingerprint's UID) was refused."""
    error = probe.uid_error
    if error is None or error.status not in (401, 403):
        return []
    return [Unreadable(pane="cluster", what="namespaces/kube-system", status=error.status, detail=error.message)]


# ------------------------------------------------------------------------ one snapshot
def collect_once(cfg: "OrgConfig", *, config_path: Path | str = "", environ: Mapping[str, str] | None = None,
                 options: StatusOptions | None = None, clock: Callable[[], float] = time.time) -> StatusSnapshot:
    """One snapshot: list each kind once (concurrently), probe the API, read state, locks and journal."""
    options = options or StatusOptions()
    environ = dict(os.environ if environ is None else environ)
    envs = list(options.envs or cfg.environments)
    kube: ReadOnlyKube | None = None
    kube_error = ""
    try:
        kube = ReadOnlyKube.for_config(cfg, environ=environ, timeouts=options.timeouts)
    except GfwError as exc:
        kube_error = NO_CLIENT + redact(exc.message + (f" — {exc.remedy}" if exc.remedy else ""))
    probe = ClusterProbe(cfg, kube, kube_error, clock, options.probe_timeout)
    state = StateReader(cfg, envs, environ=environ, timeouts=options.timeouts, clock=clock)
    watchers = {spec.name: KindWatcher(kube, spec, page_size=options.page_size, clock=clock)
                for spec in kind_specs(options)} if kube is not None else {}
    unreadable: list[Unreadable] = []

    def list_kind(w: KindWatcher) -> None:
        try:
            w.list_once()
        except ReadError as exc:
            w.error = exc

    try:
        with ThreadPoolExecutor(max_workers=len(watchers) + 2, thread_name_prefix="gfw-status-once") as pool:
            jobs = [pool.submit(list_kind, w) for w in watchers.values()]
            jobs.append(pool.submit(probe.probe))
            jobs.append(pool.submit(state.poll))
            for job in jobs:
                job.result()
    finally:
        if kube is not None:
            kube.close()
    for name, w in watchers.items():
        if w.error is not None:
            unreadable.append(Unreadable(pane=PANE_OF[name], what=name, status=w.error.status,
                                         detail=w.error.message))
    unreadable += _uid_unreadable(probe)
    if kube is None:
        unreadable += not_listed(kube_error)
    unreadable += state.unreadable
    workloads = _workload_index(watchers)

    def items(name: str) -> list[Any]:
        return watchers[name].items() if name in watchers else []

    inputs = Inputs(cluster=probe.status, nodes=items("nodes"), pods=items("pods"), workloads=workloads,
                    events=items("events"), states=state.states, locks=state.locks, last_applies=state.applies,
                    run_states=state.run_states, expected=state.expected, unreadable=unreadable)
    return assemble(cfg, inputs, envs=envs, now=_now(clock), config_path=str(config_path),
                    lock_age_threshold_minutes=options.lock_age_threshold_minutes)


#: The name docs/architecture.md gives the one-snapshot entry point.
snapshot = collect_once


__all__ = ["ClusterProbe", "ReadOnlyKube", "ReadOnlyState", "StateReader", "StatusFeed", "StatusOptions",
           "StatusSource", "collect_once", "kind_specs", "load_status_config", "resolve_envs",
           "snapshot"]
