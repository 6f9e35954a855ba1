"""The rehearsal's taint eviction controller: pods leave a node whose ``NoExecute`` taints they do not tolerate.

What kube-controller-manager's taint eviction controller does, for every ``NoExecute`` taint (the
``node.kubernetes.io/not-ready`` / ``unreachable`` ones :mod:`k8s_nodes` puts on a NotReady node, or any
other): a pod bound to the node is evicted

* at once when some ``NoExecute`` taint has no toleration of the pod's that matches it (or the matching
  toleration's ``tolerationSeconds`` is 0 or less);
* after the least ``tolerationSeconds`` of the tolerations used, counted from when the controller first
  saw the pod tolerating the taints for a while: 300 s for an ordinary pod (the ``DefaultTolerationSeconds``
  admission, :data:`k8s_objects.DEFAULT_TOLERATIONS`);
* never when every matching toleration has no ``tolerationSeconds`` (DaemonSet pods, tolerate-everything
  system pods).

An eviction records a ``TaintManagerEviction`` event on the pod (``Marking for deletion Pod ns/name``) and
deletes it; its controller creates a replacement, which the scheduler puts on a node it fits or leaves
Pending with a ``FailedScheduling`` Warning. When the taints go before the time is up (the node is Ready
again) the eviction is cancelled (``Cancelling deletion of Pod ns/name``) and the pod stays.

The waits are real time, scaled by :attr:`TaintEvictions.toleration_scale` (1.0: as on a cluster) so that tests
and demos need not wait five minutes. The API server's background thread calls :meth:`TaintEvictions.tick`.
Deletion is immediate, as everywhere in the rehearsal: on a cluster a pod evicted from an unreachable node
stays ``Terminating`` until the node returns or is deleted (the replacement of a Deployment's pod runs
meanwhile; a StatefulSet's is only made once the old pod is gone).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from gfwizard.rehearsal.k8s_sched import tolerates

if TYPE_CHECKING:
    from gfwizard.rehearsal.k8s_controllers import Cluster

Obj = dict[str, Any]
#: The component kube-controller-manager's taint eviction controller records its events as.
COMPONENT = "taint-eviction-controller"


def no_execute_taints(node: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """``node``'s ``NoExecute`` taints (none for a missing node)."""
    return [t for t in ((node or {}).get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]


def eviction_delay(tolerations: Iterable[Mapping[str, Any]], taints: Iterable[Mapping[str, Any]]) -> float | None:
    """Seconds a pod with ``tolerations`` may stay on a node with ``NoExecute`` ``taints``: 0 (evict at once) when
    one is not tolerated, None (never evicted) when no toleration used has ``tolerationSeconds``, else the least
    one. As the controller, each taint uses the first toleration that tolerates it."""
    pod_tolerations = list(tolerations)
    least: float | None = None
    for taint in taints:
        used = next((t for t in pod_tolerations if tolerates([t], taint)), None)
        if used is None:
            return 0.0
        seconds = used.get("tolerationSeconds")
        if seconds is None or isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            continue
        if seconds <= 0:
            return 0.0
        least = float(seconds) if least is None else min(least, float(seconds))
    return least


def _key(pod: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = pod["metadata"]
    return meta.get("namespace", ""), meta["name"], meta.get("uid", "")


class TaintEvictions:
    """The taint eviction controller of one rehearsal :class:`Cluster` (see the module docstring).

    :meth:`node_changed` runs after every node write and :meth:`pod_placed` after a pod is bound (both under the
    store lock); :meth:`tick` evicts the pods whose time is up."""

    def __init__(self, cluster: "Cluster", wake: threading.Event, toleration_scale: float = 1.0) -> None:
        self.cluster = cluster
        #: Real seconds waited per second of ``tolerationSeconds`` (1.0 as on a cluster; 0.001: 300 s is 0.3 s).
        self.toleration_scale = float(toleration_scale)
        #: Set whenever an eviction is scheduled, so the thread calling :meth:`tick` recomputes its wait.
        self.wake = wake
        #: (namespace, pod name, uid) -> (node, when scheduled (time.monotonic()), tolerationSeconds).
        self._scheduled: dict[tuple[str, str, str], tuple[str, float, float]] = {}

    def scheduled(self) -> dict[tuple[str, str], float]:
        """(namespace, pod) -> the ``tolerationSeconds`` its scheduled eviction waits (unscaled)."""
        with self.cluster.store.lock:
            return {(k[0], k[1]): seconds for k, (_node, _since, seconds) in self._scheduled.items()}

    def node_changed(self, name: str) -> None:
        """Node ``name`` was written: evict, schedule or cancel the evictions of its pods by its taints now."""
        store = self.cluster.store
        with store.lock:
            node = store.get("nodes", "", name)
            taints = no_execute_taints(node.obj if node else None)
            if not taints:
                for key, (node_name, _since, _seconds) in list(self._scheduled.items()):
                    if node_name == name:
                        self._cancel(key)
                return
            for pod in store.pods_on_node(name):
                current = store.get("pods", pod.key[0], pod.key[1])
                if current is not None and current.obj["metadata"].get("uid") == pod.obj["metadata"].get("uid"):
                    self._judge(current.obj, name, taints, at_once=True)

    def pod_placed(self, pod: Mapping[str, Any]) -> None:
        """``pod`` was just bound to a node: if that node has NoExecute taints, its eviction is scheduled (one due
        at once too: the thread evicts it, so a controller whose replacement lands there again does not recurse)."""
        name = (pod.get("spec") or {}).get("nodeName")
        if not name:
            return
        node = self.cluster.store.get("nodes", "", name)
        taints = no_execute_taints(node.obj if node else None)
        if taints:
            self._judge(pod, name, taints, at_once=False)

    def _judge(self, pod: Mapping[str, Any], node: str, taints: list[Mapping[str, Any]], *, at_once: bool) -> None:
        key = _key(pod)
        seconds = eviction_delay((pod.get("spec") or {}).get("tolerations") or [], taints)
        if seconds is None:
            self._cancel(key)
            return
        if seconds == 0 and at_once:
            self._scheduled.pop(key, None)
            self._evict(pod)
            return
        now = time.monotonic()
        previous = self._scheduled.get(key)
        if previous is not None and previous[1] + previous[2] <= now + seconds:
            return  # the eviction already scheduled comes no later: keep it (and its start)
        self._scheduled[key] = (node, now, seconds)
        self.wake.set()

    def _cancel(self, key: tuple[str, str, str]) -> None:
        if self._scheduled.pop(key, None) is None:
            return
        stored = self.cluster.store.get("pods", key[0], key[1])
        if stored is not None and stored.obj["metadata"].get("uid") == key[2]:
            self.cluster.emit(stored.obj, "TaintManagerEviction", f"Cancelling deletion of Pod {key[0]}/{key[1]}",
                              component=COMPONENT)

    def _evict(self, pod: Mapping[str, Any]) -> None:
        meta = pod["metadata"]
        self.cluster.emit(pod, "TaintManagerEviction", f"Marking for deletion Pod {meta['namespace']}/{meta['name']}",
                          component=COMPONENT)
        self.cluster.delete("pods", meta["namespace"], meta["name"])

    def tick(self) -> float | None:
        """Evict every pod whose toleration ran out; returns seconds until the next one is due (None: none)."""
        store = self.cluster.store
        with store.lock:
            now = time.monotonic()
            for key, (_node, since, seconds) in list(self._scheduled.items()):
                stored = store.get("pods", key[0], key[1])
                if stored is None or stored.obj["metadata"].get("uid") != key[2]:
                    self._scheduled.pop(key, None)
                elif since + seconds * self.toleration_scale <= now and self._scheduled.pop(key, None):
                    self._evict(stored.obj)
            if not self._scheduled:
                return None
            due = min(since + seconds * self.toleration_scale for _node, since, seconds in self._scheduled.values())
            return max(0.0, due - time.monotonic())
