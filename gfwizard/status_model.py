"""The typed status snapshot: what status mode shows, and what counts as unhealthy.

A :class:`StatusSnapshot` is a plain value: the TUI renders it, ``gfwizard status --once`` prints it
(``--json``: :meth:`StatusSnapshot.to_json`, keys documented in docs/json-output.md) and
:attr:`StatusSnapshot.problems` decides the exit code. Times are aware UTC datetimes; ages are
computed against ``taken_at`` so a snapshot renders the same way whenever it is shown.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime
from functools import cached_property
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from gfwizard.durations import duration
from gfwizard.placement import not_ready_why

SCHEMA_VERSION = 1
FingerprintState = Literal["match", "mismatch", "unpinned", "unknown"]
ProblemKind = Literal["api-unreachable", "fingerprint-mismatch", "node-not-ready", "workload-below-desired",
                      "crash-looping", "old-lock", "state-unreachable", "running-without-state", "run-gone"]
#: What became of the process of an apply that recorded no outcome (:data:`gfwizard.journal_process.RunState`;
#: "" for an apply that recorded one).
ApplyRunState = Literal["", "running", "gone", "elsewhere", "unknown"]
WorkloadSource = Literal["state", "defaults", "untracked", "none"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ClusterStatus(_Frozen):
    """The API pane: reachability, version, round trip and identity."""

    server: str = ""
    context: str = ""
    reachable: bool = False
    version: str = ""
    latency_ms: float | None = None
    fingerprint: FingerprintState = "unknown"
    fingerprint_detail: str = ""
    #: False when the kubeconfig's server differs from ``cluster.api_server`` in organization.yaml.
    server_matches_config: bool = True
    #: A note about the kubeconfig list the client was read from (files skipped as empty), "" when none.
    kubeconfig_note: str = ""
    error: str = ""


class NodeRow(_Frozen):
    """One node: role, readiness, pressure, taints, and allocatable vs requested."""

    name: str
    role: str
    ready: bool
    pressure: list[str] = Field(default_factory=list)
    taints: list[str] = Field(default_factory=list)
    unschedulable: bool = False
    cpu_allocatable_m: int = 0
    cpu_requested_m: int = 0
    memory_allocatable: int = 0
    memory_requested: int = 0
    pods: int = 0


class WorkloadRow(_Frozen):
    """One workload of a stack: ready/desired, restarts, crash-looping pods."""

    namespace: str
    kind: str
    name: str
    desired: int
    ready: int = 0
    found: bool = False
    #: False when its kind could not be listed: whether it exists, and how ready it is, is unknown.
    known: bool = True
    #: False when the pods could not be listed: ``restarts``, ``crash_looping`` and ``pods`` say nothing.
    pods_known: bool = True
    restarts: int = 0
    crash_looping: list[str] = Field(default_factory=list)
    pods: int = 0

    @property
    def below_desired(self) -> bool:
        """Fewer ready replicas than desired (or missing altogether); never claimed when unknown."""
        return self.known and (self.ready < self.desired or (not self.found and self.desired > 0))


class StateRow(_Frozen):
    """The stack's state object (metadata, serial, lineage), or why it could not be read."""

    key: str
    exists: bool = False
    serial: int | None = None
    lineage: str = ""
    last_modified: datetime | None = None
    error: str = ""
    error_status: int | None = None


class ApplyRow(_Frozen):
    """The stack's last apply in the journal."""

    run_id: str
    outcome: str
    started_at: datetime
    ended_at: datetime | None = None
    operator: str = ""
    pid: int = 0
    #: For a ``started`` apply (no outcome recorded): whether its process still runs, read from this host's
    #: ``/proc`` when the status was taken (``elsewhere``: it ran on another host, which cannot be seen).
    run_state: ApplyRunState = ""
    error: str = ""


