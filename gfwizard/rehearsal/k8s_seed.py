"""The rehearsal cluster's starting state: honey, bumble, sting (and more), the system namespaces
and kube-system workloads, a few events (some of them Warnings), and optional load pods.

Nodes: ``honey`` (control plane, tainted NoSchedule), ``bumble``, ``sting``; beyond three,
``worker-0001``, ``worker-0002``, ... alternating the bumble and sting roles. Load pods (the
``pods`` knob) are Deployments ``load-0001``... of up to 50 replicas in namespace ``load``,
spread over the untainted nodes; they are created without per-pod events to keep big clusters
quick to build.
"""

from __future__ import annotations

import time
from typing import Any

from gfwizard.rehearsal import k8s_objects as ko
from gfwizard.rehearsal.k8s_controllers import Cluster
from gfwizard.rehearsal.k8s_store import Store

DAY = 86400.0
LOAD_NAMESPACE = "load"
LOAD_REPLICAS = 50
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def node_plan(count: int) -> list[tuple[str, str]]:
    """``(name, role)`` for ``count`` nodes."""
    base = [("honey", "control-plane"), ("bumble", "bumble"), ("sting", "sting")]
    plan = base[:count]
    for i in range(1, count - len(base) + 1):
        plan.append((f"worker-{i:04d}", "bumble" if i % 2 else "sting"))
    return plan


def workload(kind: str, name: str, namespace: str, *, replicas: int = 1, labels: dict[str, str] | None = None,
             image: str = "nginx:1.27-alpine", node_selector: dict[str, str] | None = None,
             tolerations: list[dict[str, Any]] | None = None, cpu: str = "100m", memory: str = "128Mi",
             host_network: bool = False, created: float | None = None) -> dict[str, Any]:
    """A defaulted, stamped apps/v1 workload ready to be stored (generation 1, empty status)."""
    labels = labels or {"app.kubernetes.io/name": name}
    pod_spec: dict[str, Any] = {"containers": [{
        "name": name.split("-")[0] if kind == "DaemonSet" else "main", "image": image,
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
    }]}
    if node_selector:
        pod_spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        pod_spec["tolerations"] = [dict(t) for t in tolerations]
    if host_network:
        pod_spec["hostNetwork"] = True
        pod_spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": ko.meta(name, namespace=namespace, labels=labels, created=created),
        "spec": {"selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec}},
        "status": {},
    }
    if kind != "DaemonSet":
        obj["spec"]["replicas"] = replicas
    obj["metadata"]["generation"] = 1
    return ko.default_workload(kind, obj)


