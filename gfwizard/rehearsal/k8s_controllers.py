"""The rehearsal cluster's controllers: what turns a written workload into pods with status.

* Deployment -> ReplicaSet (named ``<deploy>-<pod-template-hash>``) -> pods; a template change
  makes a new ReplicaSet and scales the old ones to 0 (kept up to ``revisionHistoryLimit``).
* StatefulSet -> pods ``<name>-0..N-1``; DaemonSet -> one pod per eligible node.
* Pods are scheduled at once (see :mod:`k8s_sched`) and reported Running/Ready; a pod that fits
  no node stays Pending with an ``Unschedulable`` condition and a ``FailedScheduling`` Warning.
* Deleting an owner deletes what it owns; deleting an owned pod makes its controller replace it;
  deleting a namespace deletes everything in it; node changes reschedule pending pods.
* A node write runs the node lifecycle controller (see :mod:`k8s_nodes`): taints follow its
  conditions, and its pods' readiness follows the node's; then the taint eviction controller (see
  :mod:`k8s_evict`) evicts, or schedules the eviction of, the pods its ``NoExecute`` taints do not tolerate.
* A Deployment annotated ``rehearsal.gloriousflywheel.io/fault: crashloop`` has its pods crash-loop,
  ``pending`` has them unschedulable (rehearsal-only; see :mod:`k8s_faults`).

Everything happens synchronously under the store lock, so a read right after a write already
sees the pods and the ready/desired counts, which is what status views and tests need; only what
waits on real time (crash-loop restarts, evictions after ``tolerationSeconds``) runs later, from the
API server's background thread.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable, Mapping

from gfwizard.rehearsal import k8s_objects as ko
from gfwizard.rehearsal.k8s_evict import TaintEvictions
from gfwizard.rehearsal.k8s_faults import WorkloadFaults
from gfwizard.rehearsal.k8s_nodes import reconcile_node
from gfwizard.rehearsal.k8s_sched import DAEMON_TOLERATIONS, IPAM, NodeView, Spreader, fit, node_views
from gfwizard.rehearsal.k8s_store import Store, Stored

Obj = dict[str, Any]
WORKLOADS = ("deployments", "replicasets", "statefulsets", "daemonsets")
_COMPONENT = {"ReplicaSet": "replicaset-controller", "StatefulSet": "statefulset-controller",
              "DaemonSet": "daemonset-controller", "Deployment": "deployment-controller"}
_PLURAL = {"Deployment": "deployments", "ReplicaSet": "replicasets", "StatefulSet": "statefulsets",
           "DaemonSet": "daemonsets", "Pod": "pods"}


def _omit_zero(status: Obj, keep: tuple[str, ...] = ()) -> Obj:
    """Drop zero counters as the API's ``omitempty`` does (except the required ones in ``keep``)."""
    return {k: v for k, v in status.items() if k in keep or v not in (0, None)}


def _condition(previous: list[Obj], kind: str, status: str, reason: str, message: str,
               with_update: bool = True) -> Obj:
    now = ko.ts()
    old = next((c for c in previous if c.get("type") == kind), None)
    since = old["lastTransitionTime"] if old and old.get("status") == status else now
    cond: Obj = {"type": kind, "status": status}
    if with_update:
        cond["lastUpdateTime"] = now if not old or old.get("message") != message else old.get("lastUpdateTime", now)
    cond.update(lastTransitionTime=since, reason=reason, message=message)
    return cond


