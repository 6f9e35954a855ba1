"""The rehearsal's node lifecycle controller, seen through the official Python client: a node that stops
being Ready gets Kubernetes' not-ready/unreachable taints (and loses them when it is Ready again), its pods
stop being Ready, and new pods for it stay Pending on the untolerated taint."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from gfwizard.rehearsal.apiserver import RehearsalAPIServer
from tests.rehearsal.test_apiserver import TIMEOUT, client, deployment, make_namespace, raw

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RehearsalAPIServer]:
    server = RehearsalAPIServer(log_path=tmp_path_factory.mktemp("api") / "api-requests.log")
    with server:
        yield server


@pytest.fixture(autouse=True)
def _sting_ready_again(api: RehearsalAPIServer) -> Iterator[None]:
    yield
    api.set_node_ready("sting", True)


def _core(api: RehearsalAPIServer) -> Any:
    from kubernetes import client as k8s

    return k8s.CoreV1Api(client(api))


def _taints(node: Any) -> list[tuple[str, str, bool]]:
    """(key, effect, has timeAdded) of each taint, from the client's typed V1Node."""
    return [(t.key, t.effect, t.time_added is not None) for t in node.spec.taints or []]


def _on_sting(api: RehearsalAPIServer, namespace: str) -> Any:
    from kubernetes import client as k8s

    make_namespace(api, namespace)
    apps = k8s.AppsV1Api(client(api))
    apps.create_namespaced_deployment(namespace, deployment("work", 2, {"gloriousflywheel.io/role": "sting"}),
                                      _request_timeout=TIMEOUT)
    return apps


def test_unreachable_node_is_tainted_and_its_pods_stop_being_ready_until_it_returns(api: RehearsalAPIServer) -> None:
    core = _core(api)
    apps = _on_sting(api, "lifecycle-a")
    assert apps.read_namespaced_deployment("work", "lifecycle-a", _request_timeout=TIMEOUT).status.ready_replicas == 2
    assert core.read_node("sting", _request_timeout=TIMEOUT).spec.taints is None

    api.set_node_ready("sting", False)  # kubelet stopped posting: Ready=Unknown

    node = core.read_node("sting", _request_timeout=TIMEOUT)
    assert _taints(node) == [(UNREACHABLE, "NoSchedule", True), (UNREACHABLE, "NoExecute", True)]
    assert {(c.type, c.status, c.reason) for c in node.status.conditions} == {
        (kind, "Unknown", "NodeStatusUnknown") for kind in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")}
    pods = core.list_namespaced_pod("lifecycle-a", _request_timeout=TIMEOUT).items
    assert [(p.spec.node_name, p.status.phase) for p in pods] == [("sting", "Running")] * 2  # not evicted
    assert all(next(c.status for c in p.status.conditions if c.type == "Ready") == "False" for p in pods)
    status = apps.read_namespaced_deployment("work", "lifecycle-a", _request_timeout=TIMEOUT).status
    assert (status.ready_replicas, status.unavailable_replicas) == (None, 2)
    warnings = core.list_namespaced_event("lifecycle-a", field_selector="type=Warning", _request_timeout=TIMEOUT)
    assert sorted((e.reason, e.message, e.involved_object.name) for e in warnings.items) == sorted(
        ("NodeNotReady", "Node is not ready", p.metadata.name) for p in pods)
    node_events = core.list_namespaced_event("default", field_selector="involvedObject.name=sting",
                                             _request_timeout=TIMEOUT).items
    assert "Node sting status is now: NodeNotReady" in [e.message for e in node_events]

    api.set_node_ready("sting", True)

    node = core.read_node("sting", _request_timeout=TIMEOUT)
    assert node.spec.taints is None
    assert {c.status for c in node.status.conditions if c.type != "Ready"} == {"False"}
    assert apps.read_namespaced_deployment("work", "lifecycle-a", _request_timeout=TIMEOUT).status.ready_replicas == 2


def test_not_ready_then_unreachable_swaps_the_taints_and_keeps_other_taints(api: RehearsalAPIServer) -> None:
    core = _core(api)
    core.patch_node("sting", {"spec": {"taints": [{"key": "dedicated", "value": "ci", "effect": "NoSchedule"}]}},
                    _request_timeout=TIMEOUT)

    api.set_node_ready("sting", "False")  # kubelet posts NotReady
    node = core.read_node("sting", _request_timeout=TIMEOUT)
    assert _taints(node) == [("dedicated", "NoSchedule", False), (NOT_READY, "NoSchedule", True),
                             (NOT_READY, "NoExecute", True)]
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "KubeletNotReady")

    api.set_node_ready("sting", "Unknown")
    node = core.read_node("sting", _request_timeout=TIMEOUT)
    assert _taints(node) == [("dedicated", "NoSchedule", False), (UNREACHABLE, "NoSchedule", True),
                             (UNREACHABLE, "NoExecute", True)]
    api.set_node_ready("sting", "Unknown")  # no change: the same taints, the same timeAdded
    again = core.read_node("sting", _request_timeout=TIMEOUT)
    assert [(t.key, t.effect, t.time_added) for t in again.spec.taints] == \
        [(t.key, t.effect, t.time_added) for t in node.spec.taints]

    api.set_node_ready("sting", True)
    assert _taints(core.read_node("sting", _request_timeout=TIMEOUT)) == [("dedicated", "NoSchedule", False)]
    core.patch_node("sting", {"spec": {"taints": None}}, _request_timeout=TIMEOUT)


