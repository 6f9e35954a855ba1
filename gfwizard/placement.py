"""Node-role placement: which of honey's nodes each stack's workloads will land on, and why not.

``bumble`` and ``sting`` are node roles inside honey, not clusters. ``organization.yaml`` maps each
stack to a role (``placement.stacks``) and each role to a node selector and tolerations
(``placement.roles``). :func:`compute_placement` combines that with the live nodes (labels, taints,
allocatable) and each workload's requests, and flags every conflict the scheduler would hit:

* ``no-role``   the stack has no role, or its role is not defined;
* ``no-node``   no Ready node matches the role's selector (matching NotReady nodes are named, with
                why when their lifecycle taints say: unreachable or NotReady);
* ``taint``     every matching node carries a NoSchedule/NoExecute taint the workload does not tolerate;
* ``capacity``  one pod requests more cpu/memory than any candidate's allocatable, or the role's
                workloads together request more than the role's nodes have.

Capacity is compared with allocatable, not with what running pods leave free: the table answers
"can this ever fit", the scheduler answers "does it fit right now".

Everything here is pure except :func:`fetch_nodes`, which reads nodes through a ``ClusterClient``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from gfwizard.placement_quantity import cpu_millis, format_cpu, format_memory, memory_bytes

if TYPE_CHECKING:
    from gfwizard.cluster_client import ClusterClient
    from gfwizard.orgconfig import OrgConfig

ConflictKind = Literal["no-role", "no-node", "taint", "capacity"]
WorkloadKind = Literal["Deployment", "StatefulSet", "DaemonSet"]
_BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")
_CORDON_TAINT = "node.kubernetes.io/unschedulable"


class Taint(BaseModel):
    """A node taint."""

    model_config = ConfigDict(frozen=True)

    key: str
    value: str = ""
    effect: str = "NoSchedule"

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


class Toleration(BaseModel):
    """A pod toleration, with Kubernetes' matching rules."""

    model_config = ConfigDict(frozen=True)

    key: str = ""
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str = ""
    effect: str = ""

    def tolerates(self, taint: Taint) -> bool:
        """True when this toleration lets a pod schedule onto (and stay on) a node with ``taint``."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.operator == "Exists":
            return not self.key or self.key == taint.key
        return self.key == taint.key and self.value == taint.value


class NodeInfo(BaseModel):
    """What placement needs to know about one node."""

    model_config = ConfigDict(frozen=True)

    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    cpu_allocatable_m: int = Field(0, description="allocatable cpu in millicores")
    memory_allocatable: int = Field(0, description="allocatable memory in bytes")
    ready: bool = False
    unschedulable: bool = Field(False, description="cordoned (spec.unschedulable)")

    def matches(self, selector: Mapping[str, str]) -> bool:
        """True when every ``key: value`` of ``selector`` is one of this node's labels."""
        return all(self.labels.get(k) == v for k, v in selector.items())

    def blocking_taints(self) -> list[Taint]:
        """Taints that keep pods off (NoSchedule/NoExecute), counting a cordon as one."""
        taints = [t for t in self.taints if t.effect in _BLOCKING_EFFECTS]
        if self.unschedulable and not any(t.key == _CORDON_TAINT for t in taints):
            taints.append(Taint(key=_CORDON_TAINT, effect="NoSchedule"))
        return taints

    def untolerated(self, tolerations: Iterable[Toleration]) -> list[Taint]:
        """The blocking taints none of ``tolerations`` tolerates."""
        tols = list(tolerations)
        return [t for t in self.blocking_taints() if not any(tol.tolerates(t) for tol in tols)]


