"""Factories for complete, schema-valid Kubernetes objects as the rehearsal API server serves them.

The official Python client (v37+) validates every response with pydantic, and kubectl decodes
strictly too, so every object carries what a real API server would fill in: uid, timestamps,
defaulted spec fields, full status with conditions. Field values mirror a small k3s/kubeadm cluster.
"""

from __future__ import annotations

import copy
import hashlib
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

ROLE_LABEL = "gloriousflywheel.io/role"
HOSTNAME_LABEL = "kubernetes.io/hostname"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
KUBELET_VERSION = "v1.32.4"
_SAFE = "bcdfghjklmnpqrstvwxz2456789"
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def ts(at: float | None = None) -> str:
    """RFC 3339 UTC timestamp with second precision (metav1.Time)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if at is None else at))


def ts_nano(at: float) -> str:
    """RFC 3339 timestamp with nanoseconds (log lines with ``timestamps=true``)."""
    whole = int(at)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((at - whole) * 1e9):09d}Z"


def new_uid() -> str:
    """A random object UID."""
    return str(uuid.uuid4())


def safe_suffix(seed: str, length: int = 5) -> str:
    """Deterministic ``[bcdf...]`` suffix like the generators' random name suffixes."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:length])


def template_hash(template: Mapping[str, Any]) -> str:
    """The ``pod-template-hash`` of a pod template (stable for equal templates)."""
    import json

    return safe_suffix(json.dumps(template, sort_keys=True), 10)


def is_dns_label(name: str) -> bool:
    """RFC 1123 label (namespace names), at most 63 characters."""
    return len(name) <= 63 and bool(_DNS1123_LABEL.match(name))


def is_dns_subdomain(name: str) -> bool:
    """RFC 1123 subdomain (most object names), at most 253 characters."""
    return len(name) <= 253 and bool(_DNS1123_SUBDOMAIN.match(name))