def test_a_status_write_through_the_api_is_what_the_controller_reacts_to(api: RehearsalAPIServer) -> None:
    """The kubelet's path: PATCH nodes/<name>/status with Ready=False."""
    core = _core(api)
    node = core.read_node("sting", _request_timeout=TIMEOUT)
    conditions = [{"type": c.type, "status": "False" if c.type == "Ready" else c.status, "reason": c.reason,
                   "message": c.message} for c in node.status.conditions]
    status, body, _ = raw(api, "PATCH", "/api/v1/nodes/sting/status", {"status": {"conditions": conditions}},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200, body
    assert _taints(core.read_node("sting", _request_timeout=TIMEOUT)) == [(NOT_READY, "NoSchedule", True),
                                                                          (NOT_READY, "NoExecute", True)]
    # A cordon is a controller taint too.
    core.patch_node("bumble", {"spec": {"unschedulable": True}}, _request_timeout=TIMEOUT)
    assert _taints(core.read_node("bumble", _request_timeout=TIMEOUT)) == [
        ("node.kubernetes.io/unschedulable", "NoSchedule", True)]
    core.patch_node("bumble", {"spec": {"unschedulable": None}}, _request_timeout=TIMEOUT)
    assert core.read_node("bumble", _request_timeout=TIMEOUT).spec.taints is None


def test_new_pods_for_an_unreachable_node_stay_pending_on_its_taint(api: RehearsalAPIServer) -> None:
    core = _core(api)
    api.set_node_ready("sting", False)
    _on_sting(api, "lifecycle-b")
    pods = core.list_namespaced_pod("lifecycle-b", _request_timeout=TIMEOUT).items
    assert [p.status.phase for p in pods] == ["Pending", "Pending"]
    warnings = core.list_namespaced_event("lifecycle-b", field_selector="type=Warning", _request_timeout=TIMEOUT)
    assert f"1 node(s) had untolerated taint {{{UNREACHABLE}: }}" in warnings.items[0].message

    api.set_node_ready("sting", True)
    pods = core.list_namespaced_pod("lifecycle-b", _request_timeout=TIMEOUT).items
    assert {(p.status.phase, p.spec.node_name) for p in pods} == {("Running", "sting")}


def test_a_node_added_not_ready_carries_the_taints(api: RehearsalAPIServer) -> None:
    core = _core(api)
    api.add_node("sting-late", "sting", ready=False)
    try:
        assert _taints(core.read_node("sting-late", _request_timeout=TIMEOUT)) == [
            (UNREACHABLE, "NoSchedule", True), (UNREACHABLE, "NoExecute", True)]
    finally:
        api.cluster.delete("nodes", "", "sting-late")


@pytest.mark.parametrize(("name", "ready", "error", "text"), [
    ("wasp", False, KeyError, "no node 'wasp'; nodes: ['bumble', 'honey', 'sting']"),
    ("sting", "maybe", ValueError, "ready must be True, False, 'True', 'False' or 'Unknown' (got 'maybe')"),
], ids=["unknown-node", "bad-status"])
def test_set_node_ready_refuses_bad_input_and_changes_nothing(api: RehearsalAPIServer, name: str, ready: Any,
                                                              error: type[Exception], text: str) -> None:
    before = {n: api.store.get("nodes", "", n).obj["metadata"]["resourceVersion"]  # type: ignore[union-attr]
              for n in api.node_names()}
    with pytest.raises(error) as caught:
        api.set_node_ready(name, ready)
    assert text in str(caught.value)
    assert {n: api.store.get("nodes", "", n).obj["metadata"]["resourceVersion"]  # type: ignore[union-attr]
            for n in api.node_names()} == before


def test_placement_reads_the_unreachable_node_as_not_ready_with_a_remedy(api: RehearsalAPIServer) -> None:
    """The nodes as the API serves them: sting, the only node of role sting, is unreachable."""
    import json

    from gfwizard.orgconfig import OrgConfig
    from gfwizard.placement import compute_placement, default_requests, node_info_from_dict

    api.set_node_ready("sting", False)
    status, body, _ = raw(api, "GET", "/api/v1/nodes")
    assert status == 200, body
    nodes = [node_info_from_dict(n) for n in json.loads(body)["items"]]
    cfg = OrgConfig.model_validate({
        "organization": {"name": "tinyland", "full_name": "Tinyland"},
        "cluster": {"name": "honey", "context": "honey", "api_server": api.url, "network": "loopback"},
        "placement": {"roles": {"bumble": {"node_selector": {"gloriousflywheel.io/role": "bumble"}},
                                "sting": {"node_selector": {"gloriousflywheel.io/role": "sting"}}},
                      "stacks": {"attic": "bumble", "arc-runners": "sting"}},
        "state": {"backend": "s3", "s3": {"endpoint": "https://s3.honey.ts.net", "bucket": "gf-state"}},
        "environments": {"dev": {"cluster": "honey", "tfvars": "dev.tfvars"}},
        "stacks": [{"name": "attic"}, {"name": "arc-runners", "depends_on": ["attic"]}],
    })
    table = compute_placement(cfg, nodes, {s: default_requests(s) for s in ("attic", "arc-runners")})
    attic, arc = table.rows
    assert attic.ok and attic.candidates == ["bumble"]
    (conflict,) = arc.conflicts
    assert conflict.kind == "no-node"
    assert conflict.detail == ("no Ready node matches role 'sting' selector gloriousflywheel.io/role=sting: "
                               "sting (unreachable: its kubelet stopped posting status) matches but is not Ready")
    assert conflict.remedy.startswith("bring a node of the role back to Ready (kubectl describe node sting: ")


_NR_DEFAULT = {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
_UR_DEFAULT = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}


@pytest.mark.parametrize(("given", "added"), [
    ([], [_NR_DEFAULT, _UR_DEFAULT]),
    ([{"key": NOT_READY, "operator": "Exists", "effect": "NoSchedule"}], [_NR_DEFAULT, _UR_DEFAULT]),
    ([{"operator": "Exists"}], []),
    ([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}], [_NR_DEFAULT]),
    ([{"key": NOT_READY, "operator": "Equal", "value": "x", "effect": "NoExecute"}], [_UR_DEFAULT]),
], ids=["none", "not-ready-noschedule-only", "tolerate-everything", "unreachable-30s", "not-ready-other-value"])
def test_default_toleration_seconds_admission_adds_what_no_toleration_covers(
        api: RehearsalAPIServer, request: pytest.FixtureRequest, given: list[dict[str, Any]],
        added: list[dict[str, Any]]) -> None:
    """As the DefaultTolerationSeconds admission plugin: a toleration covers a taint by key (or no key) and effect
    NoExecute (or none), whatever its operator and value."""
    import json

    namespace = f"admit-{request.node.callspec.id}"
    make_namespace(api, namespace)
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}],
                                               "tolerations": given}}
    status, body, _ = raw(api, "POST", f"/api/v1/namespaces/{namespace}/pods", pod)
    assert status == 201, body
    assert json.loads(body)["spec"]["tolerations"] == given + added


