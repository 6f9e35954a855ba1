"""The status snapshot: records cut from API objects, the pure assembly, what counts as unhealthy,
and the documented --json keys."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from gfwizard.backend_locks import LockInfo
from gfwizard.orgconfig import OrgConfig
from gfwizard.status_assemble import Inputs, assemble, last_applies, pods_of
from gfwizard.status_model import ClusterStatus, StatusSnapshot, problem_remedy
from gfwizard.status_state import StateObject
from gfwizard.status_records import event_record, node_record, pod_record, workload_record
from gfwizard.status_text import render_text
from tests.status_support import FIXED_NOW, fixed_snapshot

NOW = FIXED_NOW


def _cfg() -> OrgConfig:
    from gfwizard.rehearsal.workspace import org_config

    return org_config(api_url="https://127.0.0.1:6443", kubeconfig_path=Path("/nonexistent/kubeconfig"),
                      s3_endpoint="http://127.0.0.1:9000", bucket="state", fingerprint=("2f9c8a1e-0000-4000-8000-000000000001", "ab" * 32))


def _node(name: str, role: str, *, ready: str = "True", disk: str = "False", taints: Any = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"gloriousflywheel.io/role": role,
                                                  **({"node-role.kubernetes.io/control-plane": ""}
                                                     if role == "control-plane" else {})}},
            "spec": {"taints": taints or []},
            "status": {"allocatable": {"cpu": "8", "memory": "32Gi"},
                       "conditions": [{"type": "Ready", "status": ready}, {"type": "DiskPressure", "status": disk},
                                      {"type": "MemoryPressure", "status": "False"}]}}


def _pod(name: str, node: str, *, owner: tuple[str, str] = ("ReplicaSet", "attic-5f7c9"), template_hash: str = "5f7c9",
         ready: bool = True, restarts: int = 0, waiting: str = "", phase: str = "Running",
         cpu: str = "250m", memory: str = "256Mi", namespace: str = "attic-dev") -> dict[str, Any]:
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {"metadata": {"name": name, "namespace": namespace, "labels": {"pod-template-hash": template_hash},
                         "creationTimestamp": "2025-06-01T11:00:00Z",
                         "ownerReferences": [{"kind": owner[0], "name": owner[1], "controller": True}]},
            "spec": {"nodeName": node, "containers": [{"name": "main", "resources": {"requests": {
                "cpu": cpu, "memory": memory}}}, {"name": "sidecar", "resources": {"requests": {"cpu": "50m"}}}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "main", "restartCount": restarts, "state": state}]}}


def test_records_keep_only_what_is_shown() -> None:
    node = node_record(_node("sting", "sting", ready="False", disk="True",
                             taints=[{"key": "maintenance", "value": "yes", "effect": "NoSchedule"}]))
    assert (node.ready, node.pressure, node.taints, node.cpu_allocatable_m) == (
        False, ("DiskPressure",), ("maintenance=yes:NoSchedule",), 8000)
    pod = pod_record(_pod("attic-5f7c9-abcde", "bumble", restarts=3, waiting="CrashLoopBackOff"))
    assert (pod.owner_kind, pod.owner_name, pod.cpu_m, pod.memory, pod.restarts, pod.waiting_reason) == (
        "Deployment", "attic", 300, 256 * 2 ** 20, 3, "CrashLoopBackOff")
    sts = pod_record(_pod("db-0", "bumble", owner=("StatefulSet", "db"), template_hash=""))
    assert (sts.owner_kind, sts.owner_name) == ("StatefulSet", "db")
    dep = workload_record("Deployment")({"metadata": {"name": "attic", "namespace": "attic-dev"},
                                          "spec": {"replicas": 2}, "status": {"readyReplicas": 1}})
    ds = workload_record("DaemonSet")({"metadata": {"name": "kube-proxy", "namespace": "kube-system"},
                                        "status": {"desiredNumberScheduled": 3, "numberReady": 3}})
    assert (dep.desired, dep.ready, ds.desired, ds.ready) == (2, 1, 3, 3)
    assert event_record({"type": "Normal", "metadata": {}}) is None
    ev = event_record({"type": "Warning", "reason": "BackOff", "message": "m", "count": 4,
                       "involvedObject": {"kind": "Pod", "name": "p"}, "lastTimestamp": "2025-06-01T11:59:00Z",
                       "metadata": {"namespace": "attic-dev", "name": "p.1"}})
    assert ev is not None and (ev.object, ev.count) == ("Pod/p", 4)


def _inputs(**changes: Any) -> Inputs:
    nodes = [node_record(_node("bumble", "bumble")), node_record(_node("sting", "sting")),
             node_record(_node("honey", "control-plane"))]
    pods = [pod_record(_pod("attic-5f7c9-a", "bumble", restarts=2, waiting="CrashLoopBackOff", ready=False)),
            pod_record(_pod("attic-5f7c9-b", "bumble")),
            pod_record(_pod("done", "bumble", phase="Succeeded", owner=("Job", "j"), template_hash=""))]
    workloads = {("Deployment", "attic-dev", "attic"): workload_record("Deployment")(
        {"metadata": {"name": "attic", "namespace": "attic-dev"}, "spec": {"replicas": 2},
         "status": {"readyReplicas": 1}})}
    states = {("dev", "attic"): StateObject(key="gloriousflywheel/dev/attic.tfstate", exists=True, serial=4,
                                            last_modified=NOW - timedelta(minutes=5),
                                            workloads=(("attic-dev", "Deployment", "attic", 2),
                                                       ("attic-dev", "StatefulSet", "attic-db", 1)))}
    data: dict[str, Any] = dict(cluster=ClusterStatus(server="https://127.0.0.1:6443", reachable=True,
                                                      fingerprint="match"),
                                nodes=nodes, pods=pods, workloads=workloads, states=states)
    data.update(changes)
    return Inputs(**data)


def test_assemble_sums_requests_maps_pods_and_finds_problems() -> None:
    snap = assemble(_cfg(), _inputs(), envs=["dev"], now=NOW)
    assert [(n.name, n.role) for n in snap.nodes] == [("bumble", "bumble"), ("sting", "sting"),
                                                      ("honey", "control-plane")]
    bumble = snap.nodes[0]
    assert (bumble.cpu_requested_m, bumble.pods) == (600, 2)  # the Succeeded pod requests nothing
    attic = next(s for s in snap.stacks if s.stack == "attic")
    assert attic.source == "state" and attic.state.serial == 4
    dep, sts = attic.workloads
    assert (dep.ready, dep.desired, dep.found, dep.restarts, dep.crash_looping, dep.pods) == (
        1, 2, True, 2, ["attic-5f7c9-a"], 2)
    assert (sts.found, sts.desired, sts.ready) == (False, 1, 0)
    kinds = sorted(p.kind for p in snap.problems)
    assert kinds == ["crash-looping", "workload-below-desired", "workload-below-desired"]
    assert not snap.healthy
    other = [s for s in snap.stacks if s.stack != "attic"]
    assert all(s.source == "none" and not s.workloads for s in other)


@pytest.mark.parametrize(("name", "taints", "detail"), [
    ("sting", [], "not Ready (role sting)"),
    ("sting-2", [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
                 {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}],
     "not Ready (role sting; unreachable: its kubelet stopped posting status)"),
    ("sting", [{"key": "dedicated", "value": "ci", "effect": "NoSchedule"},
               {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}],
     "not Ready (role sting; its kubelet reports NotReady)"),
], ids=["named-after-its-role", "unreachable", "kubelet-not-ready"])
def test_a_not_ready_node_is_named_once_with_its_role_and_why(name: str, taints: list[dict[str, str]],
                                                              detail: str) -> None:
    """The subject names the node; the detail does not name it again ("role sting node sting" read as a
    stutter for the node named after its role) and says why when the lifecycle taints do."""
    inputs = _inputs(nodes=[node_record(_node(name, "sting", ready="Unknown", taints=taints))], pods=[],
                     workloads={}, states={}, locks=[])
    snap = assemble(_cfg(), inputs, envs=["dev"], now=NOW)
    (problem,) = [p for p in snap.problems if p.kind == "node-not-ready"]
    assert (problem.subject, problem.detail) == (f"node {name}", detail)


def test_not_ready_node_unreachable_api_mismatch_and_old_lock_are_problems() -> None:
    cfg = _cfg()
    old = LockInfo(stack="gitlab-runners", env="dev", key="k", id="abc", who="bob@ci", operation="OperationTypeApply",
                   created=NOW - timedelta(minutes=45), age=None)
    young = LockInfo(stack="attic", env="dev", key="k2", id="def", who="amy@laptop", operation="OperationTypePlan",
                     created=NOW - timedelta(minutes=5), age=None)
    inputs = _inputs(nodes=[node_record(_node("sting", "sting", ready="False"))], pods=[], workloads={}, states={},
                     locks=[old, young],
                     cluster=ClusterStatus(server="s", reachable=False, fingerprint="mismatch", error="refused"))
    snap = assemble(cfg, inputs, envs=["dev"], now=NOW, lock_age_threshold_minutes=30)
    assert sorted(p.kind for p in snap.problems) == ["api-unreachable", "fingerprint-mismatch", "node-not-ready",
                                                     "old-lock"]
    assert [(lk.stack, lk.old) for lk in snap.locks] == [("gitlab-runners", True), ("attic", False)]
    assert next(p.detail for p in snap.problems if p.kind == "old-lock").endswith(
        "for 45m, over the 30m threshold")
    tiny = assemble(cfg, inputs, envs=["dev"], now=NOW, lock_age_threshold_minutes=0.05)
    assert next(p.detail for p in tiny.problems if p.kind == "old-lock").endswith(
        "for 45m, over the 3s threshold"), "a threshold under a minute read as '0m'"
    relaxed = assemble(cfg, inputs, envs=["dev"], now=NOW, lock_age_threshold_minutes=60)
    assert "old-lock" not in {p.kind for p in relaxed.problems}


def test_problems_are_found_once_per_snapshot_and_are_no_field() -> None:
    """The banner, every pane and ``healthy`` ask on each refresh: a frozen snapshot finds them once; the
    found list is neither dumped nor in ``--json`` beyond its documented ``problems``."""
    import json

    snap = fixed_snapshot()
    first = snap.problems
    assert first and snap.problems is first and not snap.healthy
    assert "problems" not in snap.model_dump() and "problems" not in json.loads(snap.model_dump_json())
    assert "problems" not in StatusSnapshot.model_json_schema()["properties"]
    assert snap.to_json() == fixed_snapshot().to_json() and snap == fixed_snapshot()


def test_a_copy_with_changes_finds_its_own_problems() -> None:
    snap = fixed_snapshot()
    assert "node-not-ready" in [p.kind for p in snap.problems]
    ready = [n.model_copy(update={"ready": True}) for n in snap.nodes]
    for deep in (False, True):
        copy = snap.model_copy(update={"nodes": ready}, deep=deep)
        assert "node-not-ready" not in [p.kind for p in copy.problems]
        assert [p.kind for p in copy.problems] == [p.kind for p in snap.problems if p.kind != "node-not-ready"]
    assert snap.model_copy().problems == snap.problems


def test_unreadable_state_falls_back_to_defaults_without_claiming_unhealthy() -> None:
    states = {("dev", "attic"): StateObject(key="k", exists=False, error="access denied", error_status=403)}
    snap = assemble(_cfg(), _inputs(states=states, workloads={}), envs=["dev"], now=NOW)
    attic = next(s for s in snap.stacks if s.stack == "attic")
    assert attic.source == "defaults" and attic.workloads and attic.state.error_status == 403
    assert not [p for p in snap.problems if p.kind == "workload-below-desired"]


def test_a_found_workload_that_crash_loops_is_a_problem_while_the_state_is_unreadable() -> None:
    # S3 down or refusing: which workloads should exist is unknown, but one that runs and crash-loops
    # (or has fewer ready pods than it wants) is a fact of the cluster, not hidden behind the outage.
    states = {("dev", "attic"): StateObject(key="gloriousflywheel/dev/attic.tfstate", exists=False,
                                            unreachable=True, error="connection refused")}
    expected = {("dev", "attic"): (("attic-dev", "Deployment", "attic", 1), ("attic-dev", "Deployment", "gone", 1))}
    snap = assemble(_cfg(), _inputs(states=states, expected=expected), envs=["dev"], now=NOW)
    attic = next(s for s in snap.stacks if s.stack == "attic")
    assert attic.source == "defaults"
    found = {(p.kind, p.subject) for p in snap.problems}
    assert ("crash-looping", "dev/attic Deployment attic-dev/attic") in found, snap.problems
    assert ("workload-below-desired", "dev/attic Deployment attic-dev/attic") in found, snap.problems
    # The one not in the cluster is "not found", never a missing workload.
    assert not [p for p in snap.problems if "attic-dev/gone" in p.subject]
    assert "UNHEALTHY (2 problem(s))" in render_text(snap) and "CrashLoopBackOff: attic-5f7c9-a" in render_text(snap)


def test_pods_of_and_last_applies() -> None:
    pods = [pod_record(_pod("attic-5f7c9-b", "bumble")), pod_record(_pod("attic-5f7c9-a", "bumble")),
            pod_record(_pod("other", "bumble", owner=("ReplicaSet", "x-1"), template_hash="1"))]
    assert [p.name for p in pods_of(pods, "attic-dev", "Deployment", "attic")] == ["attic-5f7c9-a", "attic-5f7c9-b"]
    from gfwizard.journal import JournalEntry

    started = JournalEntry(run_id="r1", env="dev", stack="attic", action="apply", outcome="started", started_at=NOW)
    done = started.model_copy(update={"outcome": "applied", "ended_at": NOW})
    plan = started.model_copy(update={"action": "plan", "outcome": "planned", "stack": "arc-runners"})
    assert {k: v.outcome for k, v in last_applies([started, done, plan], "dev").items()} == {("dev", "attic"): "applied"}


def test_a_later_skip_does_not_replace_the_last_apply() -> None:
    """A resume (``--plan-only`` too) journals ``skip`` for a stack deployed with unchanged inputs; it applied
    nothing, so status's Last apply still reads the apply, not "skipped" (seen in rehearsal: "skipped 4m ago"
    hid "applied 15m ago" after a plan-only resume)."""
    from gfwizard.journal import JournalEntry

    done = JournalEntry(run_id="r1", env="dev", stack="attic", action="apply", outcome="applied", started_at=NOW,
                        ended_at=NOW)
    skip = JournalEntry(run_id="r2", env="dev", stack="attic", action="skip", outcome="skipped",
                        started_at=NOW + timedelta(minutes=11), ended_at=NOW + timedelta(minutes=11))
    picked = last_applies([done, skip], "dev")
    assert {k: (v.run_id, v.outcome) for k, v in picked.items()} == {("dev", "attic"): ("r1", "applied")}
    assert last_applies([skip], "dev") == {}


def test_json_keys_are_stable_and_documented() -> None:
    doc = fixed_snapshot().to_json()
    assert list(doc) == ["schema_version", "taken_at", "read_only", "healthy", "problems", "stale_since",
                         "stale_reason", "config_path", "envs", "lock_age_threshold_minutes", "cluster", "nodes",
                         "stacks", "locks", "events", "unreadable"]
    assert doc["read_only"] is True and doc["healthy"] is False
    assert set(doc["problems"][0]) == {"kind", "subject", "detail", "remedy"}
    # Every problem says what to do, in JSON too (a paging bot gets the same remedy the text prints).
    assert all(p["remedy"] for p in doc["problems"])
    lock = next(p for p in doc["problems"] if p["kind"] == "old-lock")
    assert lock["remedy"].startswith("ask the holder whether that run still goes on; `gfwizard backend locks --env dev`")
    assert doc["unreadable"][0]["note"] == "could not read: secrets (403)"
    documented = (Path(__file__).resolve().parents[2] / "docs" / "json-output.md").read_text()
    section = documented.split("## `gfwizard status --once --json`", 1)[1]
    for key in [*doc, *doc["cluster"], *doc["nodes"][0], *doc["stacks"][0], *doc["stacks"][0]["workloads"][0],
                *doc["locks"][0], *doc["events"][0]]:
        assert f"`{key}`" in section, f"{key} is not documented in docs/json-output.md"


def test_json_output_stays_json_when_a_secret_ends_a_string(capsys: pytest.CaptureFixture[str]) -> None:
    """A secret at the end of an event's message or a lock holder (as other operators' binaries write them):
    ``--json`` masks it, and what it prints is still JSON (the encoded text's closing quote went with it)."""
    import json

    from gfwizard.commands._common import emit_json
    from gfwizard.status_model import EventRow

    canary = "CanaryJson4f9e1Q"
    snap = fixed_snapshot()
    snap = snap.model_copy(update={
        "events": [EventRow(namespace="attic-dev", object="Pod/attic-7d9f-x2", reason="FailedMount",
                            message=f"vault login refused password={canary}", count=1, last_seen=NOW)],
        "locks": [snap.locks[0].model_copy(update={"who": f"bob@ci token={canary}"})]})
    emit_json(snap.to_json())
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert canary not in out
    assert doc["events"][0]["message"] == "vault login refused password=[REDACTED]"
    assert doc["locks"][0]["who"] == "bob@ci token=[REDACTED]"


def test_human_report_names_problems_and_unreadable() -> None:
    text = render_text(fixed_snapshot())
    assert text.startswith("READ-ONLY status of honey")
    assert "UNHEALTHY (4 problem(s))" in text
    assert "node-not-ready: node sting" in text and "old-lock: dev/gitlab-runners" in text
    assert "could not read: secrets (403)" in text
    assert "2h00m OLD" in text
    # The lock columns come in the live pane's order: age and id before a holder name of any length.
    lines = text.splitlines()
    header = lines.index("State locks") + 1
    assert lines[header].split() == ["ENV", "STACK", "AGE", "ID", "OPERATION", "HOLDER"]
    assert lines[header + 1].split() == ["dev", "gitlab-runners", "2h00m", "OLD", "4b9f0c1e-1d2e-4a7b-9c3d-2e1f0a9b8c7d",
                                         "OperationTypeApply", "bob@ci-runner"]


def test_human_report_lists_stacks_in_the_live_panes_order() -> None:
    from screens.status_stacks import StacksPane

    lines = render_text(fixed_snapshot()).splitlines()
    header = lines.index("Stacks") + 1
    # The live pane's columns, and the role after the stack: the state, last apply and readiness before a name of
    # any length.
    live = [label.upper() for label, _ in StacksPane.COLUMNS]
    assert live[:5] == ["ENV", "STACK", "STATE", "LAST APPLY", "READY"]
    assert re.split(r"\s{2,}", lines[header].strip()) == [*live[:2], "ROLE", *live[2:]]
    assert lines[header + 1].split() == ["dev", "attic", "bumble", "serial", "7,", "30m", "ago", "applied", "30m",
                                         "ago", "0/1", "Deployment/attic-dev/attic", "14", "attic-7d9f-x2"]
    assert lines[header + 3].split() == ["prod", "attic", "bumble", "not", "applied", "-", "-", "-", "-", "-"]


def test_snapshot_times_are_aware_utc() -> None:
    with pytest.raises(ValueError):
        StatusSnapshot(taken_at="not a time")  # type: ignore[arg-type]
    assert fixed_snapshot().taken_at.tzinfo == timezone.utc
    assert isinstance(fixed_snapshot().taken_at, datetime)


def test_api_remedy_reads_status_codes_as_whole_words() -> None:
    from gfwizard.status_model import api_remedy

    timeout = api_remedy("https://127.0.0.1:40331 did not answer GET /version in time (3.0s)")
    assert "up and reachable" in timeout
    assert "read access" in api_remedy("GET /api/v1/events: 403 Forbidden")
    assert "credentials were rejected" in api_remedy("https://127.0.0.1:40199: 401 Unauthorized")


def test_a_state_store_outage_is_one_problem_and_a_refusal_is_none() -> None:
    from gfwizard.status_model import Unreadable

    refused = [Unreadable(pane="locks", what="locks of dev", status=403, detail="AccessDenied")]
    snap = assemble(_cfg(), _inputs(unreadable=refused), envs=["dev"], now=NOW)
    assert "state-unreachable" not in {p.kind for p in snap.problems}
    down = [Unreadable(pane="stacks", what=f"state k{i}", detail="connection refused", outage=True) for i in range(4)]
    down.append(Unreadable(pane="locks", what="locks of dev", detail="connection refused", outage=True))
    snap = assemble(_cfg(), _inputs(unreadable=down, locks=[]), envs=["dev"], now=NOW)
    assert [(p.kind, p.detail) for p in snap.problems if p.kind == "state-unreachable"] == [
        ("state-unreachable", "could not read: state k0: connection refused")]
    text = render_text(snap)
    assert "unknown: the locks could not be listed" in text and "none held" not in text


def test_the_api_line_says_what_kind_of_failure_it_was() -> None:
    from gfwizard.status_model import api_failure

    assert api_failure("GET /version: 401 Unauthorized") == "credentials rejected"
    assert api_failure("GET /api/v1/nodes: 403 Forbidden") == "read refused"
    assert api_failure("https://127.0.0.1:40331 did not answer GET /version in time (3.0s)") == "unreachable"
    assert api_failure("connection refused by https://127.0.0.1:1") == "unreachable"
    assert api_failure("API error 500 from https://127.0.0.1:6443: boom") == "error"
    snap = fixed_snapshot()
    bad = snap.model_copy(update={"cluster": snap.cluster.model_copy(update={
        "reachable": False, "error": "GET /version: 401 Unauthorized"})})
    assert "credentials rejected: GET /version: 401 Unauthorized" in render_text(bad)
    assert "unreachable: GET /version" not in render_text(bad)


def test_stale_remedy_names_what_to_do_for_each_failing_source() -> None:
    from gfwizard.status_model import stale_remedy

    both = stale_remedy("API (events): cannot reach https://127.0.0.1:1: connection refused; "
                        "S3: could not connect to the endpoint URL")
    assert both.startswith("check that honey's API server is up and reachable from here")
    assert both.endswith("the state store (RustFS on honey) or the way to it is down: check its pods and the "
                         "endpoint; state is safe in the versioned bucket, and no deploy can run until it answers")
    only_s3 = stale_remedy("S3: could not connect to the endpoint URL")
    assert only_s3.startswith("the state store (RustFS on honey)") and "API server" not in only_s3


def _probe(since: float | None, error: str) -> Any:
    """A probe stand-in whose API has been failing since ``since`` (None: answering)."""
    from types import SimpleNamespace

    return SimpleNamespace(stale_since=since, stale_as_of=lambda _now: since, status=SimpleNamespace(error=error))


def test_stale_reason_names_the_api_and_the_state_store_when_both_fail() -> None:
    from types import SimpleNamespace

    from gfwizard.status import StatusSource, load_status_config
    from tests.helpers import REPO

    source = StatusSource(load_status_config(REPO / "config" / "organization.example.yaml"))
    source.probe = _probe(100.0, "cannot reach honey")  # type: ignore[assignment]
    source.watchers = {"events": SimpleNamespace(stale_since=90.0, error=SimpleNamespace(message="refused"),  # type: ignore[dict-item]
                                                 spec=SimpleNamespace(name="events"), listed=True)}
    source.state = SimpleNamespace(stale_since=95.0, stale_reason="S3: could not connect")  # type: ignore[assignment]
    since, reason = source._stale()
    assert since is not None and since.timestamp() == 90.0
    assert reason == "API (events): refused; S3: could not connect"
    source.watchers = {}
    source.probe = None
    assert source._stale()[1] == "S3: could not connect"


def test_each_pane_is_stale_since_the_first_failure_of_a_source_it_shows() -> None:
    from types import SimpleNamespace

    from gfwizard.status import StatusSource, load_status_config
    from tests.helpers import REPO

    def watcher(name: str, since: float | None, listed: bool = True) -> SimpleNamespace:
        return SimpleNamespace(stale_since=since, error=SimpleNamespace(message="refused"), spec=SimpleNamespace(name=name),
                               listed=listed)

    source = StatusSource(load_status_config(REPO / "config" / "organization.example.yaml"))
    assert source._stale_panes() == {}
    source.probe = _probe(100.0, "cannot reach honey")  # type: ignore[assignment]
    source.watchers = {"events": watcher("events", 90.0), "pods": watcher("pods", 120.0),  # type: ignore[dict-item]
                       "deployments": watcher("deployments", 110.0), "nodes": watcher("nodes", None)}
    source.state = SimpleNamespace(stale_since=95.0, stale_reason="S3: could not connect")  # type: ignore[assignment]
    panes = {pane: at.timestamp() for pane, at in source._stale_panes().items()}
    # The nodes watch has not failed yet, but the API stopped answering the probe at 100: its rows are not
    # live since then. The stacks pane shows workloads (API) and state (S3): the earliest.
    assert panes == {"cluster": 100.0, "events": 90.0, "nodes": 100.0, "stacks": 95.0, "locks": 95.0}
    source.state = None
    assert {p: at.timestamp() for p, at in source._stale_panes().items()}["stacks"] == 100.0
    # While the probe answers, a watch that has not failed is live.
    source.probe = _probe(None, "")  # type: ignore[assignment]
    assert {p: at.timestamp() for p, at in source._stale_panes().items()} == {"events": 90.0, "stacks": 110.0}
    # A kind never listed has no last rows to call stale (its pane says it could not be read instead).
    source.probe = _probe(100.0, "cannot reach honey")  # type: ignore[assignment]
    source.watchers = {"nodes": watcher("nodes", None, listed=False)}  # type: ignore[dict-item]
    assert set(source._stale_panes()) == {"cluster"}


class _StubStore:
    """A ReadOnlyState stand-in: answers from ``objects`` until ``down`` is set, then like a dead store."""

    def __init__(self, objects: dict[tuple[str, str], StateObject]) -> None:
        self.objects = objects
        self.down = False

    def state(self, env: str, stack: str) -> StateObject:
        key = f"gloriousflywheel/{env}/{stack}.tfstate"
        if self.down:
            return StateObject(key=key, exists=False, unreachable=True,
                               error="connection refused by http://127.0.0.1:1: nothing is listening there")
        return self.objects.get((env, stack), StateObject(key=key, exists=False))

    def locks(self, env: str, now: float | None = None) -> list[LockInfo]:
        from gfwizard.status_readonly import ReadError

        if self.down:
            raise ReadError("unreachable", "cannot list the locks: connection refused", "check the store")
        return []


def test_a_state_store_outage_keeps_the_last_known_state_and_claims_nothing_missing() -> None:
    from gfwizard.status_state import StateReader

    cfg = _cfg()
    clock = [NOW.timestamp()]
    reader = StateReader(cfg, ["dev", "prod"], environ={}, timeouts=(1.0, 1.0), clock=lambda: clock[0])
    attic = StateObject(key="gloriousflywheel/dev/attic.tfstate", exists=True, serial=1,
                        last_modified=NOW - timedelta(seconds=16),
                        workloads=(("attic-dev", "Deployment", "attic", 1),))
    store = _StubStore({("dev", "attic"): attic})
    reader.reader = store  # type: ignore[assignment]
    reader.poll()
    assert reader.stale_since is None
    store.down = True
    clock[0] += 15
    reader.poll()
    assert reader.stale_since is not None and reader.stale_reason.startswith("S3: connection refused")
    assert reader.states[("dev", "attic")] is attic  # the last known object, not an error
    assert not reader.states[("prod", "attic")].error and not reader.states[("prod", "attic")].exists
    workloads = {("Deployment", "attic-dev", "attic"): workload_record("Deployment")(
        {"metadata": {"name": "attic", "namespace": "attic-dev"}, "spec": {"replicas": 1},
         "status": {"readyReplicas": 1}})}
    snap = assemble(cfg, _inputs(states=reader.states, workloads=workloads, pods=[], expected=reader.expected,
                                 unreadable=reader.unreadable), envs=["dev", "prod"], now=NOW)
    rows = {(s.env, s.stack): s for s in snap.stacks}
    assert rows[("dev", "attic")].source == "state" and rows[("dev", "attic")].state.serial == 1
    assert all(rows[("prod", stack)].source == "none" for stack in cfg.stack_order())
    text = render_text(snap)
    assert "missing" not in text and "expected: state unreadable" not in text, text
    assert "serial 1, 16s ago" in text and "not applied" in text
    assert [p.kind for p in snap.problems] == ["state-unreachable"]


def test_default_workloads_not_in_the_cluster_read_not_found_never_missing() -> None:
    states = {("prod", stack): StateObject(key=f"gloriousflywheel/prod/{stack}.tfstate", exists=False,
                                           unreachable=True, error="connection refused")
              for stack in _cfg().stack_order()}
    snap = assemble(_cfg(), _inputs(states=states, workloads={}, pods=[]), envs=["prod"], now=NOW)
    assert all(s.source == "defaults" and s.workloads for s in snap.stacks)
    text = render_text(snap)
    assert "missing" not in text and "not found" in text, text


def test_once_names_the_kubectl_commands_for_a_workload_not_the_live_view_panes() -> None:
    """``status --once`` is read where no pane is open (pasted into an incident channel): a workload's remedy,
    in its text and its JSON alike, names the commands that show why; the live view keeps naming its panes."""
    snap = fixed_snapshot()
    crash = next(p for p in snap.problems if p.kind == "crash-looping")
    below = next(p for p in snap.problems if p.kind == "workload-below-desired")
    text = " ".join(render_text(snap, width=200).split())
    remedies = {p["kind"]: p["remedy"] for p in snap.to_json()["problems"]}
    for kind, want in [
        ("crash-looping", "`kubectl --context honey -n attic-dev logs attic-7d9f-x2 --previous` shows the last crash"),
        ("workload-below-desired", "`kubectl --context honey -n attic-dev describe deployment attic` and its "
                                   "pods' `describe pod` say what it waits for"),
    ]:
        assert want in remedies[kind]
        assert f"remedy: {remedies[kind]}" in text
        assert "Events pane (5)" not in remedies[kind]
        assert remedies[kind].endswith("; `gfwizard status` (Stacks pane, Enter) follows its pods' logs")
    for problem in (crash, below):
        assert problem_remedy(problem) == ("open the workload (Stacks pane, Enter) to see its pods and logs; its "
                                           "Warning events are in the Events pane (5)")


def test_once_quotes_a_context_name_that_a_shell_would_split() -> None:
    # A kubeconfig context name is free text: pasted as printed, `--context honey admin` ran kubectl on 'honey'.
    snap = fixed_snapshot()
    snap = snap.model_copy(update={"cluster": snap.cluster.model_copy(update={"context": "honey admin;x"})})
    remedies = {p["kind"]: p["remedy"] for p in snap.to_json()["problems"]}
    assert remedies["crash-looping"].startswith("`kubectl --context 'honey admin;x' -n attic-dev logs attic-7d9f-x2")


def test_the_http_backend_remedy_is_the_one_status_mode_md_gives() -> None:
    # The runbook said `backend migrate --env <env> --stack <stack>` while status says the all-stacks command.
    from gfwizard.status_state import StateReader
    from tests.helpers import REPO

    cfg = _cfg()
    data = cfg.model_dump(mode="json")
    data["state"] = {"backend": "http", "http": {"address": "https://gitlab.example/state/{stack}-{env}"}}
    reader = StateReader(OrgConfig.model_validate(data), ["dev"], environ={}, timeouts=(1.0, 1.0))
    commands = re.findall(r"`(gfwizard backend migrate[^`]*)`", reader.setup_remedy)
    assert commands == ["gfwizard backend migrate --env <env>"]
    doc = " ".join((REPO / "docs" / "status-mode.md").read_text(encoding="utf-8").split())
    said = doc[doc.index("With `state.backend: http`"):]
    said = said[:said.index("Such a workload")]
    assert re.findall(r"`(gfwizard backend migrate[^`]*)`", said) == commands, said


def test_stopping_waits_for_all_threads_together_so_quitting_is_prompt_while_reads_hang(monkeypatch: Any) -> None:
    """Quitting during an outage: every watcher, the probe and the state poller may sit in a read of a
    silent API or bucket; stop tells all of them first and then waits for all against one deadline."""
    from types import SimpleNamespace

    import gfwizard.status as status_mod
    from gfwizard.status import STOP_BUDGET_SECONDS, StatusSource, load_status_config
    from tests.helpers import REPO

    clock = [0.0]
    calls: list[str] = []

    def hang(name: str) -> Callable[[float], None]:
        def join(timeout: float) -> None:  # a thread still reading: it does not end within the wait
            calls.append(f"join {name}")
            clock[0] += max(0.0, timeout)
        return join

    class HungWatcher:
        def __init__(self, name: str) -> None:
            self.name = name
            self.join = hang(name)

        def signal_stop(self) -> None:
            calls.append(f"signal {self.name}")

        def stop(self, timeout: float = 2.0) -> None:
            self.signal_stop()
            self.join(timeout)

    monkeypatch.setattr(status_mod, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    source = StatusSource(load_status_config(REPO / "config" / "organization.example.yaml"))
    kinds = ["nodes", "pods", "deployments", "statefulsets", "daemonsets", "events"]
    source.watchers = {k: HungWatcher(k) for k in kinds}  # type: ignore[misc]
    source._threads = [SimpleNamespace(join=hang("probe")), SimpleNamespace(join=hang("state"))]  # type: ignore[list-item]
    closed: list[bool] = []
    source.kube = SimpleNamespace(close=lambda: closed.append(True))  # type: ignore[assignment]
    source.stop()
    assert clock[0] <= STOP_BUDGET_SECONDS  # not 0.5 s per watcher plus 2 s per thread (7 s at q)
    assert calls[:len(kinds)] == [f"signal {k}" for k in kinds]  # all told before any is waited for
    assert source._stop.is_set() and closed == [True]


@pytest.mark.parametrize("error", ["https://127.0.0.1:40331 did not answer GET /version in time (3.0s)",
                                   "GET /version: 500 Internal Server Error"], ids=["unreachable", "error-status"])
def test_once_does_not_say_it_keeps_retrying(error: str) -> None:
    """``status --once`` reads once: its remedy for an API that did not answer says to run it again (the live
    view, which does retry, keeps saying so), in its text and its JSON alike."""
    snap = fixed_snapshot()
    snap = snap.model_copy(update={"cluster": snap.cluster.model_copy(update={"reachable": False, "error": error})})
    problem = next(p for p in snap.problems if p.kind == "api-unreachable")
    remedy = {p["kind"]: p["remedy"] for p in snap.to_json()["problems"]}["api-unreachable"]
    text = " ".join(render_text(snap, width=200).split())
    again = "; then run `gfwizard status --once` again (the live `gfwizard status` keeps retrying by itself)"
    assert remedy.endswith(again) and "status keeps retrying" not in remedy, remedy
    assert f"remedy: {remedy}" in text
    assert problem_remedy(problem).endswith("; status keeps retrying")