class Cluster:
    """Controllers and scheduler over a :class:`Store` (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.ipam = IPAM()
        #: When True, no per-pod events are recorded (bulk seeding of thousands of pods).
        self.quiet = False
        #: Creation time for objects the controllers make (seeding back-dates them); None = now.
        self.backdate: float | None = None
        self._seq = 0
        self._views: tuple[int, list[NodeView]] = (-1, [])
        #: Nodes the lifecycle controller has seen stop being Ready (see :mod:`k8s_nodes`).
        self.unready_nodes: set[str] = set()
        #: The rehearsal-only fault annotation's kubelet side (see :mod:`k8s_faults`).
        self.faults = WorkloadFaults(self)
        #: The taint eviction controller (see :mod:`k8s_evict`); its timer shares the faults' wake-up.
        self.evictions = TaintEvictions(self, self.faults.wake)

    # ------------------------------------------------------------- helpers
    def _nodes(self) -> list[NodeView]:
        version = self.store.last_write("nodes")
        if self._views[0] != version:
            self._views = (version, node_views(s.obj for s in self.store.all("nodes")))
        return self._views[1]

    def _load(self, nodes: list[Obj]) -> dict[str, int]:
        return {n["metadata"]["name"]: self.store.pod_count_on_node(n["metadata"]["name"]) for n in nodes}

    def _pod_name(self, prefix: str, namespace: str, seed: str, taken: set[str]) -> str:
        """``<prefix>-<5 chars>`` not used by a stored pod nor by ``taken`` (which it joins)."""
        while True:
            self._seq += 1
            name = f"{prefix}-{ko.safe_suffix(f'{seed}/{self._seq}/{time.time()}')}"
            if name not in taken and self.store.get("pods", namespace, name) is None:
                taken.add(name)
                return name

    def emit(self, involved: Mapping[str, Any], reason: str, message: str, *, type_: str = "Normal",
             component: str = "default-scheduler", host: str = "") -> None:
        """Record an Event about ``involved``."""
        if self.quiet:
            return
        self.store.put("events", ko.event(involved, reason, message, type_=type_, component=component, host=host))

    def _get(self, plural: str, namespace: str, name: str) -> Obj | None:
        stored = self.store.get(plural, namespace, name)
        return stored.obj if stored else None

    def _owner_of(self, obj: Mapping[str, Any]) -> tuple[str, Obj] | None:
        for ref in obj.get("metadata", {}).get("ownerReferences") or ():
            plural = _PLURAL.get(ref.get("kind", ""))
            if ref.get("controller") and plural:
                owner = self._get(plural, obj["metadata"].get("namespace", ""), ref.get("name", ""))
                if owner is not None and owner["metadata"]["uid"] == ref.get("uid"):
                    return plural, owner
        return None

    def _put_status(self, plural: str, obj: Obj, status: Obj) -> Obj:
        if obj.get("status") == status:
            return obj
        updated = {**obj, "metadata": dict(obj["metadata"]), "status": status}
        return self.store.put(plural, updated).obj

    # ------------------------------------------------------------ dispatch
    def reconcile(self, plural: str, obj: Obj) -> None:
        """Bring the world in line with a workload (or a bare pod) just written."""
        with self.store.lock:
            if plural == "deployments":
                self._deployment(obj)
            elif plural == "replicasets":
                self._replicaset(obj)
                self.refresh_owner(obj)
                owner = self._owner_of(obj)
                if owner is not None and owner[0] == "deployments":
                    self.faults.sync(owner[1])
            elif plural == "statefulsets":
                self._statefulset(obj)
            elif plural == "daemonsets":
                self._daemonset(obj)
            elif plural == "nodes":
                reconcile_node(self, obj["metadata"]["name"])
                self.evictions.node_changed(obj["metadata"]["name"])
                self.nodes_changed()

    def create_pod(self, obj: Obj) -> Obj:
        """Schedule a bare pod written through the API and store it with status."""
        with self.store.lock:
            nodes = self._nodes()
            spec = obj.get("spec", {})
            pinned = spec.get("nodeName")
            result = fit(spec, [n for n in nodes if not pinned or n.name == pinned])
            spreader = Spreader(result.nodes, self._load(result.nodes))
            template = {"metadata": {}, "spec": spec}
            built = ko.pod(obj["metadata"]["name"], obj["metadata"]["namespace"], template, owner=None,
                           placement=self.ipam.placement(self._node(spreader.take())) if spreader else None,
                           unschedulable=result.message())
            built["metadata"] = {**obj["metadata"], **{k: v for k, v in built["metadata"].items()
                                                      if k in ("uid", "creationTimestamp")}}
            stored = self.store.put("pods", built)
            self._placed(stored.obj, result.message())
            return stored.obj

    def _node(self, name: str) -> Obj:
        stored = self.store.get("nodes", "", name)
        assert stored is not None
        return stored.obj

    # ------------------------------------------------------------ deletion
    def delete(self, plural: str, namespace: str, name: str) -> Stored | None:
        """Delete an object and what it owns; owned pods are replaced by their controller."""
        with self.store.lock:
            gone = self.store.delete(plural, namespace, name)
            if gone is None:
                return None
            self._delete_owned(gone.obj)
            if plural == "pods":
                owner = self._owner_of(gone.obj)
                if owner is not None:
                    self.reconcile(*owner)
            elif plural == "nodes":
                self.unready_nodes.discard(name)
                for pod in self.store.pods_on_node(name):
                    self.delete("pods", pod.key[0], pod.key[1])
                self.nodes_changed()
            elif plural == "namespaces":
                self._delete_namespace_content(name)
            return gone

    def _delete_owned(self, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for plural in ("replicasets", "pods"):
            for child in self.store.owned(plural, uid):
                if self.store.delete(plural, child.key[0], child.key[1]) is not None:
                    self._delete_owned(child.obj)

    def _delete_namespace_content(self, namespace: str) -> None:
        for plural in ("deployments", "statefulsets", "daemonsets", "replicasets", "pods", "events"):
            for stored in self.store.all(plural, namespace):
                if self.store.delete(plural, namespace, stored.key[1]) is not None:
                    self._delete_owned(stored.obj)

    # ---------------------------------------------------------------- pods
    def _spawn(self, owner: Obj, template: Obj, names: list[str], *, labels: Callable[[str], dict[str, str]],
               generate_name: str | None = None, spec_hook: Callable[[Obj, str], None] | None = None) -> None:
        """Create pods ``names`` from ``template`` owned by ``owner``, spread over the nodes they fit."""
        if not names:
            return
        namespace = owner["metadata"]["namespace"]
        nodes = self._nodes()
        probe = ko.pod("probe", namespace, template, owner=None, placement=None)
        result = fit(probe["spec"], nodes)
        refused = self.faults.refusal(owner, result)
        spreader = Spreader([] if refused else result.nodes, self._load(result.nodes))
        message = refused or result.message()
        nodes_by_name = {n["metadata"]["name"]: n for n in result.nodes}
        for name in names:
            placement = self.ipam.placement(nodes_by_name[spreader.take()]) if spreader else None
            obj = ko.pod(name, namespace, template, owner=owner, placement=placement,
                         unschedulable="" if placement else message, extra_labels=labels(name),
                         generate_name=generate_name, created=self.backdate, base_spec=probe["spec"])
            if spec_hook is not None:
                spec_hook(obj["spec"], name)
            stored = self.store.put("pods", obj)
            self.emit(owner, "SuccessfulCreate", f"Created pod: {name}", component=_COMPONENT[owner["kind"]])
            self._placed(stored.obj, message)

    def _placed(self, pod: Obj, unschedulable: str) -> None:
        """``pod`` was just stored, bound or Pending (``unschedulable``): its events, and its node's NoExecute
        taints looked at by the taint eviction controller."""
        self._pod_events(pod, unschedulable)
        self.evictions.pod_placed(pod)

    def _pod_events(self, pod: Obj, unschedulable: str) -> None:
        if self.quiet:
            return
        meta = pod["metadata"]
        node = pod["spec"].get("nodeName")
        if not node:
            self.emit(pod, "FailedScheduling", unschedulable, type_="Warning")
            return
        self.emit(pod, "Scheduled", f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}")
        for container in pod["spec"].get("containers", []):
            image, cname = container.get("image", ""), container.get("name", "")
            self.emit(pod, "Pulled", f'Container image "{image}" already present on machine',
                      component="kubelet", host=node)
            self.emit(pod, "Created", f"Created container: {cname}", component="kubelet", host=node)
            self.emit(pod, "Started", f"Started container {cname}", component="kubelet", host=node)

    def _trim(self, pods: list[Stored], keep: int) -> list[Stored]:
        """Delete pods beyond ``keep`` (unscheduled first, then newest names); returns the survivors."""
        if len(pods) <= keep:
            return pods
        order = sorted(pods, key=lambda s: (bool(s.obj["spec"].get("nodeName")), s.obj["metadata"]["name"]))
        doomed, survivors = order[: len(pods) - keep], order[len(pods) - keep:]
        for stored in doomed:
            self.store.delete("pods", stored.key[0], stored.key[1])
        return survivors

    def nodes_changed(self) -> None:
        """Node added, removed or relabelled: schedule pending pods that now fit; rerun DaemonSets."""
        with self.store.lock:
            nodes = self._nodes()
            owners: dict[str, tuple[str, Obj]] = {}
            load = self._load([n.obj for n in nodes])
            for pending in self.store.pods_on_node(""):
                if self.faults.held_pending(pending.obj):
                    continue
                result = fit(pending.obj["spec"], nodes)
                if not result.nodes:
                    continue
                target = min(result.nodes, key=lambda n: load[n["metadata"]["name"]])
                load[target["metadata"]["name"]] += 1
                spec = {**pending.obj["spec"], "nodeName": target["metadata"]["name"]}
                started = time.time()
                updated = {**pending.obj, "spec": spec,
                           "status": ko.pod_status(spec, self.ipam.placement(target), "", started)}
                updated["metadata"] = dict(pending.obj["metadata"])
                stored = self.store.put("pods", updated)
                self._placed(stored.obj, "")
                owner = self._owner_of(stored.obj)
                if owner is not None:
                    owners[owner[1]["metadata"]["uid"]] = owner
            for plural, owner in owners.values():
                self._refresh(plural, owner)
            for ds in self.store.all("daemonsets"):
                self._daemonset(ds.obj)

    # --------------------------------------------------------- deployments
    def _deployment(self, dep: Obj) -> None:
        meta, spec = dep["metadata"], dep["spec"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
        template = spec["template"]
        pod_hash = ko.template_hash(template)
        rs_name = f"{name}-{pod_hash}"
        desired = int(spec.get("replicas", 1))
        owned = self.store.owned("replicasets", uid)
        current = next((s.obj for s in owned if s.obj["metadata"]["name"] == rs_name), None)
        revisions = [int(s.obj["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0"))
                     for s in owned]
        if current is None:
            tmpl = copy.deepcopy(template)
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
            selector = copy.deepcopy(spec["selector"])
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            rs: Obj = {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": ko.meta(rs_name, namespace=namespace, labels=tmpl["metadata"]["labels"], owner=dep,
                                    created=self.backdate,
                                    annotations={
                                        "deployment.kubernetes.io/desired-replicas": str(desired),
                                        "deployment.kubernetes.io/max-replicas": str(desired + max(1, desired // 4)),
                                        "deployment.kubernetes.io/revision": str(max(revisions, default=0) + 1)}),
                "spec": {"replicas": desired, "selector": selector, "template": tmpl, "minReadySeconds": 0},
                "status": {"replicas": 0},
            }
            rs["metadata"]["generation"] = 1
            current = self.store.put("replicasets", rs).obj
            self.emit(dep, "ScalingReplicaSet", f"Scaled up replica set {rs_name} from 0 to {desired}",
                      component="deployment-controller")
        elif current["spec"].get("replicas") != desired:
            before = current["spec"].get("replicas", 0)
            current = self._scale_rs(current, desired)
            verb = "up" if desired > before else "down"
            self.emit(dep, "ScalingReplicaSet", f"Scaled {verb} replica set {rs_name} from {before} to {desired}",
                      component="deployment-controller")
        self._replicaset(current)
        old = [s.obj for s in self.store.owned("replicasets", uid) if s.obj["metadata"]["name"] != rs_name]
        for rs_obj in old:
            if rs_obj["spec"].get("replicas", 0):
                before = rs_obj["spec"]["replicas"]
                rs_obj = self._scale_rs(rs_obj, 0)
                self.emit(dep, "ScalingReplicaSet",
                          f"Scaled down replica set {rs_obj['metadata']['name']} from {before} to 0",
                          component="deployment-controller")
            self._replicaset(rs_obj)
        history = int(spec.get("revisionHistoryLimit", 10))
        old.sort(key=lambda o: int(o["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0")))
        for rs_obj in old[: max(0, len(old) - history)]:
            self.delete("replicasets", namespace, rs_obj["metadata"]["name"])
        self._refresh("deployments", self._get("deployments", namespace, name) or dep)
        self.faults.sync(self._get("deployments", namespace, name) or dep)

    def _scale_rs(self, rs: Obj, replicas: int) -> Obj:
        updated = {**rs, "metadata": dict(rs["metadata"]), "spec": {**rs["spec"], "replicas": replicas}}
        updated["metadata"]["generation"] = int(rs["metadata"].get("generation", 1)) + 1
        return self.store.put("replicasets", updated).obj

    def _replicaset(self, rs: Obj) -> None:
        meta = rs["metadata"]
        desired = int(rs["spec"].get("replicas", 1))
        pods = self._trim(self.store.owned("pods", meta["uid"]), desired)
        missing = desired - len(pods)
        if missing > 0:
            taken: set[str] = set()
            names = [self._pod_name(meta["name"], meta["namespace"], meta["uid"], taken) for _ in range(missing)]
            template = rs["spec"].get("template") or {}
            self._spawn(rs, template, names, labels=lambda _n: {}, generate_name=f"{meta['name']}-")
        self._refresh("replicasets", self._get("replicasets", meta["namespace"], meta["name"]) or rs)

    def refresh_owner(self, obj: Obj) -> None:
        """Recompute the status of ``obj``'s controller (a pod's ReplicaSet, DaemonSet, ...), if it has one."""
        owner = self._owner_of(obj)
        if owner is not None:
            self._refresh(*owner)

    def _refresh(self, plural: str, obj: Obj) -> None:
        """Recompute a workload's status from what it owns (and its owner's, for ReplicaSets)."""
        meta = obj["metadata"]
        generation = int(meta.get("generation", 1))
        if plural == "replicasets":
            pods = [s.obj for s in self.store.owned("pods", meta["uid"])]
            ready = sum(1 for p in pods if ko.pod_is_ready(p))
            status = _omit_zero({"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                                 "availableReplicas": ready, "observedGeneration": generation}, keep=("replicas",))
            self._put_status("replicasets", obj, status)
            self.refresh_owner(obj)
        elif plural == "deployments":
            self._put_status("deployments", obj, self._deployment_status(obj))
        elif plural == "statefulsets":
            self._put_status("statefulsets", obj, self._statefulset_status(obj))
        elif plural == "daemonsets":
            self._put_status("daemonsets", obj, self._daemonset_status(obj))

    def _deployment_status(self, dep: Obj) -> Obj:
        meta, spec = dep["metadata"], dep["spec"]
        desired = int(spec.get("replicas", 1))
        rs_name = f"{meta['name']}-{ko.template_hash(spec['template'])}"
        replicas = updated = ready = 0
        for stored in self.store.owned("replicasets", meta["uid"]):
            st = stored.obj.get("status", {})
            replicas += st.get("replicas", 0)
            ready += st.get("readyReplicas", 0)
            if stored.obj["metadata"]["name"] == rs_name:
                updated = st.get("replicas", 0)
        previous = (dep.get("status") or {}).get("conditions", [])
        min_available = desired - desired // 4
        available = ready >= min_available
        conditions = [
            _condition(previous, "Available", "True" if available else "False",
                       "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                       "Deployment has minimum availability." if available
                       else "Deployment does not have minimum availability."),
            _condition(previous, "Progressing", "True",
                       "NewReplicaSetAvailable" if updated == desired and ready >= desired else "ReplicaSetUpdated",
                       f'ReplicaSet "{rs_name}" has successfully progressed.'
                       if updated == desired and ready >= desired else f'ReplicaSet "{rs_name}" is progressing.'),
        ]
        status = _omit_zero({"observedGeneration": int(meta.get("generation", 1)), "replicas": replicas,
                             "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
                             "unavailableReplicas": max(0, desired - ready)})
        status["conditions"] = conditions
        return status

    # -------------------------------------------------------- statefulsets
    def _statefulset(self, sts: Obj) -> None:
        meta, spec = sts["metadata"], sts["spec"]
        namespace, name = meta["namespace"], meta["name"]
        revision = f"{name}-{ko.template_hash(spec['template'])}"
        desired = int(spec.get("replicas", 1))
        wanted = {f"{name}-{i}": i for i in range(desired)}
        existing: set[str] = set()
        for stored in self.store.owned("pods", meta["uid"]):
            pod_name = stored.obj["metadata"]["name"]
            labels = stored.obj["metadata"].get("labels", {})
            if pod_name not in wanted or labels.get("controller-revision-hash") != revision:
                self.store.delete("pods", namespace, pod_name)
            else:
                existing.add(pod_name)
        missing = [n for n in wanted if n not in existing]

        def labels(pod_name: str) -> dict[str, str]:
            return {"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name,
                    "apps.kubernetes.io/pod-index": str(wanted[pod_name])}

        def hook(pod_spec: Obj, pod_name: str) -> None:
            pod_spec["hostname"] = pod_name
            if spec.get("serviceName"):
                pod_spec["subdomain"] = spec["serviceName"]

        self._spawn(sts, spec["template"], missing, labels=labels, spec_hook=hook)
        self._refresh("statefulsets", self._get("statefulsets", namespace, name) or sts)

    def _statefulset_status(self, sts: Obj) -> Obj:
        meta, spec = sts["metadata"], sts["spec"]
        revision = f"{meta['name']}-{ko.template_hash(spec['template'])}"
        pods = [s.obj for s in self.store.owned("pods", meta["uid"])]
        ready = sum(1 for p in pods if ko.pod_is_ready(p))
        status = _omit_zero({"observedGeneration": int(meta.get("generation", 1)), "replicas": len(pods),
                             "readyReplicas": ready, "currentReplicas": len(pods), "updatedReplicas": len(pods),
                             "availableReplicas": ready}, keep=("replicas",))
        status.update(currentRevision=revision, updateRevision=revision, collisionCount=0)
        return status

    # ---------------------------------------------------------- daemonsets
    def _daemon_template(self, ds: Obj) -> Obj:
        template = copy.deepcopy(ds["spec"]["template"])
        tolerations = template.setdefault("spec", {}).setdefault("tolerations", [])
        for tol in DAEMON_TOLERATIONS:
            if not any(t.get("key") == tol["key"] and t.get("effect") == tol["effect"] for t in tolerations):
                tolerations.append(dict(tol))
        return template

    def _eligible(self, ds: Obj, *, staying: bool = False) -> list[Obj]:
        """The nodes ``ds`` should run a pod on (every NoSchedule/NoExecute taint tolerated) or, ``staying``, the
        ones its pod may keep running on (only NoExecute taints count: a NotReady node keeps its daemon pod)."""
        probe = ko.pod("probe", ds["metadata"]["namespace"], self._daemon_template(ds), owner=None, placement=None)
        nodes = self._nodes()
        if staying:
            nodes = [NodeView(v.name, v.labels, tuple(t for t in v.taints if t.get("effect") == "NoExecute"), v.obj)
                     for v in nodes]
        return fit(probe["spec"], nodes).nodes

    def _daemonset(self, ds: Obj) -> None:
        meta = ds["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        generation = str(meta.get("generation", 1))
        revision = ko.template_hash(ds["spec"]["template"])
        eligible = {n["metadata"]["name"]: n for n in self._eligible(ds)}
        staying = {n["metadata"]["name"] for n in self._eligible(ds, staying=True)}
        covered: set[str] = set()
        for stored in self.store.owned("pods", meta["uid"]):
            node = stored.obj["spec"].get("nodeName", "")
            labels = stored.obj["metadata"].get("labels", {})
            if node not in staying or node in covered or labels.get("controller-revision-hash") != revision:
                self.store.delete("pods", namespace, stored.key[1])
            else:
                covered.add(node)
        template = self._daemon_template(ds)
        for node_name, node in eligible.items():
            if node_name in covered:
                continue
            pod_name = self._pod_name(name, namespace, meta["uid"] + node_name, set())
            obj = ko.pod(pod_name, namespace, template, owner=ds, placement=self.ipam.placement(node),
                         extra_labels={"controller-revision-hash": revision, "pod-template-generation": generation},
                         generate_name=f"{name}-", affinity_node=node_name, created=self.backdate)
            stored = self.store.put("pods", obj)
            self.emit(ds, "SuccessfulCreate", f"Created pod: {pod_name}", component="daemonset-controller")
            self._placed(stored.obj, "")
        self._refresh("daemonsets", self._get("daemonsets", namespace, name) or ds)

    def _daemonset_status(self, ds: Obj) -> Obj:
        """As the DaemonSet controller counts: only pods on nodes it should run on; one left on a node it should
        not (a NotReady node's) is misscheduled."""
        meta = ds["metadata"]
        eligible = {n["metadata"]["name"] for n in self._eligible(ds)}
        every = [s.obj for s in self.store.owned("pods", meta["uid"])]
        pods = [p for p in every if p["spec"].get("nodeName") in eligible]
        ready = sum(1 for p in pods if ko.pod_is_ready(p))
        desired = len(eligible)
        status = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": desired,
                  "numberMisscheduled": len(every) - len(pods), "numberReady": ready,
                  "observedGeneration": int(meta.get("generation", 1))}
        status.update(_omit_zero({"updatedNumberScheduled": len(pods), "numberAvailable": ready,
                                  "numberUnavailable": max(0, desired - ready)}))
        return status

