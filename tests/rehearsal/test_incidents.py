"""Incidents rehearsed through the rehearsal API as on a cluster (docs/status-mode.md, "Rehearse an incident"):
the ``rehearsal.gloriousflywheel.io/fault: crashloop`` annotation makes a Deployment's pods crash-loop the way a
kubelet reports it (seen through the official client, which validates every object, and through kubectl), and
removing it brings them back; a node status PATCH with kubectl makes the node NotReady. Conditions are waited
for, never timed."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator

import pytest

from gfwizard.rehearsal.apiserver import RehearsalAPIServer
from gfwizard.rehearsal.k8s_faults import FAULT_ANNOTATION, go_duration
from tests.rehearsal.test_apiserver import TIMEOUT, Kubectl, client, deployment, kubectl, make_namespace, raw

__all__ = ["kubectl"]  # the fixture, imported for this module's tests

CRASH_LINE = ('level=ERROR seq=2 msg="exiting with status 1: rehearsal fault injected (annotation '
              'rehearsal.gloriousflywheel.io/fault=crashloop on deployment {ns}/work; remove it to recover)"')


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RehearsalAPIServer]:
    server = RehearsalAPIServer(log_path=tmp_path_factory.mktemp("api") / "api-requests.log", crash_backoff=0.05)
    with server:
        yield server


@pytest.fixture(autouse=True)
def _sting_ready_again(api: RehearsalAPIServer) -> Iterator[None]:
    yield
    api.set_node_ready("sting", True)


def _wait(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def _apis(api: RehearsalAPIServer) -> tuple[Any, Any]:
    from kubernetes import client as k8s

    api_client = client(api)
    return k8s.CoreV1Api(api_client), k8s.AppsV1Api(api_client)


def _annotate(apps: Any, namespace: str, value: str | None) -> Any:
    return apps.patch_namespaced_deployment("work", namespace, {"metadata": {"annotations": {FAULT_ANNOTATION: value}}},
                                            _request_timeout=TIMEOUT)


def _work(api: RehearsalAPIServer, namespace: str, replicas: int = 2) -> tuple[Any, Any]:
    core, apps = _apis(api)
    make_namespace(api, namespace)
    apps.create_namespaced_deployment(namespace, deployment("work", replicas), _request_timeout=TIMEOUT)
    return core, apps


def _restarts(core: Any, namespace: str) -> list[int]:
    return [p.status.container_statuses[0].restart_count
            for p in core.list_namespaced_pod(namespace, _request_timeout=TIMEOUT).items]


def test_crashloop_annotation_makes_pods_crash_loop_with_climbing_restarts_events_and_a_log_line(
        api: RehearsalAPIServer) -> None:
    core, apps = _work(api, "crash-a")
    _annotate(apps, "crash-a", "crashloop")

    pods = core.list_namespaced_pod("crash-a", _request_timeout=TIMEOUT).items
    assert len(pods) == 2
    for pod in pods:
        meta = pod.metadata
        assert pod.status.phase == "Running"
        assert {c.type: (c.status, c.reason) for c in pod.status.conditions} == {
            "Ready": ("False", "ContainersNotReady"), "ContainersReady": ("False", "ContainersNotReady"),
            "PodReadyToStartContainers": ("True", None), "Initialized": ("True", None), "PodScheduled": ("True", None)}
        (cs,) = pod.status.container_statuses
        assert (cs.ready, cs.started, cs.state.running) == (False, False, None)
        assert cs.state.waiting.reason == "CrashLoopBackOff"
        assert cs.state.waiting.message.endswith(
            f" restarting failed container=main pod={meta.name}_crash-a({meta.uid})")
        assert (cs.last_state.terminated.exit_code, cs.last_state.terminated.reason) == (1, "Error")
        assert cs.restart_count >= 1
    status = apps.read_namespaced_deployment("work", "crash-a", _request_timeout=TIMEOUT).status
    assert (status.ready_replicas, status.unavailable_replicas) == (None, 2)

    # The kubelet restarts them as each back-off runs out: the count climbs, the BackOff event counts up.
    _wait("restarts to climb", lambda: min(_restarts(core, "crash-a")) >= 3)
    events = _wait("BackOff counted up", lambda: [
        e for e in core.list_namespaced_event("crash-a", field_selector="type=Warning", _request_timeout=TIMEOUT).items
        if e.reason == "BackOff" and e.count >= 3])
    assert {e.involved_object.name for e in events} <= {p.metadata.name for p in pods}
    event = events[0]
    assert (event.source.component, event.involved_object.kind) == ("kubelet", "Pod")
    assert event.message.startswith(f"Back-off restarting failed container main in pod {event.involved_object.name}_")

    # The log says why, current and --previous (the client reads it as text).
    name = pods[0].metadata.name
    expected = CRASH_LINE.format(ns="crash-a")
    assert core.read_namespaced_pod_log(name, "crash-a", _request_timeout=TIMEOUT).splitlines()[-1] == expected
    assert core.read_namespaced_pod_log(name, "crash-a", previous=True,
                                        _request_timeout=TIMEOUT).splitlines()[-1] == expected

    # Removed: the next start succeeds; Ready again, restarts kept, --previous still the crash.
    _annotate(apps, "crash-a", None)
    before = _restarts(core, "crash-a")
    pods = core.list_namespaced_pod("crash-a", _request_timeout=TIMEOUT).items
    for pod in pods:
        (cs,) = pod.status.container_statuses
        assert (cs.ready, cs.started, cs.state.waiting, cs.state.running is not None) == (True, True, None, True)
        assert all(c.status == "True" for c in pod.status.conditions)
    status = apps.read_namespaced_deployment("work", "crash-a", _request_timeout=TIMEOUT).status
    assert (status.ready_replicas, status.unavailable_replicas) == (2, None)
    assert api.cluster.faults.tick() is None  # no restart is due any more
    assert _restarts(core, "crash-a") == before
    assert core.read_namespaced_pod_log(name, "crash-a", previous=True,
                                        _request_timeout=TIMEOUT).splitlines()[-1] == expected
    assert "seq=" in core.read_namespaced_pod_log(name, "crash-a", tail_lines=1, _request_timeout=TIMEOUT)
    assert "exiting" not in core.read_namespaced_pod_log(name, "crash-a", tail_lines=5, _request_timeout=TIMEOUT)


def test_a_replacement_pod_and_a_scale_up_crash_loop_too(api: RehearsalAPIServer) -> None:
    core, apps = _work(api, "crash-b", replicas=1)
    _annotate(apps, "crash-b", "crashloop")
    (pod,) = core.list_namespaced_pod("crash-b", _request_timeout=TIMEOUT).items
    core.delete_namespaced_pod(pod.metadata.name, "crash-b", _request_timeout=TIMEOUT)
    apps.patch_namespaced_deployment_scale("work", "crash-b", {"spec": {"replicas": 3}}, _request_timeout=TIMEOUT)

    pods = core.list_namespaced_pod("crash-b", _request_timeout=TIMEOUT).items
    assert pod.metadata.name not in {p.metadata.name for p in pods} and len(pods) == 3
    assert [p.status.container_statuses[0].state.waiting.reason for p in pods] == ["CrashLoopBackOff"] * 3


def test_a_previous_log_of_a_container_that_never_restarted_is_refused(api: RehearsalAPIServer) -> None:
    core, _apps = _work(api, "crash-c", replicas=1)
    (pod,) = core.list_namespaced_pod("crash-c", _request_timeout=TIMEOUT).items
    status, body, _ = raw(api, "GET", f"/api/v1/namespaces/crash-c/pods/{pod.metadata.name}/log?previous=true")
    assert status == 400
    assert json.loads(body)["message"] == (f'previous terminated container "main" in pod "{pod.metadata.name}" '
                                           "not found")


@pytest.mark.parametrize(("path", "body", "message"), [
    ("/apis/apps/v1/namespaces/crash-d/deployments/work", {"metadata": {"annotations": {FAULT_ANNOTATION: "oom"}}},
     f'Deployment.apps "work" is invalid: metadata.annotations[{FAULT_ANNOTATION}]: Unsupported value: "oom": '
     'supported values: "crashloop", "pending"'),
    ("/apis/apps/v1/namespaces/crash-d/daemonsets/agent",
     {"metadata": {"annotations": {FAULT_ANNOTATION: "crashloop"}}},
     f'DaemonSet.apps "agent" is invalid: metadata.annotations[{FAULT_ANNOTATION}]: Forbidden: the rehearsal\'s '
     "fault annotation works on Deployments only, not on a DaemonSet"),
], ids=["unknown-fault", "not-a-deployment"])
def test_a_bad_fault_annotation_is_refused_and_changes_nothing(api: RehearsalAPIServer, path: str, body: Any,
                                                               message: str) -> None:
    if "crash-d" not in {s.key[1] for s in api.store.all("namespaces")}:
        _work(api, "crash-d", replicas=1)
        created, answer, _ = raw(api, "POST", "/apis/apps/v1/namespaces/crash-d/daemonsets", {
            "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]}}}})
        assert created == 201, answer
    before = {(p, s.key): s.obj["metadata"]["resourceVersion"]
              for p in ("deployments", "daemonsets", "pods") for s in api.store.all(p, "crash-d")}
    status, answer, _ = raw(api, "PATCH", path, body, headers={"Content-Type": "application/merge-patch+json"})
    assert status == 422
    assert json.loads(answer)["message"] == message
    after = {(p, s.key): s.obj["metadata"]["resourceVersion"]
             for p in ("deployments", "daemonsets", "pods") for s in api.store.all(p, "crash-d")}
    assert after == before


def test_pending_annotation_makes_pods_unschedulable_until_removed(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    core, apps = _apis(api)
    make_namespace(api, "pending-a")
    on_bumble = deployment("work", 2, {"gloriousflywheel.io/role": "bumble"})
    apps.create_namespaced_deployment("pending-a", on_bumble, _request_timeout=TIMEOUT)
    running = {p.metadata.name for p in core.list_namespaced_pod("pending-a", _request_timeout=TIMEOUT).items}
    _annotate(apps, "pending-a", "pending")

    message = ("0/3 nodes are available: 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector, "
               "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are "
               "available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")
    pods = core.list_namespaced_pod("pending-a", _request_timeout=TIMEOUT).items
    assert len(pods) == 2 and not running & {p.metadata.name for p in pods}  # the running ones went
    for pod in pods:
        assert (pod.status.phase, pod.spec.node_name, pod.status.container_statuses) == ("Pending", None, None)
        (cond,) = pod.status.conditions
        assert (cond.type, cond.status, cond.reason, cond.message) == ("PodScheduled", "False", "Unschedulable",
                                                                       message)
    events = core.list_namespaced_event("pending-a", field_selector="reason=FailedScheduling",
                                        _request_timeout=TIMEOUT).items
    assert sorted((e.involved_object.name, e.type, e.message) for e in events) == sorted(
        (p.metadata.name, "Warning", message) for p in pods)
    status = apps.read_namespaced_deployment("work", "pending-a", _request_timeout=TIMEOUT).status
    assert (status.ready_replicas, status.unavailable_replicas) == (None, 2)

    # A node change (which schedules pending pods that fit) leaves them Pending; so does a deleted pod's replacement.
    api.set_node_ready("sting", "False")
    api.set_node_ready("sting", True)
    core.delete_namespaced_pod(pods[0].metadata.name, "pending-a", _request_timeout=TIMEOUT)
    assert [p.status.phase for p in core.list_namespaced_pod("pending-a", _request_timeout=TIMEOUT).items] == \
        ["Pending"] * 2

    _annotate(apps, "pending-a", None)
    pods = core.list_namespaced_pod("pending-a", _request_timeout=TIMEOUT).items
    assert [(p.status.phase, p.spec.node_name) for p in pods] == [("Running", "bumble")] * 2
    status = apps.read_namespaced_deployment("work", "pending-a", _request_timeout=TIMEOUT).status
    assert isinstance(status, k8s.V1DeploymentStatus) and status.ready_replicas == 2


def test_go_duration_prints_the_kubelets_back_off_as_go_does() -> None:
    assert [go_duration(s) for s in (0.05, 10, 80, 300, 3725)] == ["50ms", "10s", "1m20s", "5m0s", "1h2m5s"]


# --------------------------------------------------------------------------------------------- kubectl
def test_kubectl_annotate_shows_the_crash_loop_in_get_pods_and_logs_and_undo_recovers(
        api: RehearsalAPIServer, kubectl: Kubectl) -> None:
    _work(api, "crash-k", replicas=1)
    kubectl("-n", "crash-k", "annotate", "deployment", "work", f"{FAULT_ANNOTATION}=crashloop")
    _wait("two restarts", lambda: [int(r[3]) for r in _rows(kubectl("-n", "crash-k", "get", "pods").stdout)
                                   if int(r[3]) >= 2])
    (row,) = _rows(kubectl("-n", "crash-k", "get", "pods").stdout)
    assert row[1:3] == ["0/1", "CrashLoopBackOff"] and row[4].startswith("(") and row[5] == "ago)"
    assert kubectl("-n", "crash-k", "logs", "deploy/work").stdout.splitlines()[-1] == CRASH_LINE.format(ns="crash-k")
    assert kubectl("-n", "crash-k", "logs", row[0], "--previous").stdout.splitlines()[-1] == \
        CRASH_LINE.format(ns="crash-k")
    events = kubectl("-n", "crash-k", "get", "events", "--field-selector", "reason=BackOff", "-o", "json").stdout
    assert [e["type"] for e in json.loads(events)["items"]] == ["Warning"]

    kubectl("-n", "crash-k", "annotate", "deployment", "work", f"{FAULT_ANNOTATION}-")
    (row,) = _rows(kubectl("-n", "crash-k", "get", "pods").stdout)
    assert row[1:3] == ["1/1", "Running"]
    assert _rows(kubectl("-n", "crash-k", "get", "deploy").stdout)[0][1] == "1/1"


def test_kubectl_bad_fault_value_is_refused(api: RehearsalAPIServer, kubectl: Kubectl) -> None:
    _work(api, "crash-l", replicas=1)
    done = kubectl("-n", "crash-l", "annotate", "deployment", "work", f"{FAULT_ANNOTATION}=crash", check=False)
    assert done.returncode == 1
    assert 'Unsupported value: "crash": supported values: "crashloop", "pending"' in done.stderr
    assert FAULT_ANNOTATION not in kubectl("-n", "crash-l", "get", "deploy", "work", "-o", "json").stdout


@pytest.mark.parametrize(("ready", "status_column", "taint"), [
    ("Unknown", "NotReady", "node.kubernetes.io/unreachable"),
    ("False", "NotReady", "node.kubernetes.io/not-ready"),
], ids=["unreachable", "kubelet-not-ready"])
def test_kubectl_node_status_patch_makes_sting_not_ready_and_back(api: RehearsalAPIServer, kubectl: Kubectl,
                                                                   ready: str, status_column: str, taint: str) -> None:
    """The command docs/status-mode.md gives (a strategic merge: the other conditions are kept)."""
    patch = json.dumps({"status": {"conditions": [{"type": "Ready", "status": ready}]}}, separators=(",", ":"))
    kubectl("patch", "node", "sting", "--subresource=status", "-p", patch)
    rows = {r[0]: r for r in _rows(kubectl("get", "nodes").stdout)}
    assert rows["sting"][1] == status_column
    node = json.loads(kubectl("get", "node", "sting", "-o", "json").stdout)
    assert [(t["key"], t["effect"]) for t in node["spec"]["taints"]] == [(taint, "NoSchedule"), (taint, "NoExecute")]
    assert [c["type"] for c in node["status"]["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure",
                                                                 "Ready"]

    kubectl("patch", "node", "sting", "--subresource=status", "-p",
            '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}')
    assert {r[0]: r for r in _rows(kubectl("get", "nodes").stdout)}["sting"][1] == "Ready"
    assert "taints" not in json.loads(kubectl("get", "node", "sting", "-o", "json").stdout)["spec"]


def _rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()[1:]]


def _documented_commands() -> list[list[str]]:
    """The kubectl command lines of docs/status-mode.md's "Rehearse an incident" code blocks, split as a shell would."""
    import shlex

    from tests.helpers import REPO

    text = (REPO / "docs" / "status-mode.md").read_text(encoding="utf-8")
    section = text.split("## Rehearse an incident", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```sh\n")[1:]
    lines = [line for block in blocks for line in block.split("```", 1)[0].splitlines()]
    return [shlex.split(line) for line in lines if line.startswith("kubectl ")]


def test_the_documented_commands_do_what_the_docs_say(api: RehearsalAPIServer, kubectl: Kubectl) -> None:
    node_patch, annotate, undo, pending = _documented_commands()
    assert [c[:5] for c in (node_patch, annotate, undo, pending)] == [
        ["kubectl", "--context", "honey", "patch", "node"]] + [["kubectl", "--context", "honey", "-n", "attic-dev"]] * 3
    make_namespace(api, "attic-dev")
    _apis(api)[1].create_namespaced_deployment("attic-dev", deployment("attic", 1), _request_timeout=TIMEOUT)

    kubectl(*node_patch[1:])
    assert {r[0]: r[1] for r in _rows(kubectl("get", "nodes").stdout)}["sting"] == "NotReady"
    kubectl(*node_patch[1:-1], node_patch[-1].replace('"Unknown"', '"True"'))  # the documented undo
    assert {r[0]: r[1] for r in _rows(kubectl("get", "nodes").stdout)}["sting"] == "Ready"

    kubectl(*annotate[1:])
    (row,) = _rows(kubectl("-n", "attic-dev", "get", "pods").stdout)
    assert row[2] == "CrashLoopBackOff"
    assert "rehearsal fault injected" in kubectl("-n", "attic-dev", "logs", "deploy/attic", "--previous").stdout
    kubectl(*undo[1:])
    (row,) = _rows(kubectl("-n", "attic-dev", "get", "pods").stdout)
    assert row[1:3] == ["1/1", "Running"]

    kubectl(*pending[1:])
    (row,) = _rows(kubectl("-n", "attic-dev", "get", "pods").stdout)
    assert row[1:3] == ["0/1", "Pending"]
    kubectl(*undo[1:])
    (row,) = _rows(kubectl("-n", "attic-dev", "get", "pods").stdout)
    assert row[1:3] == ["1/1", "Running"]
