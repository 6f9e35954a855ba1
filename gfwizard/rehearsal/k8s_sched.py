"""A small scheduler for the rehearsal cluster: node selectors, taints/tolerations, spreading.

It answers the questions a real scheduler answers for the objects gfwizard deploys: which nodes
a pod may land on (``nodeSelector`` labels all present, every ``NoSchedule``/``NoExecute`` taint
tolerated, node schedulable; readiness counts through the taints the node lifecycle controller of
:mod:`k8s_nodes` puts on a NotReady node, as on a cluster), which one it lands on (the eligible node
with the fewest pods), and, when none fits, the ``FailedScheduling`` message in the real scheduler's wording.
Resource requests are not packed against allocatable: the rehearsal only has to show *where*
workloads go, and the placement view checks capacity itself.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from gfwizard.rehearsal.k8s_objects import Placement, node_address

#: Tolerations the DaemonSet controller adds to every daemon pod.
DAEMON_TOLERATIONS = [
    {"key": key, "operator": "Exists", "effect": effect}
    for key, effect in (
        ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule"),
    )
]


def tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    """Does any toleration tolerate ``taint`` (the API's matching rules)?"""
    for tol in tolerations:
        effect = tol.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key = tol.get("key") or ""
        operator = tol.get("operator") or "Equal"
        if operator == "Exists":
            if not key or key == taint.get("key"):
                return True
            continue
        if key == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _effective_taints(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    taints = [t for t in node.get("spec", {}).get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")]
    if node.get("spec", {}).get("unschedulable") and not any(
            t.get("key") == "node.kubernetes.io/unschedulable" for t in taints):
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    return taints


@dataclass(frozen=True)
class NodeView:
    """What scheduling needs from a node, computed once per node version."""

    name: str
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, Any], ...]
    obj: Mapping[str, Any]


def node_views(nodes: Iterable[Mapping[str, Any]]) -> list[NodeView]:
    """Views of ``nodes`` for :func:`fit`."""
    return [NodeView(n["metadata"]["name"], n["metadata"].get("labels") or {}, tuple(_effective_taints(n)), n)
            for n in nodes]


@dataclass
class Fit:
    """Which nodes a pod spec fits, and why the others were rejected."""

    nodes: list[Mapping[str, Any]]
    total: int
    untolerated: dict[str, int] = field(default_factory=dict)
    selector_mismatch: int = 0
    other: int = 0

    def message(self) -> str:
        """The scheduler's ``FailedScheduling`` message for a pod that fits nowhere."""
        reasons: list[str] = []
        for text, count in sorted(self.untolerated.items()):
            reasons.append(f"{count} node(s) had untolerated taint {text}")
        if self.selector_mismatch:
            reasons.append(f"{self.selector_mismatch} node(s) didn't match Pod's node affinity/selector")
        head = f"0/{self.total} nodes are available"
        if not self.total:
            return "no nodes available to schedule pods"
        detail = (": " + ", ".join(sorted(reasons))) if reasons else ""
        return (f"{head}{detail}. preemption: 0/{self.total} nodes are available: "
                f"{self.total} Preemption is not helpful for scheduling.")


def _affinity_node(spec: Mapping[str, Any]) -> str | None:
    terms = (spec.get("affinity", {}).get("nodeAffinity", {})
             .get("requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for expr in term.get("matchFields") or []:
            if expr.get("key") == "metadata.name" and expr.get("operator") == "In" and expr.get("values"):
                return str(expr["values"][0])
    return None


def fit(spec: Mapping[str, Any], nodes: Iterable[NodeView]) -> Fit:
    """Evaluate ``spec`` (a pod spec) against ``nodes``."""
    selector = spec.get("nodeSelector") or {}
    tolerations = spec.get("tolerations") or []
    pinned = _affinity_node(spec)
    views = list(nodes)
    result = Fit(nodes=[], total=len(views))
    for view in views:
        if pinned is not None and view.name != pinned:
            result.selector_mismatch += 1
            continue
        # The scheduler's filter order: taints are checked before node affinity/selector.
        bad = next((t for t in view.taints if not tolerates(tolerations, t)), None)
        if bad is not None:
            text = f"{{{bad.get('key')}: {bad.get('value', '')}}}"
            result.untolerated[text] = result.untolerated.get(text, 0) + 1
            continue
        labels = view.labels
        if any(labels.get(k) != v for k, v in selector.items()):
            result.selector_mismatch += 1
            continue
        result.nodes.append(view.obj)
    return result


class Spreader:
    """Picks the least-loaded eligible node for each pod of one reconcile pass (a min-heap)."""

    def __init__(self, nodes: Iterable[Mapping[str, Any]], load: Mapping[str, int]) -> None:
        self._heap: list[tuple[int, str]] = [(load.get(n["metadata"]["name"], 0), n["metadata"]["name"])
                                             for n in nodes]
        heapq.heapify(self._heap)

    def __bool__(self) -> bool:
        return bool(self._heap)

    def take(self) -> str:
        """The next node name (its load goes up by one)."""
        count, name = self._heap[0]
        heapq.heapreplace(self._heap, (count + 1, name))
        return name


class IPAM:
    """Pod IPs out of each node's ``podCIDR`` (10.42.<node>.0/24)."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def placement(self, node: Mapping[str, Any]) -> Placement:
        """A placement on ``node`` with the next pod IP of its range."""
        name = node["metadata"]["name"]
        cidr = node.get("spec", {}).get("podCIDR", "10.42.0.0/24")
        prefix = cidr.rsplit(".", 1)[0]
        n = self._next.get(name, 1)
        self._next[name] = n + 1
        host_ip = next((a["address"] for a in node.get("status", {}).get("addresses", [])
                        if a.get("type") == "InternalIP"), node_address(0))
        return Placement(node=name, host_ip=host_ip, pod_ip=f"{prefix}.{(n - 1) % 253 + 2}")
