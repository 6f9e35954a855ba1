"""Test support for status mode: a fixed snapshot (every pane populated, one problem of each kind) and
a feed that serves it, for Pilot tests and the 80x24 / 120x40 snapshot tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

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

#: The fixed "now" of every fixed snapshot: 2025-06-01 12:00:00 UTC.
FIXED_NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
GI = 2 ** 30


def fixed_clock() -> float:
    """A clock frozen at :data:`FIXED_NOW`."""
    return FIXED_NOW.timestamp()


def _ago(**kwargs: float) -> datetime:
    return FIXED_NOW - timedelta(**kwargs)


def fixed_snapshot(**changes: Any) -> StatusSnapshot:
    """A snapshot with every pane populated: sting NotReady, attic 0/1, a 2-hour-old lock, events."""
    nodes = [
        NodeRow(name="bumble", role="bumble", ready=True, cpu_allocatable_m=8000, cpu_requested_m=1350,
                memory_allocatable=32 * GI, memory_requested=3 * GI, pods=12),
        NodeRow(name="sting", role="sting", ready=False, pressure=["DiskPressure"], cpu_allocatable_m=16000,
                cpu_requested_m=600, memory_allocatable=64 * GI, memory_requested=2 * GI, pods=9),
        NodeRow(name="honey", role="control-plane", ready=True, taints=["node-role.kubernetes.io/control-plane:NoSchedule"],
                cpu_allocatable_m=4000, cpu_requested_m=950, memory_allocatable=16 * GI, memory_requested=GI, pods=7),
    ]
    applied = ApplyRow(run_id="20250601T113000Z-abc123", outcome="applied", started_at=_ago(minutes=31),
                       ended_at=_ago(minutes=30), operator="alice@laptop")
    stacks = [
        StackRow(env="dev", stack="attic", role="bumble", source="state",
                 state=StateRow(key="gloriousflywheel/dev/attic.tfstate", exists=True, serial=7,
                                lineage="5b1c…", last_modified=_ago(minutes=30)),
                 last_apply=applied,
                 workloads=[WorkloadRow(namespace="attic-dev", kind="Deployment", name="attic", desired=1, ready=0,
                                        found=True, restarts=14, crash_looping=["attic-7d9f-x2"], pods=1)]),
        StackRow(env="dev", stack="arc-runners", role="sting", source="state",
                 state=StateRow(key="gloriousflywheel/dev/arc-runners.tfstate", exists=True, serial=3,
                                last_modified=_ago(hours=3)),
                 workloads=[WorkloadRow(namespace="arc-systems-dev", kind="Deployment",
                                        name="arc-dev-gha-rs-controller", desired=1, ready=1, found=True, pods=1)]),
        StackRow(env="prod", stack="attic", role="bumble", source="none",
                 state=StateRow(key="gloriousflywheel/prod/attic.tfstate", exists=False)),
    ]
    locks = [LockRow(env="dev", stack="gitlab-runners", id="4b9f0c1e-1d2e-4a7b-9c3d-2e1f0a9b8c7d",
                     who="bob@ci-runner", operation="OperationTypeApply", created=_ago(hours=2),
                     age_seconds=7200, old=True)]
    events = [
        EventRow(namespace="attic-dev", object="Pod/attic-7d9f-x2", reason="BackOff",
                 message="Back-off restarting failed container attic", count=14, last_seen=_ago(minutes=1)),
        EventRow(namespace="default", object="Node/sting", reason="NodeNotReady",
                 message="Node sting status is now: NodeNotReady", count=1, last_seen=_ago(minutes=4)),
    ]
    data: dict[str, Any] = dict(
        taken_at=FIXED_NOW, config_path="/srv/gloriousflywheel/config/organization.yaml", envs=["dev", "prod"],
        lock_age_threshold_minutes=30,
        cluster=ClusterStatus(server="https://100.113.89.12:6443", context="honey", reachable=True,
                              version="v1.32.4+k3s1", latency_ms=23.0, fingerprint="match",
                              fingerprint_detail="kube-system UID 2f9c8a1e-0000-4000-8000-000000000001, "
                                                 "CA sha256 77c17c45db1b000b…"),
        nodes=nodes, stacks=stacks, locks=locks, events=events,
        unreadable=[Unreadable(pane="events", what="secrets", status=403, detail="forbidden")],
    )
    data.update(changes)
    return StatusSnapshot(**data)


class FixedFeed:
    """A :class:`gfwizard.status.StatusFeed` serving given snapshots (no network)."""

    def __init__(self, snapshot: StatusSnapshot, pods: list[PodRow] | None = None) -> None:
        self._snapshot = snapshot
        self.version = 1
        self.pods = pods if pods is not None else [
            PodRow(namespace="attic-dev", name="attic-7d9f-x2", node="bumble", phase="Running", ready=False,
                   restarts=14, waiting_reason="CrashLoopBackOff", containers=["main"], created=_ago(hours=1))]
        self.started = self.stopped = False
        self.refreshes = 0
        self.log_requests: list[tuple[str, str, str]] = []
        #: How each opened log stream goes on after its lines: ``"follow"`` (stays open until closed, like a
        #: live follow), ``"end"`` (ends), or an exception it raises (the connection broke).
        self.log_end: Any = "follow"
        #: Raised by :meth:`open_logs` instead of opening a stream, while set.
        self.open_error: Exception | None = None

    def set_snapshot(self, snapshot: StatusSnapshot) -> None:
        """Serve ``snapshot`` from now on (the version changes)."""
        self._snapshot = snapshot
        self.version += 1

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def snapshot(self) -> StatusSnapshot:
        return self._snapshot

    def refresh_now(self) -> None:
        self.refreshes += 1

    def workload_pods(self, namespace: str, kind: str, name: str) -> list[PodRow]:
        return [p for p in self.pods if p.namespace == namespace]

    def open_logs(self, namespace: str, pod: str, container: str, tail: int = 200) -> "_Lines":
        self.log_requests.append((namespace, pod, container))
        if self.open_error is not None:
            raise self.open_error
        return _Lines([b'level=INFO seq=1 msg="starting main"', b'level=WARN seq=2 msg="upstream slow"'],
                      self.log_end)


class _Lines:
    """A log stream: its lines, then open until closed, ended, or broken (see ``FixedFeed.log_end``)."""

    def __init__(self, lines: list[bytes], end: Any = "follow") -> None:
        import threading

        self._lines = lines
        self._end = end
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        from gfwizard.status_readonly import ReadError

        yield from self._lines
        if isinstance(self._end, BaseException):
            raise self._end
        if self._end == "follow":
            self._closed.wait(30)
            raise ReadError("unreachable", "stream closed", "reopened automatically")

    def close(self) -> None:
        self._closed.set()


# ----------------------------------------------------------------- rehearsal deploy seeding
def twin_outputs(stack: str, env: str, namespace: str, name: str, *, role: str = "bumble",
                 replicas: int = 1) -> dict[str, Any]:
    """``tofu output -json`` of a rehearsal twin with one Deployment (the shape every twin declares)."""
    workload = {"namespace": namespace, "kind": "Deployment", "name": name, "replicas": replicas,
                "node_selector": {"gloriousflywheel.io/role": role},
                "labels": {"app.kubernetes.io/name": name, "gloriousflywheel.io/environment": env},
                "image": "ghcr.io/tinyland-inc/example:1.0", "cpu_request": "100m", "memory_request": "128Mi"}
    return {"namespaces": {"sensitive": False, "type": ["list", "string"], "value": [namespace]},
            "workloads": {"sensitive": False, "type": ["list", ["object", {}]], "value": [workload]}}


def state_document(outputs: dict[str, Any], serial: int = 3) -> bytes:
    """A terraform v4 state document holding ``outputs`` (what an apply leaves in the bucket)."""
    import json as _json

    return _json.dumps({"version": 4, "terraform_version": "1.11.4", "serial": serial,
                        "lineage": "8d1c2b3a-0000-4000-8000-00000000beef",
                        "outputs": {k: {"value": v["value"], "type": v["type"]} for k, v in outputs.items()},
                        "resources": [], "check_results": None}).encode()


def seed_deploy(ws: Any, env: str, stack: str, outputs: dict[str, Any], serial: int = 3) -> None:
    """What a rehearsal deploy of ``stack`` leaves behind: its state object in the bucket and its
    workloads materialised in the rehearsal API (test setup: writes as the admin, not as status)."""
    from gfwizard.rehearsal.materialise import materialise_in

    ws.s3.client().put_object(Bucket=ws.bucket, Key=f"gloriousflywheel/{env}/{stack}.tfstate",
                              Body=state_document(outputs, serial))
    materialise_in(ws, outputs)


def put_lock(ws: Any, env: str, stack: str, *, age: timedelta, who: str = "bob@ci-runner", info: str = "") -> str:
    """A held S3 lock object (``.tflock``, terraform's lock info JSON) taken ``age`` ago; returns its id."""
    import json as _json
    import uuid

    lock_id = str(uuid.uuid4())
    created = (datetime.now(timezone.utc) - age).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {"ID": lock_id, "Operation": "OperationTypeApply", "Info": info, "Who": who, "Version": "1.11.4",
            "Created": created, "Path": f"{ws.bucket}/gloriousflywheel/{env}/{stack}.tfstate"}
    ws.s3.client().put_object(Bucket=ws.bucket, Key=f"gloriousflywheel/{env}/{stack}.tfstate.tflock",
                              Body=_json.dumps(body).encode())
    return lock_id


def journal_applied(ws_dir: Any, env: str, stack: str) -> None:
    """A finished apply of ``stack`` in the workspace's journal (as the deploy engine writes it)."""
    from gfwizard.journal import Journal, JournalEntry

    now = datetime.now(timezone.utc)
    journal = Journal(ws_dir / "journal" / f"{env}.jsonl")
    base = JournalEntry(run_id="20250601T113000Z-abc123", env=env, stack=stack, action="apply", outcome="started",
                        started_at=now - timedelta(minutes=2), operator="alice@laptop")
    journal.append(base)
    journal.append(base.model_copy(update={"outcome": "applied", "ended_at": now - timedelta(minutes=1)}))