def test_a_daemon_pod_stays_on_its_not_ready_node_and_counts_as_misscheduled(api: RehearsalAPIServer) -> None:
    """The DaemonSet controller keeps a pod on a node whose NoExecute taints it tolerates (its own tolerations of
    not-ready/unreachable have no tolerationSeconds) but no longer counts the node as one it should run on."""
    from kubernetes import client as k8s

    core = _core(api)
    make_namespace(api, "lifecycle-ds")
    apps = k8s.AppsV1Api(client(api))
    apps.create_namespaced_daemon_set("lifecycle-ds", {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}}}, _request_timeout=TIMEOUT)

    def placed() -> dict[str, str]:
        return {p.spec.node_name: p.metadata.name
                for p in core.list_namespaced_pod("lifecycle-ds", _request_timeout=TIMEOUT).items}

    def counts() -> tuple[int, int, int, int]:
        st = apps.read_namespaced_daemon_set("agent", "lifecycle-ds", _request_timeout=TIMEOUT).status
        return st.desired_number_scheduled, st.current_number_scheduled, st.number_misscheduled, st.number_ready

    before = placed()
    assert "sting" in before
    full = len(before)
    assert counts() == (full, full, 0, full)

    api.set_node_ready("sting", False)
    assert placed() == before  # not deleted, not replaced
    assert counts() == (full - 1, full - 1, 1, full - 1)

    api.set_node_ready("sting", True)
    assert placed() == before
    assert counts() == (full, full, 0, full)