def meta(name: str, *, namespace: str | None = None, labels: Mapping[str, str] | None = None,
         created: float | None = None, uid: str | None = None,
         owner: Mapping[str, Any] | None = None, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``ObjectMeta`` with uid and creationTimestamp (resourceVersion is stamped by the store)."""
    out: dict[str, Any] = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    out["uid"] = uid or new_uid()
    out["creationTimestamp"] = ts(created)
    if labels:
        out["labels"] = dict(labels)
    if annotations:
        out["annotations"] = dict(annotations)
    if owner is not None:
        out["ownerReferences"] = [owner_ref(owner)]
    return out


def owner_ref(owner: Mapping[str, Any]) -> dict[str, Any]:
    """A controller ``OwnerReference`` pointing at ``owner``."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


# ------------------------------------------------------------------ namespaces
def namespace(name: str, *, created: float | None = None, uid: str | None = None,
              labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An ``Active`` namespace."""
    all_labels = {**(labels or {}), "kubernetes.io/metadata.name": name}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta(name, labels=all_labels, created=created, uid=uid),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


# ----------------------------------------------------------------------- nodes
@dataclass(frozen=True)
class NodeShape:
    """Capacity of a node role."""

    cpu: int
    memory_gi: int


SHAPES: dict[str, NodeShape] = {
    "control-plane": NodeShape(cpu=4, memory_gi=16),
    "bumble": NodeShape(cpu=8, memory_gi=32),
    "sting": NodeShape(cpu=16, memory_gi=64),
}

CONTROL_PLANE_TAINT = {"key": CONTROL_PLANE_LABEL, "effect": "NoSchedule"}


def node_address(index: int) -> str:
    """InternalIP of the ``index``-th node."""
    return f"10.0.{index // 250}.{index % 250 + 5}"


def node(name: str, role: str, index: int, *, created: float | None = None,
         labels: Mapping[str, str] | None = None, taints: Iterable[Mapping[str, Any]] | None = None,
         ready: bool | str = True) -> dict[str, Any]:
    """A node of a role (``control-plane`` gets the control-plane label and NoSchedule taint).

    ``ready``: True (``Ready=True``), False or ``"Unknown"`` (kubelet stopped posting status), ``"False"``
    (kubelet posts NotReady). A node that is not Ready carries the node lifecycle controller's taints."""
    # Imported here: k8s_nodes builds on this module's timestamps.
    from gfwizard.rehearsal.k8s_nodes import as_ready_status, conditions, with_controller_taints

    shape = SHAPES.get(role, SHAPES["bumble"])
    all_labels = {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
        HOSTNAME_LABEL: name, ROLE_LABEL: role,
    }
    if role == "control-plane":
        all_labels[CONTROL_PLANE_LABEL] = ""
    all_labels.update(labels or {})
    if taints is None:
        taints = [CONTROL_PLANE_TAINT] if role == "control-plane" else []
    spec: dict[str, Any] = {"podCIDR": f"10.42.{index % 256}.0/24", "podCIDRs": [f"10.42.{index % 256}.0/24"]}
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    heartbeat = ts()
    since = ts(created)
    memory_ki = shape.memory_gi * 1024 * 1024
    capacity = {"cpu": str(shape.cpu), "ephemeral-storage": "102626232Ki", "hugepages-1Gi": "0",
                "hugepages-2Mi": "0", "memory": f"{memory_ki}Ki", "pods": "110"}
    allocatable = {**capacity, "ephemeral-storage": "99833802265", "memory": f"{memory_ki - 102400}Ki"}
    node_conditions = conditions(as_ready_status(ready), heartbeat, since)
    seed = hashlib.sha256(name.encode()).hexdigest()
    return with_controller_taints({
        "apiVersion": "v1", "kind": "Node",
        "metadata": meta(name, labels=all_labels, created=created, annotations={
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }),
        "spec": spec,
        "status": {
            "capacity": capacity, "allocatable": allocatable, "conditions": node_conditions,
            "addresses": [{"type": "InternalIP", "address": node_address(index)},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": seed[:32], "systemUUID": str(uuid.UUID(seed[32:64])), "bootID": new_uid(),
                "kernelVersion": "6.8.0-57-generic", "osImage": "Ubuntu 24.04.2 LTS",
                "containerRuntimeVersion": "containerd://1.7.27", "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux", "architecture": "amd64",
            },
            "images": [{"names": ["registry.k8s.io/pause@sha256:" + "0" * 64, "registry.k8s.io/pause:3.10"],
                        "sizeBytes": 320368}],
        },
    }, heartbeat)


def node_is_ready(obj: Mapping[str, Any]) -> bool:
    """Does the node report ``Ready=True``?"""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in obj.get("status", {}).get("conditions", []))


# ------------------------------------------------------------------ pod specs
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def with_default_tolerations(tolerations: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``tolerations`` plus the ``DefaultTolerationSeconds`` admission's 300 s ones for each of the not-ready and
    unreachable taints no toleration already covers. As the admission plugin, a toleration covers a taint when its
    key is the taint's or empty and its effect ``NoExecute`` or empty, whatever its operator, value or
    ``tolerationSeconds`` (so ``{key: not-ready, effect: NoSchedule}`` still gets the default)."""
    out = [dict(t) for t in tolerations]
    for default in DEFAULT_TOLERATIONS:
        if not any(t.get("key") in (None, "", default["key"]) and t.get("effect") in (None, "", "NoExecute")
                   for t in out):
            out.append(dict(default))
    return out


def default_container(container: dict[str, Any]) -> dict[str, Any]:
    """Fill in what the API server defaults on a container."""
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    container.setdefault("resources", {})
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if "imagePullPolicy" not in container:
        latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
        container["imagePullPolicy"] = "Always" if latest else "IfNotPresent"
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    return container


def default_pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Fill in what the API server defaults on a pod spec (in place; returns it)."""
    for container in spec.get("containers") or []:
        default_container(container)
    for container in spec.get("initContainers") or []:
        default_container(container)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    return spec


def default_workload(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Fill in apps/v1 defaults for Deployment / StatefulSet / DaemonSet / ReplicaSet specs."""
    spec = obj.setdefault("spec", {})
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    default_pod_spec(template.setdefault("spec", {}))
    spec.setdefault("revisionHistoryLimit", 10)
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        spec.setdefault("replicas", 1)
    if kind == "Deployment":
        _default_strategy(spec, "strategy", {"maxUnavailable": "25%", "maxSurge": "25%"})
        spec.setdefault("progressDeadlineSeconds", 600)
    elif kind == "StatefulSet":
        spec.setdefault("podManagementPolicy", "OrderedReady")
        _default_strategy(spec, "updateStrategy", {"partition": 0})
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        spec.setdefault("serviceName", "")
    elif kind == "DaemonSet":
        _default_strategy(spec, "updateStrategy", {"maxUnavailable": 1, "maxSurge": 0})
    if kind == "ReplicaSet":
        spec.pop("revisionHistoryLimit", None)
    return obj


def _default_strategy(spec: dict[str, Any], key: str, rolling: Mapping[str, Any]) -> None:
    strategy = spec.get(key) or {}
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy["rollingUpdate"] = {**rolling, **(strategy.get("rollingUpdate") or {})}
    spec[key] = strategy


def validate_workload(kind: str, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, message)`` causes that make a workload invalid (empty when it is fine)."""
    causes: list[tuple[str, str]] = []
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return [("spec", "Required value")]
    selector = spec.get("selector")
    labels = (spec.get("template") or {}).get("metadata", {}).get("labels") or {}
    if not isinstance(selector, Mapping) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
    else:
        from gfwizard.rehearsal.k8s_select import labels_match

        if not labels_match(selector, labels):
            causes.append(("spec.template.metadata.labels",
                           f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`"))
    replicas = spec.get("replicas", 1)
    if kind != "DaemonSet" and (not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0):
        causes.append(("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0"))
    causes.extend(validate_pod_spec((spec.get("template") or {}).get("spec"), "spec.template.spec"))
    return causes


def validate_pod_spec(spec: Any, path: str = "spec") -> list[tuple[str, str]]:
    """Causes that make a pod spec invalid."""
    if not isinstance(spec, Mapping):
        return [(path, "Required value")]
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [(f"{path}.containers", "Required value")]
    causes: list[tuple[str, str]] = []
    for i, container in enumerate(containers):
        if not isinstance(container, Mapping):
            causes.append((f"{path}.containers[{i}]", "Invalid value: must be an object"))
            continue
        name = container.get("name")
        if not isinstance(name, str) or not is_dns_label(name):
            causes.append((f"{path}.containers[{i}].name", f"Invalid value: {name!r}: a lowercase RFC 1123 label"))
        if not container.get("image"):
            causes.append((f"{path}.containers[{i}].image", "Required value"))
    selector = spec.get("nodeSelector")
    if selector is not None and (not isinstance(selector, Mapping)
                                 or not all(isinstance(v, str) for v in selector.values())):
        causes.append((f"{path}.nodeSelector", "Invalid value: must be a map of strings"))
    return causes


def _go_map(labels: Mapping[str, str]) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"


# ------------------------------------------------------------------------ pods
@dataclass(frozen=True)
class Placement:
    """Where a pod runs: node name, the node's InternalIP, and the pod's IP."""

    node: str
    host_ip: str
    pod_ip: str


def pod(name: str, namespace: str, template: Mapping[str, Any], *, owner: Mapping[str, Any] | None,
        placement: Placement | None, unschedulable: str = "", created: float | None = None,
        extra_labels: Mapping[str, str] | None = None, generate_name: str | None = None,
        affinity_node: str | None = None, base_spec: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pod from a template: Running on ``placement``, or Pending/Unschedulable with a message.

    ``base_spec`` is the defaulted spec of an earlier pod from the same template: it is shallow-copied
    instead of rebuilt (stored objects are never mutated, so pods may share its nested parts).
    """
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), **(extra_labels or {})}
    metadata = meta(name, namespace=namespace, labels=labels, created=created, owner=owner,
                    annotations=tmeta.get("annotations"))
    if generate_name:
        metadata = {"name": name, "generateName": generate_name,
                    **{k: v for k, v in metadata.items() if k != "name"}}
    if base_spec is not None:
        spec = dict(base_spec)
    else:
        spec = default_pod_spec(copy.deepcopy(dict(template.get("spec") or {})))
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        spec["tolerations"] = with_default_tolerations(spec.get("tolerations") or [])
    if affinity_node is not None:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [affinity_node]}]}]}}}
    if placement is not None:
        spec["nodeName"] = placement.node
    started = created if created is not None else time.time()
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec,
            "status": pod_status(spec, placement, unschedulable, started)}


def qos_class(spec: Mapping[str, Any]) -> str:
    """``Guaranteed``, ``Burstable`` or ``BestEffort`` from the containers' resources."""
    requests_or_limits = False
    guaranteed = True
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        req, lim = resources.get("requests") or {}, resources.get("limits") or {}
        if req or lim:
            requests_or_limits = True
        if not lim or any(req.get(k, lim.get(k)) != lim.get(k) for k in ("cpu", "memory")) \
                or not {"cpu", "memory"} <= set(lim):
            guaranteed = False
    if not requests_or_limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _image_ref(image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" not in image:
        image = f"docker.io/library/{image}"
    elif "." not in first and ":" not in first and first != "localhost":
        image = f"docker.io/{image}"
    if ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
        image += ":latest"
    return image


def pod_status(spec: Mapping[str, Any], placement: Placement | None, unschedulable: str,
               started: float) -> dict[str, Any]:
    """A Running status on ``placement``, or Pending with an Unschedulable ``PodScheduled`` condition."""
    at = ts(started)
    qos = qos_class(spec)
    if placement is None:
        return {"phase": "Pending", "qosClass": qos, "conditions": [
            {"type": "PodScheduled", "status": "False", "lastProbeTime": None, "lastTransitionTime": at,
             "reason": "Unschedulable", "message": unschedulable}]}
    conditions = [
        {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": at}
        for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
    ]
    statuses = []
    for container in spec.get("containers") or []:
        image = str(container.get("image", ""))
        ref = _image_ref(image)
        digest = hashlib.sha256(ref.encode()).hexdigest()
        cid = hashlib.sha256(f"{placement.pod_ip}/{container.get('name')}/{started}".encode()).hexdigest()
        statuses.append({
            "name": container.get("name", ""), "image": ref, "imageID": f"{ref.rsplit(':', 1)[0]}@sha256:{digest}",
            "containerID": f"containerd://{cid}", "ready": True, "started": True, "restartCount": 0,
            "state": {"running": {"startedAt": at}}, "lastState": {},
        })
    pod_ip = placement.host_ip if spec.get("hostNetwork") else placement.pod_ip
    return {"phase": "Running", "conditions": conditions, "hostIP": placement.host_ip,
            "hostIPs": [{"ip": placement.host_ip}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
            "startTime": at, "containerStatuses": statuses, "qosClass": qos}


def pod_is_ready(obj: Mapping[str, Any]) -> bool:
    """Does the pod report ``Ready=True``?"""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in obj.get("status", {}).get("conditions", []))


# ---------------------------------------------------------------------- events
def event(involved: Mapping[str, Any], reason: str, message: str, *, type_: str = "Normal",
          component: str = "default-scheduler", host: str = "", count: int = 1,
          first: float | None = None, last: float | None = None, namespace: str | None = None) -> dict[str, Any]:
    """A core/v1 Event about ``involved`` (any object with apiVersion, kind and metadata)."""
    imeta = involved["metadata"]
    ns = namespace if namespace is not None else imeta.get("namespace", "default")
    first_at = ts(first)
    last_at = ts(last if last is not None else first)
    obj_ref = {"kind": involved["kind"], "name": imeta["name"], "uid": imeta.get("uid", ""),
               "apiVersion": involved["apiVersion"], "resourceVersion": imeta.get("resourceVersion", "")}
    if imeta.get("namespace"):
        obj_ref["namespace"] = imeta["namespace"]
    name = f"{imeta['name']}.{hashlib.sha256(f'{reason}{message}{new_uid()}'.encode()).hexdigest()[:16]}"
    source: dict[str, str] = {"component": component}
    if host:
        source["host"] = host
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns, "uid": new_uid(), "creationTimestamp": last_at},
        "involvedObject": obj_ref, "reason": reason, "message": message, "source": source,
        "firstTimestamp": first_at, "lastTimestamp": last_at, "count": count, "type": type_,
        "eventTime": None, "reportingComponent": component, "reportingInstance": host,
    }


# ------------------------------------------------------------------------ logs
_LOG_START = (
    "starting {c} (pod {p})",
    "loaded configuration from /etc/{c}/config.yaml",
    "listening on 0.0.0.0:8080",
)
_LOG_STEADY = (
    "health check ok",
    "GET /healthz 200 0.4ms",
    "reconciled 3 objects in 12ms",
    "GET /metrics 200 1.9ms",
    "cache refreshed: 128 entries",
)


def log_line(pod_name: str, container: str, index: int) -> str:
    """The ``index``-th line a rehearsal container writes (a few start-up lines, then a steady beat)."""
    level = "INFO"
    if index < len(_LOG_START):
        text = _LOG_START[index].format(c=container, p=pod_name)
    elif index % 17 == 16:
        level, text = "WARN", "slow response from upstream: 1.2s"
    else:
        text = _LOG_STEADY[index % len(_LOG_STEADY)]
    return f'level={level} seq={index} msg="{text}"'
