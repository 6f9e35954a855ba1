"""Turning the cached records into a :class:`~gfwizard.status_model.StatusSnapshot` (pure: no I/O).

One pass over the pods sums the requests per node and collects the pods of the stacks' workloads,
so a 15,000-pod snapshot costs one loop, not one per node or workload.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from gfwizard.status_model import (
    ApplyRow,
    ClusterStatus,
    EventRow,
    LockRow,
    NodeRow,
    PodRow,
    StackRow,
    StateRow,
    StatusSnapshot,
    Unreadable,
    WorkloadRow,
)
from gfwizard.status_records import EventRec, NodeRec, PodRec, WorkloadRec, node_role

if TYPE_CHECKING:
    from gfwizard.backend_locks import LockInfo
    from gfwizard.journal import JournalEntry
    from gfwizard.journal_process import RunState
    from gfwizard.orgconfig import OrgConfig
    from gfwizard.status_state import StateObject

_ROLE_ORDER_TAIL = ("control-plane", "other")
_TERMINATED = ("Succeeded", "Failed")
#: Events kept in a snapshot (newest first).
MAX_EVENTS = 50


@dataclass
class Inputs:
    """Everything a snapshot is built from (collected by :mod:`gfwizard.status`)."""

    cluster: ClusterStatus
    nodes: Sequence[NodeRec] = ()
    pods: Sequence[PodRec] = ()
    workloads: Mapping[tuple[str, str, str], WorkloadRec] = field(default_factory=dict)
    events: Sequence[EventRec] = ()
    states: Mapping[tuple[str, str], "StateObject"] = field(default_factory=dict)
    locks: Sequence["LockInfo"] = ()
    last_applies: Mapping[tuple[str, str], "JournalEntry"] = field(default_factory=dict)
    #: ``(env, stack) -> whether the process of its last apply runs``, for those that recorded no outcome
    #: (read at each poll: a process may end while the journal stays the same).
    run_states: Mapping[tuple[str, str], "RunState"] = field(default_factory=dict)
    #: ``(env, stack) -> workloads`` expected when the state cannot be read (default: the documented defaults),
    #: or is missing (to see whether the stack's workloads run anyway); every environment of the config.
    expected: Mapping[tuple[str, str], tuple[tuple[str, str, str, int], ...]] = field(default_factory=dict)
    unreadable: Sequence[Unreadable] = ()
    stale_since: datetime | None = None
    stale_reason: str = ""
    #: Pane -> since when a source it shows has been failing.
    stale_panes: Mapping[str, datetime] = field(default_factory=dict)


def parse_time(value: str) -> datetime | None:
    """An RFC 3339 API timestamp as an aware datetime (None when empty or unparsable)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def roles_of(cfg: "OrgConfig") -> dict[str, dict[str, str]]:
    """Placement role -> node selector."""
    return {role: dict(spec.node_selector) for role, spec in cfg.placement.roles.items()}


def _nodes(cfg: "OrgConfig", nodes: Iterable[NodeRec], per_node: Mapping[str, list[int]]) -> list[NodeRow]:
    roles = roles_of(cfg)
    order = {name: i for i, name in enumerate([*roles, *_ROLE_ORDER_TAIL])}
    rows = []
    for n in nodes:
        cpu, mem, count = per_node.get(n.name, (0, 0, 0))
        rows.append(NodeRow(name=n.name, role=node_role(n.labels, roles), ready=n.ready, pressure=list(n.pressure),
                            taints=list(n.taints), unschedulable=n.unschedulable,
                            cpu_allocatable_m=n.cpu_allocatable_m, cpu_requested_m=cpu,
                            memory_allocatable=n.memory_allocatable, memory_requested=mem, pods=count))
    rows.sort(key=lambda r: (order.get(r.role, len(order)), r.name))
    return rows


def _default_workloads(stack: str) -> tuple[tuple[str, str, str, int], ...]:
    from gfwizard.placement import default_requests

    return tuple((w.namespace, w.kind, w.name, w.replicas) for w in default_requests(stack))


def _runs_untracked(env: str, stack: str, inputs: Inputs) -> bool:
    """Whether a workload ``stack`` would create in ``env`` runs although ``env`` has no state for it."""
    from gfwizard.status_expected import untracked_workloads

    def environment_of(key: tuple[str, str, str]) -> str | None:
        rec = inputs.workloads.get(key)
        return None if rec is None else (rec.environment or "")

    return bool(untracked_workloads(env, stack, inputs.expected, environment_of))


#: The list each workload kind comes from (what an ``Unreadable`` entry names).
_LIST_OF = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}


def _workload_row(spec: tuple[str, str, str, int], workloads: Mapping[tuple[str, str, str], WorkloadRec],
                  pods: list[PodRec], not_listed: set[str]) -> WorkloadRow:
    namespace, kind, name, replicas = spec
    rec = workloads.get((kind, namespace, name))
    crash = sorted(p.name for p in pods if p.waiting_reason == "CrashLoopBackOff")
    return WorkloadRow(namespace=namespace, kind=kind, name=name,
                       desired=rec.desired if rec is not None else replicas,
                       ready=rec.ready if rec is not None else 0, found=rec is not None,
                       known=rec is not None or _LIST_OF.get(kind, "") not in not_listed,
                       pods_known="pods" not in not_listed,
                       restarts=sum(p.restarts for p in pods), crash_looping=crash, pods=len(pods))