class StackRow(_Frozen):
    """One stack in one environment."""

    env: str
    stack: str
    role: str = ""
    #: Where the workload list came from: the state's ``workloads`` output, the documented defaults
    #: (state unreadable), the defaults again where there is no state yet some of them run (untracked),
    #: or nowhere (not applied in this environment).
    source: WorkloadSource = "none"
    state: StateRow
    last_apply: ApplyRow | None = None
    workloads: list[WorkloadRow] = Field(default_factory=list)


class LockRow(_Frozen):
    """One held state lock."""

    env: str
    stack: str
    id: str = ""
    who: str = ""
    operation: str = ""
    created: datetime | None = None
    age_seconds: float | None = None
    old: bool = False
    error: str = ""


class EventRow(_Frozen):
    """One recent Warning event."""

    namespace: str
    object: str
    reason: str
    message: str
    count: int = 1
    last_seen: datetime | None = None


class Unreadable(_Frozen):
    """Something status could not read, and why (a pane shows these instead of failing)."""

    pane: str
    what: str
    status: int | None = None
    detail: str = ""
    #: The store did not answer at all (refused, timed out, 5xx): an outage, not a permission.
    outage: bool = False
    #: What to do, when the cause is a setting rather than a failed request (shown with ``detail``).
    remedy: str = ""

    @property
    def note(self) -> str:
        """``could not read: secrets (403)``."""
        return f"could not read: {self.what}" + (f" ({self.status})" if self.status else "")


class PodRow(_Frozen):
    """One pod of a selected workload."""

    namespace: str
    name: str
    node: str = ""
    phase: str = ""
    ready: bool = False
    restarts: int = 0
    waiting_reason: str = ""
    containers: list[str] = Field(default_factory=list)
    created: datetime | None = None


class Problem(_Frozen):
    """One reason the snapshot is unhealthy."""

    kind: ProblemKind
    subject: str
    detail: str


#: How status starts the error text when it could not even build an API client (kubeconfig unusable).
NO_CLIENT = "no API client: "


def api_failure(error: str) -> str:
    """What kind of failure the API read was, from the error text: ``kubeconfig unusable`` (no client
    could be built: nothing was contacted), ``credentials rejected``, ``read refused``, ``unreachable``
    or ``error`` (an answer with an error status)."""
    if error.startswith(NO_CLIENT):
        return "kubeconfig unusable"
    text = error.lower()
    # Status codes as whole words: "127.0.0.1:40331" must not read as a 403.
    if re.search(r"\b401\b", text) or "unauthorized" in text:
        return "credentials rejected"
    if re.search(r"\b403\b", text) or "forbidden" in text:
        return "read refused"
    if any(word in text for word in _NO_ANSWER):
        return "unreachable"
    return "error"


#: Words of an error text that mean the API never answered.
_NO_ANSWER = ("did not answer", "timed out", "timeout", "refused", "unreachable", "no route", "name or service",
              "connect")

#: What to do about each kind of :func:`api_failure`.
_API_REMEDIES = {
    "kubeconfig unusable": ("fix the kubeconfig and context organization.yaml names (cluster.kubeconfig, "
                            "cluster.context): `gfwizard discover` lists what this machine has, `gfwizard validate` "
                            "checks it"),
    "credentials rejected": ("the kubeconfig's credentials were rejected: get a fresh kubeconfig for honey, then run "
                             "`gfwizard validate`"),
    "read refused": ("this kubeconfig's user may not read it: ask for read access (get, list, watch), then "
                     "`gfwizard validate`"),
    "unreachable": ("check that honey's API server is up and reachable from here (tailnet connected?); "
                    "`gfwizard validate` shows which check fails"),
    "error": ("the API server answered with an error: check its health (`gfwizard validate`, the control-plane "
              "logs)"),
}
#: How the reading goes on after a failure that may pass by itself: the live view retries, ``--once`` read once.
_RETRIES = {True: "; status keeps retrying",
            False: "; then run `gfwizard status --once` again (the live `gfwizard status` keeps retrying by itself)"}