def _store_workload(cluster: Cluster, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
    stored = cluster.store.put(plural, obj).obj
    cluster.reconcile(plural, stored)
    return stored


def _static_pods(cluster: Cluster, honey: dict[str, Any], created: float) -> None:
    """etcd, kube-apiserver, controller-manager and scheduler mirror pods on the control plane."""
    address = next(a["address"] for a in honey["status"]["addresses"] if a["type"] == "InternalIP")
    placement = ko.Placement(node="honey", host_ip=address, pod_ip=address)
    owner = {"apiVersion": "v1", "kind": "Node", "metadata": honey["metadata"]}
    for component, image in (("etcd", "registry.k8s.io/etcd:3.5.16-0"),
                             ("kube-apiserver", "registry.k8s.io/kube-apiserver:v1.32.4"),
                             ("kube-controller-manager", "registry.k8s.io/kube-controller-manager:v1.32.4"),
                             ("kube-scheduler", "registry.k8s.io/kube-scheduler:v1.32.4")):
        template = {"metadata": {"labels": {"component": component, "tier": "control-plane"}},
                    "spec": {"containers": [{"name": component, "image": image,
                                             "resources": {"requests": {"cpu": "100m"}}}],
                             "hostNetwork": True, "priorityClassName": "system-node-critical",
                             "priority": 2000001000,
                             "tolerations": [{"operator": "Exists", "effect": "NoExecute"}]}}
        pod = ko.pod(f"{component}-honey", "kube-system", template, owner=owner, placement=placement,
                     created=created)
        pod["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] = False
        cluster.store.put("pods", pod)


def seed(store: Store, cluster: Cluster, *, nodes: int, pods: int, kube_system_uid: str,
         now: float | None = None) -> None:
    """Populate an empty store (see the module docstring)."""
    now = time.time() if now is None else now
    born = now - 42 * DAY
    cluster.quiet = True
    for name in SYSTEM_NAMESPACES:
        store.put("namespaces", ko.namespace(name, created=born,
                                            uid=kube_system_uid if name == "kube-system" else None))
    node_objs = []
    for index, (name, role) in enumerate(node_plan(nodes)):
        node_objs.append(store.put("nodes", ko.node(name, role, index, created=born)).obj)
    if node_objs and node_objs[0]["metadata"]["name"] == "honey":
        _static_pods(cluster, node_objs[0], born + 60)
    cluster.backdate = born + 180
    system_tolerations = [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                          {"key": ko.CONTROL_PLANE_LABEL, "operator": "Exists", "effect": "NoSchedule"}]
    _store_workload(cluster, "daemonsets", workload(
        "DaemonSet", "kube-proxy", "kube-system", labels={"k8s-app": "kube-proxy"},
        image="registry.k8s.io/kube-proxy:v1.32.4", node_selector={"kubernetes.io/os": "linux"},
        tolerations=[{"operator": "Exists"}], cpu="10m", memory="64Mi", host_network=True, created=born + 120))
    coredns = _store_workload(cluster, "deployments", workload(
        "Deployment", "coredns", "kube-system", replicas=2, labels={"k8s-app": "kube-dns"},
        image="registry.k8s.io/coredns/coredns:v1.11.3", node_selector={"kubernetes.io/os": "linux"},
        tolerations=system_tolerations, cpu="100m", memory="70Mi", created=born + 120))
    cluster.quiet = False
    _seed_events(cluster, node_objs, coredns, now)
    cluster.quiet = True
    cluster.backdate = now - 2 * DAY
    if pods > 0:
        store.put("namespaces", ko.namespace(LOAD_NAMESPACE, created=now - 2 * DAY))
        for i, start in enumerate(range(0, pods, LOAD_REPLICAS), start=1):
            name = f"load-{i:04d}"
            _store_workload(cluster, "deployments", workload(
                "Deployment", name, LOAD_NAMESPACE, replicas=min(LOAD_REPLICAS, pods - start),
                labels={"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "rehearsal-load"},
                image="registry.gitlab.com/gloriousflywheel/load:1.0", cpu="10m", memory="32Mi",
                created=now - 2 * DAY))
    cluster.quiet = False
    cluster.backdate = None


def _seed_events(cluster: Cluster, nodes: list[dict[str, Any]], coredns: dict[str, Any], now: float) -> None:
    for node in nodes[:3]:
        name = node["metadata"]["name"]
        ref = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": name}}
        cluster.store.put("events", ko.event(ref, "Starting", "Starting kubelet.", component="kubelet", host=name,
                                             first=now - 3600, namespace="default"))
        if name == "sting":
            cluster.store.put("events", ko.event(
                ref, "InvalidDiskCapacity", "invalid capacity 0 on image filesystem", type_="Warning",
                component="kubelet", host=name, first=now - 3600, namespace="default"))
    for rs in cluster.store.owned("replicasets", coredns["metadata"]["uid"]):
        for pod in cluster.store.owned("pods", rs.obj["metadata"]["uid"])[:1]:
            cluster.store.put("events", ko.event(
                pod.obj, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
                type_="Warning", component="kubelet", host=pod.obj["spec"].get("nodeName", ""), count=3,
                first=now - 900, last=now - 600))