def _apply_row(entry: "JournalEntry | None", run: "RunState | None") -> ApplyRow | None:
    if entry is None:
        return None
    return ApplyRow(run_id=entry.run_id, outcome=entry.outcome, started_at=entry.started_at,
                    ended_at=entry.ended_at, operator=entry.operator, pid=entry.pid,
                    run_state=(run or "unknown") if entry.outcome == "started" else "", error=entry.error or "")


def assemble(cfg: "OrgConfig", inputs: Inputs, *, envs: Sequence[str], now: datetime, config_path: str = "",
             lock_age_threshold_minutes: float = 30.0) -> StatusSnapshot:
    """Build the snapshot for ``envs`` from ``inputs`` at time ``now``."""
    # Which workloads each stack shows, and where that list came from.
    plan: list[tuple[str, str, str, tuple[tuple[str, str, str, int], ...], "StateObject | None"]] = []
    wanted: set[tuple[str, str, str]] = set()
    for env in envs:
        for stack in cfg.stack_order():
            state = inputs.states.get((env, stack))
            if state is not None and state.exists and state.workloads is not None:
                source, specs = "state", state.workloads
            elif state is not None and state.error:
                source, specs = "defaults", inputs.expected.get((env, stack)) or _default_workloads(stack)
            elif state is not None and _runs_untracked(env, stack, inputs):
                source, specs = "untracked", inputs.expected[(env, stack)]
            else:
                source, specs = "none", ()
            plan.append((env, stack, source, specs, state))
            wanted.update((ns, kind, name) for ns, kind, name, _ in specs)
    # One pass over the pods.
    per_node: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_owner: dict[tuple[str, str, str], list[PodRec]] = defaultdict(list)
    for p in inputs.pods:
        if p.node and p.phase not in _TERMINATED:
            acc = per_node[p.node]
            acc[0] += p.cpu_m
            acc[1] += p.memory
            acc[2] += 1
        key = (p.namespace, p.owner_kind, p.owner_name)
        if key in wanted:
            by_owner[key].append(p)
    not_listed = {u.what for u in inputs.unreadable}
    stacks: list[StackRow] = []
    for env, stack, source, specs, state in plan:
        state_row = StateRow(key=state.key if state else cfg.state_key(env, stack),
                             exists=bool(state and state.exists), serial=state.serial if state else None,
                             lineage=state.lineage if state else "",
                             last_modified=state.last_modified if state else None,
                             error=state.error if state else "", error_status=state.error_status if state else None)
        rows = [_workload_row(s, inputs.workloads, by_owner.get((s[0], s[1], s[2]), []), not_listed) for s in specs]
        stacks.append(StackRow(env=env, stack=stack, role=cfg.role_for_stack(stack) or "", source=source,
                               state=state_row, last_apply=_apply_row(inputs.last_applies.get((env, stack)),
                                                                     inputs.run_states.get((env, stack))),
                               workloads=rows))
    threshold = lock_age_threshold_minutes * 60
    locks = []
    for lock in inputs.locks:
        age = (now - lock.created).total_seconds() if lock.created else None
        locks.append(LockRow(env=lock.env, stack=lock.stack, id=lock.id, who=lock.who, operation=lock.operation,
                             created=lock.created, age_seconds=max(0.0, age) if age is not None else None,
                             old=age is not None and age > threshold, error=lock.error))
    events = sorted(inputs.events, key=lambda e: e.last_seen, reverse=True)[:MAX_EVENTS]
    return StatusSnapshot(
        taken_at=now, config_path=config_path, envs=list(envs), lock_age_threshold_minutes=lock_age_threshold_minutes,
        stale_since=inputs.stale_since, stale_reason=inputs.stale_reason, stale_panes=dict(inputs.stale_panes),
        cluster=inputs.cluster, nodes=_nodes(cfg, inputs.nodes, per_node),
        stacks=stacks, locks=locks,
        events=[EventRow(namespace=e.namespace, object=e.object, reason=e.reason, message=e.message, count=e.count,
                         last_seen=parse_time(e.last_seen)) for e in events],
        unreadable=list(inputs.unreadable),
    )


def pods_of(pods: Iterable[PodRec], namespace: str, kind: str, name: str) -> list[PodRow]:
    """The pods of one workload, by name."""
    rows = [PodRow(namespace=p.namespace, name=p.name, node=p.node, phase=p.phase, ready=p.ready,
                   restarts=p.restarts, waiting_reason=p.waiting_reason, containers=list(p.containers),
                   created=parse_time(p.created))
            for p in pods if p.namespace == namespace and p.owner_kind == kind and p.owner_name == name]
    return sorted(rows, key=lambda r: r.name)


def last_applies(entries: Iterable["JournalEntry"], env: str) -> dict[tuple[str, str], "JournalEntry"]:
    """``(env, stack) -> the stack's most recent apply entry`` from a journal's entries.

    A ``skip`` entry (a resume, or a ``--plan-only`` resume, found the stack deployed with unchanged
    inputs) applied nothing: the Last apply column keeps the apply it was skipped for."""
    out: dict[tuple[str, str], "JournalEntry"] = {}
    for entry in entries:
        if entry.action == "apply":
            out[(env, entry.stack)] = entry
    return out
