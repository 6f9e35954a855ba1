"""Rehearsal-only workload faults: the annotation that makes a Deployment's pods crash-loop.

``kubectl annotate deployment <name> rehearsal.gloriousflywheel.io/fault=crashloop`` makes every pod of that
Deployment (present and future) behave as a kubelet reports a container that exits at start: the pod
stays ``Running`` but not Ready, its container waits in ``CrashLoopBackOff`` with the kubelet's back-off
message, ``lastState.terminated`` holds the failed run (exit code 1, ``Error``), ``restartCount`` climbs
at the kubelet's back-off (``backoff_base`` seconds, doubling, at most 30 times the base: 10 s ... 5 min
by default), a ``BackOff`` Warning event on the pod counts up, and the pod's log (current and
``--previous``) ends with the line saying why it exits. Removing the annotation (``...fault-``) lets the
next start succeed: the container runs and is Ready again, its restarts and ``lastState`` kept, as on a
cluster.

``...fault=pending`` makes them unschedulable instead: the running pods go (as if evicted) and their
replacements stay ``Pending`` with an ``Unschedulable`` condition and the scheduler's ``FailedScheduling``
Warning (``Insufficient memory`` on the nodes the pod would otherwise fit); removing the annotation lets the
scheduler place them.

Nothing on a real cluster reads this annotation: it is rehearsal machinery (the API server refuses any
other value, and the annotation on anything but a Deployment).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Mapping

from gfwizard.rehearsal import k8s_objects as ko

if TYPE_CHECKING:
    from gfwizard.rehearsal.k8s_controllers import Cluster
    from gfwizard.rehearsal.k8s_sched import Fit

Obj = dict[str, Any]

FAULT_ANNOTATION = "rehearsal.gloriousflywheel.io/fault"
#: The values the annotation takes.
FAULTS = ("crashloop", "pending")
CRASH_LOOP = "CrashLoopBackOff"
#: The kubelet's back-off cap, in multiples of its base (10 s -> 5 min).
_BACKOFF_CAP = 30


def validate(kind: str, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Field errors for a fault annotation on ``obj`` (a workload of ``kind``): none when it has none."""
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(FAULT_ANNOTATION)
    if value is None:
        return []
    field = f"metadata.annotations[{FAULT_ANNOTATION}]"
    if kind != "Deployment":
        return [(field, f"Forbidden: the rehearsal's fault annotation works on Deployments only, not on a {kind}")]
    if value not in FAULTS:
        supported = ", ".join(f'"{f}"' for f in FAULTS)
        return [(field, f'Unsupported value: "{value}": supported values: {supported}')]
    return []


def insufficient_memory(result: "Fit") -> str:
    """The scheduler's ``FailedScheduling`` message when the nodes ``result`` fits lack memory for the pod."""
    total, fits = result.total, len(result.nodes)
    if not total:
        return "no nodes available to schedule pods"
    reasons = [f"{count} node(s) had untolerated taint {taint}" for taint, count in result.untolerated.items()]
    if result.selector_mismatch:
        reasons.append(f"{result.selector_mismatch} node(s) didn't match Pod's node affinity/selector")
    if fits:
        reasons.append(f"{fits} Insufficient memory")
    preemption = [f"{fits} No preemption victims found for incoming pod"] if fits else []
    if total - fits:
        preemption.append(f"{total - fits} Preemption is not helpful for scheduling")
    return (f"0/{total} nodes are available: {', '.join(sorted(reasons))}. preemption: 0/{total} nodes are "
            f"available: {', '.join(sorted(preemption))}.")