def node_info_from_dict(obj: Mapping[str, Any]) -> NodeInfo:
    """A :class:`NodeInfo` from a Node as the API serves it (JSON, camelCase keys)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    conditions = status.get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    taints = [Taint(key=t.get("key", ""), value=t.get("value") or "", effect=t.get("effect", "NoSchedule"))
              for t in spec.get("taints") or []]
    return NodeInfo(
        name=meta.get("name", ""),
        labels=dict(meta.get("labels") or {}),
        taints=taints,
        cpu_allocatable_m=cpu_millis(allocatable.get("cpu", "0")),
        memory_allocatable=memory_bytes(allocatable.get("memory", "0")),
        ready=ready,
        unschedulable=bool(spec.get("unschedulable")),
    )


def fetch_nodes(client: "ClusterClient") -> list[NodeInfo]:
    """The cluster's nodes, read through ``client`` (one GET /api/v1/nodes, with its timeouts)."""
    return sorted((node_info_from_dict(n) for n in client.list_nodes_raw()), key=lambda n: n.name)


class WorkloadRequest(BaseModel):
    """One workload a stack creates and what each of its pods requests."""

    model_config = ConfigDict(frozen=True)

    stack: str
    namespace: str
    name: str
    kind: WorkloadKind = "Deployment"
    replicas: int = 1
    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)

    @property
    def cpu_m(self) -> int:
        """Per-pod cpu request in millicores."""
        return cpu_millis(self.cpu_request)

    @property
    def memory(self) -> int:
        """Per-pod memory request in bytes."""
        return memory_bytes(self.memory_request)


#: Used when a stack's outputs are not available (nothing applied yet): the workloads and default
#: requests the stacks declare (tofu/rehearsal/<stack> mirrors them), with the prod namespaces; a name
#: holding ``{environment}`` is named per environment by its stack. docs/operator-guide.md lists them.
DEFAULT_WORKLOADS: dict[str, tuple[tuple[str, str, WorkloadKind, int, str, str], ...]] = {
    # stack: ((namespace, name, kind, replicas, cpu, memory), ...)
    "attic": (("attic", "attic", "Deployment", 1, "250m", "256Mi"),),
    "arc-runners": (("arc-systems", "arc-{environment}-gha-rs-controller", "Deployment", 1, "100m", "128Mi"),),
    "gitlab-runners": (("gitlab-runners", "gitlab-runner", "Deployment", 1, "100m", "128Mi"),),
    "runner-dashboard": (("runner-dashboard", "runner-dashboard", "Deployment", 1, "50m", "64Mi"),),
}
_GENERIC = ("", "", "Deployment", 1, "100m", "128Mi")


def default_requests(stack: str, *, namespace: str | None = None, environment: str = "prod") -> list[WorkloadRequest]:
    """The documented default workloads of ``stack`` (one generic workload for unknown stacks), in
    ``environment`` and, when given, in the stack's ``namespace`` (its tfvars' ``namespace``)."""
    rows = DEFAULT_WORKLOADS.get(stack, (_GENERIC,))
    return [WorkloadRequest(stack=stack, namespace=namespace or ns or stack,
                            name=(name or stack).format(environment=environment), kind=kind, replicas=replicas,
                            cpu_request=cpu, memory_request=mem)
            for ns, name, kind, replicas, cpu, mem in rows]


def requests_from_outputs(stack: str, outputs: Mapping[str, Any]) -> list[WorkloadRequest]:
    """Workloads from a stack's outputs (``tofu output -json`` decoded, or plain ``{name: value}``).

    Reads the ``workloads`` output every stack and rehearsal twin declares; an empty list when the
    stack has no such output.
    """
    raw = outputs.get("workloads")
    if isinstance(raw, Mapping) and "value" in raw:
        raw = raw["value"]
    out: list[WorkloadRequest] = []
    for item in raw or []:
        out.append(WorkloadRequest(
            stack=stack,
            namespace=str(item.get("namespace") or stack),
            name=str(item["name"]),
            kind=item.get("kind") or "Deployment",
            replicas=int(item.get("replicas", 1)),
            cpu_request=str(item.get("cpu_request") or "100m"),
            memory_request=str(item.get("memory_request") or "128Mi"),
            node_selector=dict(item.get("node_selector") or {}),
            tolerations=[Toleration(**t) for t in item.get("tolerations") or []],
        ))
    return out


