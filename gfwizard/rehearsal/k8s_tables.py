"""Server-side printing: ``meta.k8s.io/v1`` Tables, as kubectl asks for them on ``kubectl get``.

Columns and cell wording follow the API server's own printers (``pkg/printers/internalversion``),
so ``kubectl get nodes`` shows STATUS/ROLES/AGE/VERSION, ``kubectl get deploy`` READY as
``ready/desired``, and so on. ``-o wide`` shows the priority-1 columns.
"""

from __future__ import annotations

import calendar
import time
from typing import Any, Callable, Iterable, Mapping

Obj = Mapping[str, Any]
Column = tuple[str, str, int, str]  # name, type, priority, description


def human_duration(seconds: float) -> str:
    """``k8s.io/apimachinery/pkg/util/duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def age(stamp: str | None, now: float) -> str:
    """Age of an RFC 3339 timestamp, or ``<unknown>``."""
    if not stamp:
        return "<unknown>"
    try:
        at = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return "<unknown>"
    return human_duration(now - at)


def _images(obj: Obj) -> tuple[str, str]:
    containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _selector(obj: Obj) -> str:
    sel = obj.get("spec", {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())) or "<none>"


def _node_row(obj: Obj, now: float) -> list[Any]:
    status = obj.get("status", {})
    ready = next((c.get("status") for c in status.get("conditions", []) if c.get("type") == "Ready"), None)
    # kube-apiserver's printer: any Ready status but True (False, Unknown) reads NotReady; no condition: Unknown.
    text = "Ready" if ready == "True" else ("Unknown" if ready is None else "NotReady")
    if obj.get("spec", {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    labels = obj.get("metadata", {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    if labels.get("kubernetes.io/role"):
        roles.append(labels["kubernetes.io/role"])
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses", [])}
    info = status.get("nodeInfo", {})
    return [obj["metadata"]["name"], text, ",".join(roles) or "<none>",
            age(obj["metadata"].get("creationTimestamp"), now), info.get("kubeletVersion", ""),
            addresses.get("InternalIP", "<none>"), addresses.get("ExternalIP", "<none>"),
            info.get("osImage", "<unknown>"), info.get("kernelVersion", "<unknown>"),
            info.get("containerRuntimeVersion", "<unknown>")]


def _pod_row(obj: Obj, now: float) -> list[Any]:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    statuses = status.get("containerStatuses") or []
    total = len(spec.get("containers") or [])
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    last_restart = ""
    for cs in reversed(statuses):  # kube-apiserver's printer: a container's waiting reason is the pod's status
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or ""
        last_restart = max(last_restart, str(finished))
        waiting = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
        if waiting:
            reason = waiting
    shown_restarts = f"{restarts} ({age(last_restart, now)} ago)" if restarts and last_restart else str(restarts)
    return [obj["metadata"]["name"], f"{ready}/{total}", reason, shown_restarts,
            age(obj["metadata"].get("creationTimestamp"), now), status.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", "<none>"]


def _namespace_row(obj: Obj, now: float) -> list[Any]:
    return [obj["metadata"]["name"], obj.get("status", {}).get("phase", ""),
            age(obj["metadata"].get("creationTimestamp"), now)]


def _deployment_row(obj: Obj, now: float) -> list[Any]:
    status = obj.get("status", {})
    desired = obj.get("spec", {}).get("replicas", 1)
    names, images = _images(obj)
    return [obj["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{desired}", status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0), age(obj["metadata"].get("creationTimestamp"), now), names, images,
            _selector(obj)]


def _replicaset_row(obj: Obj, now: float) -> list[Any]:
    status = obj.get("status", {})
    names, images = _images(obj)
    return [obj["metadata"]["name"], obj.get("spec", {}).get("replicas", 1), status.get("replicas", 0),
            status.get("readyReplicas", 0), age(obj["metadata"].get("creationTimestamp"), now), names, images,
            _selector(obj)]


def _statefulset_row(obj: Obj, now: float) -> list[Any]:
    status = obj.get("status", {})
    names, images = _images(obj)
    return [obj["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{obj.get('spec', {}).get('replicas', 1)}",
            age(obj["metadata"].get("creationTimestamp"), now), names, images]


def _daemonset_row(obj: Obj, now: float) -> list[Any]:
    status = obj.get("status", {})
    selector = obj.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector") or {}
    names, images = _images(obj)
    return [obj["metadata"]["name"], status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
            age(obj["metadata"].get("creationTimestamp"), now), names, images, _selector(obj)]


def _event_row(obj: Obj, now: float) -> list[Any]:
    involved = obj.get("involvedObject", {})
    last = obj.get("lastTimestamp") or obj.get("eventTime") or obj["metadata"].get("creationTimestamp")
    source = obj.get("source", {})
    return [age(last, now), obj.get("type", ""), obj.get("reason", ""),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}", obj.get("message", ""),
            involved.get("fieldPath", ""), ", ".join(v for v in (source.get("component"), source.get("host")) if v),
            age(obj.get("firstTimestamp"), now), obj.get("count", 1), obj["metadata"]["name"]]


_NAME: Column = ("Name", "string", 0, "Name must be unique within a namespace.")
_AGE: Column = ("Age", "string", 0, "CreationTimestamp is a timestamp representing the server time when this object "
                "was created.")
_WORKLOAD_WIDE: list[Column] = [("Containers", "string", 1, "Names of each container in the template."),
                                ("Images", "string", 1, "Images referenced by each container in the template."),
                                ("Selector", "string", 1, "Label selector for pods.")]

TABLES: dict[str, tuple[list[Column], Callable[[Obj, float], list[Any]]]] = {
    "nodes": ([_NAME, ("Status", "string", 0, "The status of the node"),
               ("Roles", "string", 0, "The roles of the node"), _AGE,
               ("Version", "string", 0, "Kubelet Version reported by the node."),
               ("Internal-IP", "string", 1, "List of internal IPs for the node."),
               ("External-IP", "string", 1, "List of external IPs for the node."),
               ("OS-Image", "string", 1, "OS image reported by the node."),
               ("Kernel-Version", "string", 1, "Kernel version reported by the node."),
               ("Container-Runtime", "string", 1, "Container runtime and version reported by the node.")],
              _node_row),
    "pods": ([_NAME, ("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
              ("Status", "string", 0, "The aggregate status of the containers in this pod."),
              ("Restarts", "string", 0, "The number of times the containers in this pod have been restarted."), _AGE,
              ("IP", "string", 1, "IP address allocated to the pod."),
              ("Node", "string", 1, "Name of the Node this pod is assigned to."),
              ("Nominated Node", "string", 1, "Name of the Node this pod is nominated to."),
              ("Readiness Gates", "string", 1, "Readiness gates of the pod.")], _pod_row),
    "namespaces": ([_NAME, ("Status", "string", 0, "The status of the namespace"), _AGE], _namespace_row),
    "deployments": ([_NAME, ("Ready", "string", 0, "Number of the pod with ready state"),
                     ("Up-to-date", "string", 0, "Total number of non-terminated pods targeted by this deployment "
                      "that have the desired template spec."),
                     ("Available", "string", 0, "Total number of available pods (ready for at least "
                      "minReadySeconds) targeted by this deployment."), _AGE, *_WORKLOAD_WIDE], _deployment_row),
    "replicasets": ([_NAME, ("Desired", "integer", 0, "Replicas is the number of desired replicas."),
                     ("Current", "integer", 0, "Replicas is the most recently observed number of replicas."),
                     ("Ready", "integer", 0, "The number of ready replicas for this replica set."), _AGE,
                     *_WORKLOAD_WIDE], _replicaset_row),
    "statefulsets": ([_NAME, ("Ready", "string", 0, "Number of the pod with ready state"), _AGE,
                      *_WORKLOAD_WIDE[:2]], _statefulset_row),
    "daemonsets": ([_NAME, ("Desired", "integer", 0, "The total number of nodes that should be running the daemon "
                            "pod."),
                    ("Current", "integer", 0, "The number of nodes running at least one daemon pod."),
                    ("Ready", "integer", 0, "The number of nodes that should be running the daemon pod and have one "
                     "or more of the daemon pod running and ready."),
                    ("Up-to-date", "integer", 0, "The total number of nodes that are running updated daemon pod"),
                    ("Available", "integer", 0, "The number of nodes that should be running the daemon pod and have "
                     "one or more of the daemon pod running and available."),
                    ("Node Selector", "string", 0, "NodeSelector is a selector which must be true for the pod to fit "
                     "on a node."), _AGE, *_WORKLOAD_WIDE], _daemonset_row),
    "events": ([("Last Seen", "string", 0, "Time since the event was last seen"),
                ("Type", "string", 0, "Type of this event (Normal, Warning)"),
                ("Reason", "string", 0, "Short, machine understandable string that gives the reason for the "
                 "transition into the object's current status."),
                ("Object", "string", 0, "The object that this event is about."),
                ("Message", "string", 0, "A human-readable description of the status of this operation."),
                ("Subobject", "string", 1, "The subobject of the involved object."),
                ("Source", "string", 1, "The component reporting this event."),
                ("First Seen", "string", 1, "Time since the event was first seen"),
                ("Count", "string", 1, "The number of times this event has occurred."),
                ("Name", "string", 1, "The name of this event.")], _event_row),
}


def wants_table(accept: str) -> bool:
    """Does the Accept header ask for a ``meta.k8s.io`` Table?"""
    return "as=Table" in accept.replace(" ", "")


def table(plural: str, objects: Iterable[Obj], *, resource_version: str, continue_token: str = "",
          remaining: int | None = None, include_object: str = "Metadata") -> dict[str, Any] | None:
    """A Table for ``objects`` of ``plural`` (None when that kind has no printer here)."""
    spec = TABLES.get(plural)
    if spec is None:
        return None
    columns, row_fn = spec
    now = time.time()
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": row_fn(obj, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}
        rows.append(row)
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": [{"name": n, "type": t, "format": "name" if n == "Name" else "",
                                   "description": d, "priority": p} for n, t, p, d in columns],
            "rows": rows}