def api_remedy(error: str, *, live: bool = True) -> str:
    """What to do when the API cannot be read, from the error text (401, 403, no answer, an error status).
    ``live``: for the live view, which keeps retrying; otherwise (``status --once``) the read is not repeated."""
    kind = api_failure(error)
    return _API_REMEDIES[kind] + (_RETRIES[live] if kind in ("unreachable", "error") else "")


_STATE_REMEDY = ("the state store (RustFS on honey) or the way to it is down: check its pods and the endpoint; "
                 "state is safe in the versioned bucket, and no deploy can run until it answers")


def state_remedy(error: str) -> str:
    """What to do when the state store does not answer, from the error text: first unset
    ``AWS_ENDPOINT_URL_S3`` when it, not organization.yaml, chose the endpoint that failed (the error then
    ends with :attr:`~gfwizard.backend_s3.S3Target.override_note`)."""
    from gfwizard.backend_s3 import ENDPOINT_OVERRIDE

    if ENDPOINT_OVERRIDE in error:
        return ("the endpoint that did not answer is AWS_ENDPOINT_URL_S3's, not state.s3.endpoint's: unset it to read "
                "the configured store, or point it at the S3 service; " + _STATE_REMEDY)
    return _STATE_REMEDY


def stale_sources(reason: str) -> str:
    """What is failing, in a few words, from a stale reason (``API unreachable, S3 not answering``)."""
    parts = []
    for part in reason.split("; ") if reason else []:
        kind = api_failure(part)
        text = ("API " + ("answering with errors" if kind == "error" else kind) if part.startswith("API")
                else "S3 not answering")
        if text not in parts:
            parts.append(text)
    return ", ".join(parts) or "a source not answering"


def stale_remedy(reason: str) -> str:
    """What to do while the data is stale, for each failing source of ``reason`` (``API …; S3: …``)."""
    return "; ".join(api_remedy(part) if part.startswith("API") else state_remedy(part) for part in reason.split("; "))


def problem_remedy(problem: Problem, *, live: bool = True, context: str = "") -> str:
    """What the operator can do about ``problem`` (status itself never changes anything).

    ``live``: for the live view, whose panes it names; otherwise (``status --once``, read where no pane is
    open) a workload's remedy names the kubectl commands that show why, for ``context``."""
    if problem.kind == "api-unreachable":
        return api_remedy(problem.detail, live=live)
    if problem.kind == "fingerprint-mismatch":
        return "stop: this API is not the pinned honey; check the kubeconfig and context, then `gfwizard validate`"
    if problem.kind == "node-not-ready":
        return "check the node (`kubectl describe node`); its role's workloads cannot be scheduled there"
    if problem.kind == "old-lock":
        env = problem.subject.split("/", 1)[0]
        return (f"ask the holder whether that run still goes on; `gfwizard backend locks --env {env}` shows the "
                "lock, and only a run that is gone for good may be force-unlocked")
    if problem.kind == "state-unreachable":
        return state_remedy(problem.detail)
    if problem.kind == "run-gone":
        env = problem.subject.split("/", 1)[0]
        return (f"`gfwizard deploy --env {env}` plans again and applies only what is missing (`--resume` continues "
                f"the run); a state lock it may have left: `gfwizard backend locks --env {env}`")
    if problem.kind == "running-without-state":
        env, _, stack = problem.subject.partition("/")
        return (f"do not deploy {stack} in {env} yet: without its state an apply would create it all again. If "
                f"its state is still on the GitLab HTTP backend, move it: `gfwizard backend migrate --env {env} "
                f"--stack {stack}`; if it was deleted, restore the previous version of its state object (the bucket is "
                f"versioned) or import the resources before any apply (`gfwizard deploy` stops it until then)")
    if live:
        return ("open the workload (Stacks pane, Enter) to see its pods and logs; its Warning events are in the "
                "Events pane (5)")
    return _workload_remedy_once(problem, context)