def go_duration(seconds: float) -> str:
    """``seconds`` as Go prints a ``time.Duration`` (``10s``, ``1m20s``, ``5m0s``; sub-second: ``500ms``)."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    whole = int(round(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def crash_log(pod: Mapping[str, Any], container: str) -> list[str]:
    """The lines a crash-looping container writes before it exits (the last one says why)."""
    meta = pod.get("metadata") or {}
    deployment = _deployment_name(pod) or "?"
    name = str(meta.get("name") or "")
    return [
        ko.log_line(name, container, 0),
        ko.log_line(name, container, 1),
        f'level=ERROR seq=2 msg="exiting with status 1: rehearsal fault injected (annotation {FAULT_ANNOTATION}='
        f'crashloop on deployment {meta.get("namespace", "")}/{deployment}; remove it to recover)"',
    ]


def _deployment_name(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    template_hash = (meta.get("labels") or {}).get("pod-template-hash", "")
    for ref in meta.get("ownerReferences") or ():
        name = str(ref.get("name") or "")
        if ref.get("kind") == "ReplicaSet" and template_hash and name.endswith("-" + template_hash):
            return name[: -len(template_hash) - 1]
    return ""


def _crashing(pod: Mapping[str, Any]) -> bool:
    return any(((cs.get("state") or {}).get("waiting") or {}).get("reason") == CRASH_LOOP
               for cs in (pod.get("status") or {}).get("containerStatuses") or [])


class WorkloadFaults:
    """The kubelet side of the fault annotation for one rehearsal :class:`Cluster` (see the module docstring).

    :meth:`sync` runs whenever a Deployment or one of its ReplicaSets is reconciled; :meth:`tick` restarts
    the containers whose back-off has run out (the API server's kubelet thread calls it)."""

    def __init__(self, cluster: "Cluster", backoff_base: float = 10.0) -> None:
        self.cluster = cluster
        #: The kubelet's first back-off, in seconds (it doubles per restart, capped at 30 times this).
        self.backoff_base = float(backoff_base)
        #: (namespace, pod name, uid) -> when its container is next restarted (time.monotonic()).
        self._due: dict[tuple[str, str, str], float] = {}
        #: pod uid -> the name of its BackOff event (the kubelet counts one event up).
        self._backoff_events: dict[str, str] = {}
        self.wake = threading.Event()

    # ----------------------------------------------------------- controller
    def fault_of(self, owner: Mapping[str, Any]) -> str | None:
        """The fault annotation on the Deployment behind ``owner`` (a pod's ReplicaSet), or None."""
        if owner.get("kind") != "ReplicaSet":
            return None
        found = self.cluster._owner_of(owner)
        if found is None or found[0] != "deployments":
            return None
        return ((found[1].get("metadata") or {}).get("annotations") or {}).get(FAULT_ANNOTATION)

    def held_pending(self, pod: Mapping[str, Any]) -> bool:
        """Is ``pod`` kept unschedulable by ``fault=pending`` on its Deployment?"""
        owner = self.cluster._owner_of(pod)
        return owner is not None and self.fault_of(owner[1]) == "pending"

    def refusal(self, owner: Mapping[str, Any], result: "Fit") -> str | None:
        """The ``FailedScheduling`` message for pods ``owner`` creates while ``fault=pending`` holds, else None."""
        return insufficient_memory(result) if self.fault_of(owner) == "pending" else None

    def sync(self, deployment: Obj) -> None:
        """Bring ``deployment``'s pods in line with its fault annotation (under the store lock)."""
        store = self.cluster.store
        fault = ((deployment.get("metadata") or {}).get("annotations") or {}).get(FAULT_ANNOTATION)
        owned = store.owned("replicasets", deployment["metadata"]["uid"])
        if fault == "pending":
            for rs in owned:
                bound = [p for p in store.owned("pods", rs.obj["metadata"]["uid"]) if p.obj["spec"].get("nodeName")]
                for pod in bound:  # evicted; the ReplicaSet's replacements cannot be scheduled
                    store.delete("pods", pod.key[0], pod.key[1])
                if bound:
                    self.cluster._replicaset(rs.obj)
            return
        pods = [p for rs in owned for p in store.owned("pods", rs.obj["metadata"]["uid"])]
        if any(not p.obj["spec"].get("nodeName") for p in pods):
            self.cluster.nodes_changed()  # pods held Pending by the fault get scheduled now
        for rs in owned:
            for stored in store.owned("pods", rs.obj["metadata"]["uid"]):
                pod = stored.obj
                if not pod["spec"].get("nodeName"):
                    continue
                key = (pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"])
                if fault == "crashloop" and key not in self._due:
                    self._crash(pod)
                elif fault != "crashloop" and (key in self._due or _crashing(pod)):
                    self._due.pop(key, None)
                    self._recover(pod)
        self.wake.set()

    def tick(self) -> float | None:
        """Restart every container whose back-off is over; returns seconds until the next one is due (None: none)."""
        store = self.cluster.store
        with store.lock:
            now = time.monotonic()
            for key, due in list(self._due.items()):
                stored = store.get("pods", key[0], key[1])
                if stored is None or stored.obj["metadata"]["uid"] != key[2]:
                    self._due.pop(key, None)
                    self._backoff_events.pop(key[2], None)
                elif due <= now:
                    self._crash(stored.obj)
            if not self._due:
                return None
            return max(0.0, min(self._due.values()) - time.monotonic())

    # ---------------------------------------------------------------- pods
    def _crash(self, pod: Obj) -> None:
        """One more failed start: restartCount + 1, waiting in CrashLoopBackOff, the next restart scheduled."""
        meta, status = pod["metadata"], pod.get("status") or {}
        key = (meta["namespace"], meta["name"], meta["uid"])
        now = ko.ts()
        statuses = []
        longest = 0.0
        for cs in status.get("containerStatuses") or []:
            restarts = int(cs.get("restartCount") or 0) + 1
            delay = min(self.backoff_base * 2 ** (restarts - 1), self.backoff_base * _BACKOFF_CAP)
            longest = max(longest, delay)
            started = ((cs.get("state") or {}).get("running") or {}).get("startedAt") \
                or ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or now
            name = cs.get("name", "")
            statuses.append({**cs, "ready": False, "started": False, "restartCount": restarts,
                             "state": {"waiting": {"reason": CRASH_LOOP, "message": (
                                 f"back-off {go_duration(delay)} restarting failed container={name} "
                                 f"pod={meta['name']}_{meta['namespace']}({meta['uid']})")}},
                             "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started,
                                                          "finishedAt": now,
                                                          "containerID": cs.get("containerID", "")}}})
        names = " ".join(cs["name"] for cs in statuses)
        conditions = _readiness(status, False, now, f"containers with unready status: [{names}]")
        updated = {**pod, "metadata": dict(meta), "status": {**status, "conditions": conditions,
                                                              "containerStatuses": statuses}}
        self.cluster.store.put("pods", updated)
        self._due[key] = time.monotonic() + longest
        self._backoff_event(updated, names)
        self.cluster.refresh_owner(updated)

    def _backoff_event(self, pod: Obj, containers: str) -> None:
        meta = pod["metadata"]
        node = pod["spec"].get("nodeName", "")
        message = (f"Back-off restarting failed container {containers} in pod "
                   f"{meta['name']}_{meta['namespace']}({meta['uid']})")
        store = self.cluster.store
        existing = self._backoff_events.get(meta["uid"])
        stored = store.get("events", meta["namespace"], existing) if existing else None
        if stored is not None:
            event = stored.obj
            store.put("events", {**event, "metadata": dict(event["metadata"]), "count": int(event.get("count", 1)) + 1,
                                 "lastTimestamp": ko.ts(), "message": message})
            return
        if self.cluster.quiet:
            return
        event = ko.event(pod, "BackOff", message, type_="Warning", component="kubelet", host=node)
        self._backoff_events[meta["uid"]] = event["metadata"]["name"]
        store.put("events", event)

    def _recover(self, pod: Obj) -> None:
        """The next start succeeds: the containers run (Ready when the node is), restarts and lastState kept."""
        meta, status = pod["metadata"], pod.get("status") or {}
        self._backoff_events.pop(meta["uid"], None)
        now = ko.ts()
        statuses = [{**cs, "ready": True, "started": True, "state": {"running": {"startedAt": now}}}
                    for cs in status.get("containerStatuses") or []]
        node = self.cluster.store.get("nodes", "", pod["spec"].get("nodeName", ""))
        node_ready = node is not None and ko.node_is_ready(node.obj)
        conditions = _readiness(status, True, now, "", pod_ready=node_ready)
        updated = {**pod, "metadata": dict(meta), "status": {**status, "conditions": conditions,
                                                              "containerStatuses": statuses}}
        self.cluster.store.put("pods", updated)
        for cs in statuses:
            self.cluster.emit(updated, "Started", f"Started container {cs.get('name', '')}", component="kubelet",
                              host=pod["spec"].get("nodeName", ""))
        self.cluster.refresh_owner(updated)


def _readiness(status: Mapping[str, Any], ready: bool, now: str, message: str,
               pod_ready: bool = True) -> list[Obj]:
    """``status``'s conditions with ``ContainersReady`` (and ``Ready``) set as the kubelet reports them."""
    out = []
    for cond in status.get("conditions") or []:
        cond = dict(cond)
        if cond.get("type") in ("Ready", "ContainersReady"):
            target = ready and (pod_ready or cond["type"] == "ContainersReady")
            value = "True" if target else "False"
            if cond.get("status") != value:
                cond["lastTransitionTime"] = now
            cond["status"] = value
            if target:
                cond.pop("reason", None)
                cond.pop("message", None)
            elif not ready:
                cond.update(reason="ContainersNotReady", message=message)
        out.append(cond)
    return out