def requests_for(cfg: "OrgConfig", outputs: Mapping[str, Mapping[str, Any]] | None = None
                 ) -> dict[str, list[WorkloadRequest]]:
    """Per stack of ``cfg``: workloads from its outputs when given and non-empty, else the defaults."""
    outputs = outputs or {}
    result: dict[str, list[WorkloadRequest]] = {}
    for spec in cfg.stacks:
        from_outputs = requests_from_outputs(spec.name, outputs[spec.name]) if spec.name in outputs else []
        result[spec.name] = from_outputs or default_requests(spec.name)
    return result


class Conflict(BaseModel):
    """Why a workload (or a role) cannot be placed, and what to do about it."""

    model_config = ConfigDict(frozen=True)

    kind: ConflictKind
    detail: str
    remedy: str


class PlacementRow(BaseModel):
    """Where one workload of one stack lands."""

    stack: str
    namespace: str
    workload: str
    kind: WorkloadKind
    replicas: int
    role: str | None
    node_selector: dict[str, str]
    candidates: list[str] = Field(description="nodes the scheduler may put its pods on")
    cpu_request: str
    memory_request: str
    conflicts: list[Conflict] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the workload has somewhere to go."""
        return not self.conflicts


class RoleSummary(BaseModel):
    """One node role: its nodes, their capacity, and what the stacks placed on it request."""

    role: str
    node_selector: dict[str, str]
    nodes: list[str] = Field(description="nodes matching the selector (Ready or not)")
    ready_nodes: list[str]
    stacks: list[str]
    cpu_allocatable: str
    memory_allocatable: str
    cpu_requested: str
    memory_requested: str
    conflicts: list[Conflict] = Field(default_factory=list)


class PlacementTable(BaseModel):
    """The placement of every workload of every stack, plus a per-role summary."""

    rows: list[PlacementRow]
    roles: list[RoleSummary]

    @property
    def ok(self) -> bool:
        """True when no row and no role has a conflict."""
        return all(r.ok for r in self.rows) and not any(s.conflicts for s in self.roles)

    def conflicts(self) -> list[tuple[str, Conflict]]:
        """Every conflict with what it is about ("stack/workload" or "role R")."""
        found = [(f"{r.stack}/{r.workload}", c) for r in self.rows for c in r.conflicts]
        found += [(f"role {s.role}", c) for s in self.roles for c in s.conflicts]
        return found


#: The node lifecycle controller's taint on a NotReady node -> what it says about the node.
_NOT_READY_WHY = {"node.kubernetes.io/unreachable": "unreachable: its kubelet stopped posting status",
                  "node.kubernetes.io/not-ready": "its kubelet reports NotReady"}


def not_ready_why(taint_keys: Iterable[str]) -> str:
    """Why a NotReady node is not Ready, as its lifecycle taints (``node.kubernetes.io/unreachable`` /
    ``not-ready``) say; "" when it has neither."""
    return next((_NOT_READY_WHY[key] for key in taint_keys if key in _NOT_READY_WHY), "")


def not_ready_note(nodes: Iterable[NodeInfo]) -> str:
    """``sting (unreachable: …) matches but is not Ready``: NotReady nodes that match a selector, each with
    :func:`not_ready_why`."""
    names = []
    for n in nodes:
        why = not_ready_why(t.key for t in n.taints)
        names.append(f"{n.name} ({why})" if why else n.name)
    verb = "matches but is" if len(names) == 1 else "match but are"
    return f"{', '.join(names)} {verb} not Ready"


def bring_back(nodes: Iterable[NodeInfo]) -> str:
    """The remedy for a role whose matching nodes are all NotReady: look at them and bring one back."""
    first = next(iter(nodes)).name
    return (f"bring a node of the role back to Ready (kubectl describe node {first}: its kubelet, network and "
            "container runtime)")


def _selector_text(selector: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) or "(empty selector: every node)"


def _role_tolerations(cfg: "OrgConfig", role: str) -> list[Toleration]:
    spec = cfg.placement.roles.get(role)
    raw = getattr(spec, "tolerations", None) or []
    return [t if isinstance(t, Toleration) else Toleration(**_as_dict(t)) for t in raw]


def _as_dict(obj: Any) -> dict[str, Any]:
    data = obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)
    return {k: v for k, v in data.items() if v is not None and k in Toleration.model_fields}


def _place(cfg: "OrgConfig", req: WorkloadRequest, nodes: list[NodeInfo]) -> PlacementRow:
    role = cfg.role_for_stack(req.stack)
    row = dict(stack=req.stack, namespace=req.namespace, workload=req.name, kind=req.kind, replicas=req.replicas,
               cpu_request=req.cpu_request, memory_request=req.memory_request)
    if role is None or role not in cfg.placement.roles:
        detail = (f"stack {req.stack!r} has no placement role" if role is None
                  else f"stack {req.stack!r} is placed on role {role!r}, which placement.roles does not define")
        known = ", ".join(sorted(cfg.placement.roles)) or "none defined"
        remedy = (f"set placement.stacks.{req.stack} to one of the roles ({known}) in organization.yaml"
                  if role is None else f"define placement.roles.{role} with a node_selector, or place the stack on "
                                       f"a defined role ({known})")
        return PlacementRow(**row, role=role, node_selector=dict(req.node_selector), candidates=[],
                            conflicts=[Conflict(kind="no-role", detail=detail, remedy=remedy)])
    selector = {**cfg.placement.roles[role].node_selector, **req.node_selector}
    matching = [n for n in nodes if n.matches(selector)]
    ready = [n for n in matching if n.ready]
    conflicts: list[Conflict] = []
    candidates: list[NodeInfo] = []
    if not ready:
        key, value = next(iter(sorted(selector.items())), ("<label>", "<value>"))
        label = f"label a node for the role (kubectl label node <node> {key}={value})"
        conflicts.append(Conflict(
            kind="no-node",
            detail=f"no Ready node matches role {role!r} selector {_selector_text(selector)}" + (
                f": {not_ready_note(matching)}" if matching else ""),
            remedy=(f"{bring_back(matching)}, or {label}" if matching else
                    f"{label} or fix placement.roles.{role}.node_selector in organization.yaml"),
        ))
    else:
        tolerations = _role_tolerations(cfg, role) + list(req.tolerations)
        tolerated = [n for n in ready if not n.untolerated(tolerations)]
        if not tolerated:
            blocked = "; ".join(f"{n.name}: {', '.join(str(t) for t in n.untolerated(tolerations))}" for n in ready)
            first = ready[0].untolerated(tolerations)[0]
            conflicts.append(Conflict(
                kind="taint",
                detail=f"every node of role {role!r} has a taint the workload does not tolerate ({blocked})",
                remedy=(f"add a toleration (key: {first.key}, operator: Exists, effect: {first.effect}) under "
                        f"placement.roles.{role}.tolerations, or remove the taint "
                        f"(kubectl taint node {ready[0].name} {first.key}:{first.effect}-)"),
            ))
        else:
            candidates = [n for n in tolerated
                          if req.cpu_m <= n.cpu_allocatable_m and req.memory <= n.memory_allocatable]
            if not candidates:
                biggest = max(tolerated, key=lambda n: (n.cpu_allocatable_m, n.memory_allocatable))
                conflicts.append(Conflict(
                    kind="capacity",
                    detail=(f"each pod requests cpu {req.cpu_request} / memory {req.memory_request}; the largest "
                            f"candidate {biggest.name} has cpu {format_cpu(biggest.cpu_allocatable_m)} / memory "
                            f"{format_memory(biggest.memory_allocatable)} allocatable"),
                    remedy=(f"lower the requests of {req.stack}/{req.name} in the stack's tfvars, or give role "
                            f"{role!r} a node with more allocatable cpu/memory"),
                ))
    return PlacementRow(**row, role=role, node_selector=selector, candidates=[n.name for n in candidates],
                        conflicts=conflicts)


def _pods(row: PlacementRow) -> int:
    return len(row.candidates) if row.kind == "DaemonSet" else row.replicas


def _summarise(cfg: "OrgConfig", role: str, nodes: list[NodeInfo], rows: list[PlacementRow],
               requests: Mapping[tuple[str, str, str], WorkloadRequest]) -> RoleSummary:
    selector = dict(cfg.placement.roles[role].node_selector)
    matching = [n for n in nodes if n.matches(selector)]
    ready = [n for n in matching if n.ready]
    usable = [n for n in ready if not n.untolerated(_role_tolerations(cfg, role))] or ready
    mine = [r for r in rows if r.role == role]
    cpu_alloc = sum(n.cpu_allocatable_m for n in usable)
    mem_alloc = sum(n.memory_allocatable for n in usable)
    cpu_req = sum(requests[(r.stack, r.namespace, r.workload)].cpu_m * _pods(r) for r in mine)
    mem_req = sum(requests[(r.stack, r.namespace, r.workload)].memory * _pods(r) for r in mine)
    conflicts: list[Conflict] = []
    if not ready:
        conflicts.append(Conflict(
            kind="no-node", detail=f"no Ready node matches role {role!r} selector {_selector_text(selector)}" + (
                f": {not_ready_note(matching)}" if matching else ""),
            remedy=(f"{bring_back(matching)}, or label a Ready node for role {role!r}" if matching else
                    f"label a Ready node for role {role!r} or fix placement.roles.{role}.node_selector")))
    elif cpu_req > cpu_alloc or mem_req > mem_alloc:
        conflicts.append(Conflict(
            kind="capacity",
            detail=(f"the workloads placed on role {role!r} request cpu {format_cpu(cpu_req)} / memory "
                    f"{format_memory(mem_req)} in total; its Ready nodes have cpu {format_cpu(cpu_alloc)} / memory "
                    f"{format_memory(mem_alloc)} allocatable"),
            remedy=f"move a stack to another role under placement.stacks, lower requests, or add a node to {role!r}"))
    return RoleSummary(
        role=role, node_selector=selector, nodes=[n.name for n in matching], ready_nodes=[n.name for n in ready],
        stacks=sorted({r.stack for r in mine}),
        cpu_allocatable=format_cpu(cpu_alloc), memory_allocatable=format_memory(mem_alloc),
        cpu_requested=format_cpu(cpu_req), memory_requested=format_memory(mem_req), conflicts=conflicts,
    )


def compute_placement(cfg: "OrgConfig", nodes: list[NodeInfo],
                      requests: Mapping[str, list[WorkloadRequest]]) -> PlacementTable:
    """Place every workload of ``requests`` (stack -> workloads) on ``nodes`` according to ``cfg.placement``.

    Pure: the same inputs give the same table. Rows follow the order of ``requests``; roles follow
    ``placement.roles``.
    """
    ordered = sorted(nodes, key=lambda n: n.name)
    rows: list[PlacementRow] = []
    by_key: dict[tuple[str, str, str], WorkloadRequest] = {}
    for stack, reqs in requests.items():
        for req in reqs:
            if req.stack != stack:
                req = req.model_copy(update={"stack": stack})
            rows.append(_place(cfg, req, ordered))
            by_key[(req.stack, req.namespace, req.name)] = req
    roles = [_summarise(cfg, role, ordered, rows, by_key) for role in cfg.placement.roles]
    return PlacementTable(rows=rows, roles=roles)