def _workload_remedy_once(problem: Problem, context: str) -> str:
    """A workload problem's remedy for ``status --once``: the kubectl command that shows why."""
    kind, _, where = problem.subject.partition(" ")[2].partition(" ")
    namespace, _, name = where.partition("/")
    # A context name is free text from a kubeconfig; the namespace and pod names are DNS labels.
    kubectl = f"kubectl --context {shlex.quote(context)} -n {namespace}" if context else f"kubectl -n {namespace}"
    if problem.kind == "crash-looping":
        pod = problem.detail.removeprefix("CrashLoopBackOff: ").split(", ")[0]
        why = f"`{kubectl} logs {pod} --previous` shows the last crash"
    else:
        why = f"`{kubectl} describe {kind.lower()} {name}` and its pods' `describe pod` say what it waits for"
    return f"{why}; `gfwizard status` (Stacks pane, Enter) follows its pods' logs"


class StatusSnapshot(_Frozen):
    """Everything status mode shows at one moment."""

    schema_version: int = SCHEMA_VERSION
    taken_at: datetime
    config_path: str = ""
    read_only: bool = True
    envs: list[str] = Field(default_factory=list)
    lock_age_threshold_minutes: float = 30.0
    #: When the data stopped being live (API or S3 unreachable), or None while it is live.
    stale_since: datetime | None = None
    #: What is failing while the data is stale (e.g. ``API: 503 ...``).
    stale_reason: str = ""
    #: Pane -> since when a source it shows has been failing: its rows are the last ones read (the
    #: live view says so above them; not part of the ``--json`` document, whose one read is never stale).
    stale_panes: dict[str, datetime] = Field(default_factory=dict)
    cluster: ClusterStatus = Field(default_factory=ClusterStatus)
    nodes: list[NodeRow] = Field(default_factory=list)
    stacks: list[StackRow] = Field(default_factory=list)
    locks: list[LockRow] = Field(default_factory=list)
    events: list[EventRow] = Field(default_factory=list)
    unreadable: list[Unreadable] = Field(default_factory=list)

    @cached_property
    def problems(self) -> list[Problem]:
        """Every unhealthy finding (the exit code of ``status --once`` is 1 when there is one).

        Found once per snapshot (the banner, each pane and ``healthy`` ask on every refresh): the model is frozen
        and nothing changes its lists after assembly. Not a field: ``model_dump`` and ``--json``'s own
        ``problems`` (with remedies, :meth:`to_json`) do not carry it."""
        out: list[Problem] = []
        c = self.cluster
        if not c.reachable:
            out.append(Problem(kind="api-unreachable", subject=c.server or "API",
                               detail=c.error or "the API did not answer"))
        if c.fingerprint == "mismatch":
            out.append(Problem(kind="fingerprint-mismatch", subject=c.server or "API", detail=c.fingerprint_detail))
        for node in self.nodes:
            if not node.ready:
                why = not_ready_why(t.split("=", 1)[0].split(":", 1)[0] for t in node.taints)
                out.append(Problem(kind="node-not-ready", subject=f"node {node.name}",
                                   detail=f"not Ready (role {node.role}{'; ' + why if why else ''})"))
        for stack in self.stacks:
            if stack.source == "untracked":
                running = ", ".join(f"{w.kind} {w.namespace}/{w.name}" for w in stack.workloads if w.found)
                out.append(Problem(kind="running-without-state", subject=f"{stack.env}/{stack.stack}",
                                   detail=f"no state object {stack.state.key} in S3, yet {running} runs"))
            gone = stack.last_apply
            if gone is not None and gone.run_state == "gone":
                age = duration(max(0.0, (self.taken_at - gone.started_at).total_seconds()))
                out.append(Problem(kind="run-gone", subject=f"{stack.env}/{stack.stack}",
                                   detail=f"the apply of run {gone.run_id} (pid {gone.pid} on {gone.operator or '?'}) "
                                          f"started {age} ago "
                                          "and never recorded an outcome: its process is gone (killed, or its "
                                          "host restarted)"))
            if stack.source == "none":
                continue
            for w in stack.workloads:
                # Without the state (unreadable, or none yet running) nobody knows whether a workload
                # should exist, so one not found is no problem; one found is, and its pods are facts.
                if stack.source != "state" and not w.found:
                    continue
                subject = f"{stack.env}/{stack.stack} {w.kind} {w.namespace}/{w.name}"
                if w.below_desired:
                    what = f"{w.ready}/{w.desired} ready" if w.found else f"missing (0/{w.desired} ready)"
                    out.append(Problem(kind="workload-below-desired", subject=subject, detail=what))
                if w.crash_looping:
                    out.append(Problem(kind="crash-looping", subject=subject,
                                       detail="CrashLoopBackOff: " + ", ".join(w.crash_looping)))
        outage = next((u for u in self.unreadable if u.outage), None)
        if outage is not None:
            out.append(Problem(kind="state-unreachable", subject="S3 state bucket",
                               detail=f"{outage.note}: {outage.detail}"))
        for lock in self.locks:
            if lock.old:
                out.append(Problem(kind="old-lock", subject=f"{lock.env}/{lock.stack}",
                                   detail=f"held by {lock.who or '?'} ({lock.operation or '?'}) for "
                                          f"{duration(lock.age_seconds or 0)}, over the "
                                          f"{duration(self.lock_age_threshold_minutes * 60)} threshold"))
        return out

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> "StatusSnapshot":
        """A copy, ``update`` fields changed; its :attr:`problems` are found again (pydantic copies the
        instance's ``__dict__``, where a found value is kept, and would give the copy this one's)."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("problems", None)
        return copied

    @property
    def healthy(self) -> bool:
        """No problem found."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` document (stable keys; docs/json-output.md)."""
        doc = self.model_dump(mode="json")
        # Each problem with what to do about it, as the text output prints it under the problem.
        problems = [{**p.model_dump(mode="json"), "remedy": problem_remedy(p, live=False, context=self.cluster.context)}
                    for p in self.problems]
        ordered: dict[str, Any] = {
            "schema_version": doc["schema_version"], "taken_at": doc["taken_at"], "read_only": True,
            "healthy": not problems, "problems": problems, "stale_since": doc["stale_since"],
            "stale_reason": doc["stale_reason"],
            "config_path": doc["config_path"], "envs": doc["envs"],
            "lock_age_threshold_minutes": doc["lock_age_threshold_minutes"],
            "cluster": doc["cluster"], "nodes": doc["nodes"], "stacks": doc["stacks"], "locks": doc["locks"],
            "events": doc["events"],
            "unreadable": [{**u.model_dump(mode="json"), "note": u.note} for u in self.unreadable],
        }
        return ordered

    def notes_for(self, pane: str) -> list[str]:
        """The ``could not read: ...`` notes of one pane, one per cause: reads that failed the same way
        are said once (``could not read: 8 state objects (not answering)``, ``could not read: pods,
        deployments (403)``); with why and what to do when a setting is the cause."""
        groups: dict[tuple[str, int | None, bool, str, str], list[Unreadable]] = {}
        for u in self.unreadable:
            if u.pane != pane:
                continue
            per_object = u.what.startswith("state ") and not u.remedy
            key = ("state" if per_object else "kind", u.status, u.outage, u.remedy, u.detail if u.remedy else "")
            groups.setdefault(key, []).append(u)
        out = []
        for (category, status, outage, remedy, detail), entries in groups.items():
            if len(entries) == 1:
                out.append(entries[0].note + (f": {detail} — {remedy}" if remedy else ""))
                continue
            what = f"{len(entries)} state objects" if category == "state" else ", ".join(u.what for u in entries)
            why = f" ({status})" if status else (" (S3 not answering)" if category == "state" else
                                                 " (not answering)") if outage else ""
            out.append(f"could not read: {what}{why}" + (f": {detail} — {remedy}" if remedy else ""))
        return out
