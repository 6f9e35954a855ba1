"""Compact records of the objects status keeps in memory: only the fields it shows.

A 15,000-pod cluster is held as 15,000 small tuples (strings interned, quantities parsed once per
distinct value), never as 15,000 parsed API objects. Each ``*_record`` function takes one object as
the API serves it (JSON, camelCase) and returns its record, or None to skip it.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any, Mapping, NamedTuple

from gfwizard.placement_quantity import cpu_millis, memory_bytes

_intern = sys.intern
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
#: The label every stack (and rehearsal twin) puts on its workloads, naming the environment.
ENVIRONMENT_LABEL = "gloriousflywheel.io/environment"
PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


@lru_cache(maxsize=4096)
def _cpu(value: str) -> int:
    try:
        return cpu_millis(value)
    except ValueError:
        return 0


@lru_cache(maxsize=4096)
def _mem(value: str) -> int:
    try:
        return memory_bytes(value)
    except ValueError:
        return 0


class NodeRec(NamedTuple):
    """A node as status shows it."""

    name: str
    labels: Mapping[str, str]
    ready: bool
    pressure: tuple[str, ...]
    taints: tuple[str, ...]
    unschedulable: bool
    cpu_allocatable_m: int
    memory_allocatable: int


class PodRec(NamedTuple):
    """A pod as status shows it (requests summed over its containers)."""

    namespace: str
    name: str
    node: str
    phase: str
    ready: bool
    restarts: int
    waiting_reason: str
    owner_kind: str
    owner_name: str
    cpu_m: int
    memory: int
    containers: tuple[str, ...]
    created: str


class WorkloadRec(NamedTuple):
    """A Deployment, StatefulSet or DaemonSet: desired and ready replicas."""

    kind: str
    namespace: str
    name: str
    desired: int
    ready: int
    #: Its ``gloriousflywheel.io/environment`` label (every stack sets it): whose workload it is.
    environment: str = ""


class EventRec(NamedTuple):
    """A Warning event."""

    namespace: str
    name: str
    object: str
    reason: str
    message: str
    count: int
    last_seen: str


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def object_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    """``(namespace, name)`` of an API object."""
    meta = _meta(obj)
    return (_intern(str(meta.get("namespace") or "")), str(meta.get("name") or ""))


def node_record(obj: Mapping[str, Any]) -> NodeRec:
    """The record of a Node."""
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    taints = tuple(
        _intern(f"{t.get('key', '')}={t['value']}:{t.get('effect', '')}" if t.get("value")
                else f"{t.get('key', '')}:{t.get('effect', '')}")
        for t in spec.get("taints") or [])
    return NodeRec(
        name=str(meta.get("name") or ""),
        labels=dict(meta.get("labels") or {}),
        ready=conditions.get("Ready") == "True",
        pressure=tuple(c for c in PRESSURE_CONDITIONS if conditions.get(c) == "True"),
        taints=taints,
        unschedulable=bool(spec.get("unschedulable")),
        cpu_allocatable_m=_cpu(str(allocatable.get("cpu", "0"))),
        memory_allocatable=_mem(str(allocatable.get("memory", "0"))),
    )


def _owner(meta: Mapping[str, Any]) -> tuple[str, str]:
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller"):
            kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
            if kind == "ReplicaSet":
                # A Deployment's pods belong to ReplicaSet "<deployment>-<pod-template-hash>".
                template_hash = (meta.get("labels") or {}).get("pod-template-hash")
                if template_hash and name.endswith("-" + template_hash):
                    return "Deployment", name[: -len(template_hash) - 1]
            return _intern(kind), name
    return "", ""


def pod_record(obj: Mapping[str, Any]) -> PodRec:
    """The record of a Pod."""
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    cpu = mem = 0
    containers = []
    for c in spec.get("containers") or []:
        containers.append(_intern(str(c.get("name") or "")))
        requests = (c.get("resources") or {}).get("requests") or {}
        if "cpu" in requests:
            cpu += _cpu(str(requests["cpu"]))
        if "memory" in requests:
            mem += _mem(str(requests["memory"]))
    restarts = 0
    waiting = ""
    for cs in status.get("containerStatuses") or []:
        restarts += int(cs.get("restartCount") or 0)
        reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
        if reason and not waiting:
            waiting = _intern(str(reason))
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    owner_kind, owner_name = _owner(meta)
    return PodRec(
        namespace=_intern(str(meta.get("namespace") or "")),
        name=str(meta.get("name") or ""),
        node=_intern(str(spec.get("nodeName") or "")),
        phase=_intern(str(status.get("phase") or "")),
        ready=ready, restarts=restarts, waiting_reason=waiting,
        owner_kind=owner_kind, owner_name=owner_name,
        cpu_m=cpu, memory=mem, containers=tuple(containers),
        created=str(meta.get("creationTimestamp") or ""),
    )


def workload_record(kind: str) -> Any:
    """A function making the record of a workload of ``kind`` (Deployment, StatefulSet, DaemonSet)."""

    def record(obj: Mapping[str, Any]) -> WorkloadRec:
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        if kind == "DaemonSet":
            desired = int(status.get("desiredNumberScheduled") or 0)
            ready = int(status.get("numberReady") or 0)
        else:
            replicas = spec.get("replicas")
            desired = int(1 if replicas is None else replicas)
            ready = int(status.get("readyReplicas") or 0)
        labels = meta.get("labels") or {}
        environment = labels.get(ENVIRONMENT_LABEL) if isinstance(labels, Mapping) else None
        return WorkloadRec(kind=kind, namespace=_intern(str(meta.get("namespace") or "")),
                           name=str(meta.get("name") or ""), desired=desired, ready=ready,
                           environment=_intern(str(environment or "")))

    return record


def event_record(obj: Mapping[str, Any]) -> EventRec | None:
    """The record of a Warning event (None for any other type)."""
    if obj.get("type") != "Warning":
        return None
    meta = _meta(obj)
    involved = obj.get("involvedObject") or {}
    last = (obj.get("lastTimestamp") or obj.get("eventTime") or (obj.get("series") or {}).get("lastObservedTime")
            or meta.get("creationTimestamp") or "")
    return EventRec(
        namespace=_intern(str(meta.get("namespace") or "")),
        name=str(meta.get("name") or ""),
        object=f"{involved.get('kind', '')}/{involved.get('name', '')}",
        reason=_intern(str(obj.get("reason") or "")),
        message=str(obj.get("message") or "")[:500],
        count=int(obj.get("count") or (obj.get("series") or {}).get("count") or 1),
        last_seen=str(last),
    )


def node_role(labels: Mapping[str, str], roles: Mapping[str, Mapping[str, str]]) -> str:
    """The placement role whose selector ``labels`` match, ``control-plane``, or ``other``."""
    for role, selector in roles.items():
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            return role
    if any(label in labels for label in CONTROL_PLANE_LABELS):
        return "control-plane"
    return "other"
