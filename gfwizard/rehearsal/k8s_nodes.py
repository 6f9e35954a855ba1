"""The rehearsal's node lifecycle controller: node conditions, the taints they bring, and pod readiness.

What kube-controller-manager's node lifecycle controller (with kubelet) does to a node that stops
being Ready, in the rehearsal's synchronous style:

* taints follow conditions (``TaintNodesByCondition`` / ``TaintBasedEvictions``): ``Ready=False``
  adds ``node.kubernetes.io/not-ready`` and ``Ready=Unknown`` (kubelet stopped posting status)
  ``node.kubernetes.io/unreachable``, each as ``NoSchedule`` and ``NoExecute``; pressure conditions
  and a cordon add their ``NoSchedule`` taint. Each added taint carries ``timeAdded``; the
  controller removes its own taints once the condition clears and never touches anyone else's;
* when a node stops being Ready its pods' ``Ready`` condition turns False, with a ``NodeNotReady``
  Warning on each pod, and a ``NodeNotReady`` event on the node; when it is Ready again the pods'
  ``Ready`` follows their ``ContainersReady`` again (kubelet's report) and the node gets ``NodeReady``.

The ``NoExecute`` taints then evict the node's pods as on a cluster (the taint eviction controller of
:mod:`k8s_evict`): at once those with no matching toleration, after ``tolerationSeconds`` (300 s by default,
scaled by the API server's ``toleration_scale``) the ordinary ones, never those that tolerate the taint
forever (DaemonSet pods); a node Ready again before the time is up keeps its pods. Their controllers replace
the evicted pods on a node that fits, or leave the replacements Pending.

It knowingly differs in one way: an evicted pod is deleted at once, where on a cluster a pod evicted from an
unreachable node stays ``Terminating`` until the node returns (its kubelet must confirm the deletion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Mapping

from gfwizard.rehearsal.k8s_objects import node_is_ready, ts

if TYPE_CHECKING:
    from gfwizard.rehearsal.k8s_controllers import Cluster

Obj = dict[str, Any]
ReadyStatus = Literal["True", "False", "Unknown"]

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
#: (condition type, status) -> the NoSchedule taint the controller puts on the node.
CONDITION_TAINTS: dict[tuple[str, str], str] = {
    ("Ready", "False"): NOT_READY_TAINT,
    ("Ready", "Unknown"): UNREACHABLE_TAINT,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
}
#: Every taint key this controller owns (it adds and removes only these).
CONTROLLER_TAINT_KEYS = frozenset({*CONDITION_TAINTS.values(), UNSCHEDULABLE_TAINT})

_HEALTHY = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)
_NOT_READY_MESSAGE = ("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                      "message:Network plugin returns error: cni plugin not initialized")
_UNKNOWN = ("NodeStatusUnknown", "Kubelet stopped posting node status.")


def as_ready_status(ready: bool | str) -> ReadyStatus:
    """A ``ready`` argument as the ``Ready`` condition's status: True -> ``True``, False -> ``Unknown`` (the kubelet
    stopped posting), or one of ``"True"`` / ``"False"`` / ``"Unknown"`` as given; ValueError otherwise."""
    status = ("True" if ready else "Unknown") if isinstance(ready, bool) else ready
    if status not in ("True", "False", "Unknown"):
        raise ValueError(f"ready must be True, False, 'True', 'False' or 'Unknown' (got {ready!r})")
    return status  # type: ignore[return-value]


def conditions(ready: ReadyStatus, heartbeat: str, since: str,
               previous: list[Mapping[str, Any]] | None = None) -> list[Obj]:
    """A node's conditions when its ``Ready`` status is ``ready``.

    ``True``: all healthy. ``False``: kubelet posts ``Ready=False`` (``KubeletNotReady``), the rest healthy.
    ``Unknown``: kubelet stopped posting, so the controller sets every condition Unknown and the heartbeat
    stays the last one kubelet sent. A condition whose status does not change keeps its
    ``lastTransitionTime`` from ``previous``."""
    before = {str(c.get("type")): c for c in previous or []}
    out: list[Obj] = []
    for kind, status, reason, message in _HEALTHY:
        beat = heartbeat
        if ready == "Unknown":
            status, (reason, message) = "Unknown", _UNKNOWN
            beat = str(before.get(kind, {}).get("lastHeartbeatTime") or heartbeat)
        elif ready == "False" and kind == "Ready":
            status, reason, message = "False", "KubeletNotReady", _NOT_READY_MESSAGE
        old = before.get(kind)
        moved = since if old is None or old.get("status") != status else str(old.get("lastTransitionTime") or since)
        out.append({"type": kind, "status": status, "lastHeartbeatTime": beat, "lastTransitionTime": moved,
                    "reason": reason, "message": message})
    return out


def ready_status(node: Mapping[str, Any]) -> str:
    """The node's ``Ready`` condition status (``True``/``False``/``Unknown``; ``Unknown`` when absent)."""
    return next((str(c.get("status")) for c in (node.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Ready"), "Unknown")


def controller_taints(node: Mapping[str, Any], now: str) -> list[Obj]:
    """``node``'s ``spec.taints`` as the lifecycle controller leaves them (see the module docstring).

    Taints it keeps are unchanged (their ``timeAdded`` too); new ones are appended with ``timeAdded`` ``now``."""
    spec = node.get("spec") or {}
    current = [dict(t) for t in spec.get("taints") or []]
    wanted: list[tuple[str, str]] = []
    for cond in (node.get("status") or {}).get("conditions") or []:
        key = CONDITION_TAINTS.get((str(cond.get("type")), str(cond.get("status"))))
        if key is not None:
            wanted.append((key, "NoSchedule"))
    if spec.get("unschedulable"):
        wanted.append((UNSCHEDULABLE_TAINT, "NoSchedule"))
    ready = ready_status(node)
    if ready in ("False", "Unknown"):
        wanted.append((NOT_READY_TAINT if ready == "False" else UNREACHABLE_TAINT, "NoExecute"))
    kept = [t for t in current
            if t.get("key") not in CONTROLLER_TAINT_KEYS or (t.get("key"), t.get("effect")) in wanted]
    have = {(t.get("key"), t.get("effect")) for t in kept}
    return kept + [{"key": key, "effect": effect, "timeAdded": now} for key, effect in wanted
                   if (key, effect) not in have]


def with_controller_taints(node: Obj, now: str | None = None) -> Obj:
    """``node`` with :func:`controller_taints` applied (``spec.taints`` omitted when empty, as the API does)."""
    taints = controller_taints(node, now or ts())
    spec = {k: v for k, v in (node.get("spec") or {}).items() if k != "taints"}
    if taints:
        spec["taints"] = taints
    return {**node, "spec": spec}


def _pod_ready(pod: Obj, ready: bool, now: str) -> Obj | None:
    """``pod`` with its ``Ready`` condition set to ``ready``, or None when nothing changes."""
    status = pod.get("status") or {}
    conds = [dict(c) for c in status.get("conditions") or []]
    if ready:  # kubelet reports Ready again only if the containers are (ContainersReady)
        ready = any(c.get("type") == "ContainersReady" and c.get("status") == "True" for c in conds)
    target = "True" if ready else "False"
    changed = False
    for cond in conds:
        if cond.get("type") == "Ready" and cond.get("status") != target:
            cond.update(status=target, lastTransitionTime=now)
            changed = True
    if not changed:
        return None
    return {**pod, "metadata": dict(pod["metadata"]), "status": {**status, "conditions": conds}}


def reconcile_node(cluster: "Cluster", name: str) -> None:
    """Bring node ``name``'s taints and its pods' readiness in line with its conditions (under the store lock)."""
    store = cluster.store
    with store.lock:
        stored = store.get("nodes", "", name)
        if stored is None:
            return
        node = stored.obj
        now = ts()
        tainted = with_controller_taints(node, now)
        if tainted["spec"] != node.get("spec"):
            node = store.put("nodes", {**tainted, "metadata": dict(node["metadata"])}).obj
        ready = node_is_ready(node)
        if ready == (name not in cluster.unready_nodes):
            return
        if ready:
            cluster.unready_nodes.discard(name)
            cluster.emit(node, "NodeReady", f"Node {name} status is now: NodeReady", component="kubelet", host=name)
        else:
            cluster.unready_nodes.add(name)
            cluster.emit(node, "NodeNotReady", f"Node {name} status is now: NodeNotReady",
                         component="node-controller")
        for pod in store.pods_on_node(name):
            updated = _pod_ready(pod.obj, ready, now)
            if updated is None:
                continue
            store.put("pods", updated)
            if not ready:
                cluster.emit(updated, "NodeNotReady", "Node is not ready", type_="Warning",
                             component="node-controller")
            cluster.refresh_owner(updated)
