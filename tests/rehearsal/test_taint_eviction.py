"""Taint-based eviction in the rehearsal cluster (:mod:`gfwizard.rehearsal.k8s_evict`), through the official Python
client: a NotReady node's NoExecute taint evicts the pods that do not tolerate it at once, the ordinary ones after
their (shortened) 300 s, never the ones that tolerate it forever; a node Ready again in time keeps its pods; the
evicted pods' replacements go to another node of the role, or stay Pending. Waits are for conditions, with the
``toleration_scale`` knob making 300 s a fraction of a second."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from gfwizard.rehearsal.apiserver import RehearsalAPIServer
from tests.rehearsal.test_apiserver import TIMEOUT, client, deployment, make_namespace, raw

UNREACHABLE = "node.kubernetes.io/unreachable"


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[RehearsalAPIServer]:
    """A cluster of its own per test (evictions move system pods too); its evictions wait as on a cluster (300 s)
    unless the test shortens them."""
    with RehearsalAPIServer(log_path=tmp_path / "api-requests.log") as server:
        yield server


def _core(api: RehearsalAPIServer) -> Any:
    from kubernetes import client as k8s

    return k8s.CoreV1Api(client(api))


def _scheduled(api: RehearsalAPIServer, namespace: str) -> dict[str, float]:
    """pod -> the tolerationSeconds its scheduled eviction waits, in ``namespace``."""
    return {pod: seconds for (ns, pod), seconds in api.cluster.evictions.scheduled().items() if ns == namespace}


def _until(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := check()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)
    return got


def _apps(api: RehearsalAPIServer) -> Any:
    from kubernetes import client as k8s

    return k8s.AppsV1Api(client(api))


def _work(api: RehearsalAPIServer, namespace: str, replicas: int = 2,
          tolerations: list[dict[str, Any]] | None = None, name: str = "work") -> list[str]:
    """A Deployment of ``replicas`` pods on role sting (only node: sting); returns its pods' names."""
    if not _core(api).list_namespace(field_selector=f"metadata.name={namespace}", _request_timeout=TIMEOUT).items:
        make_namespace(api, namespace)
    body = deployment(name, replicas, {"gloriousflywheel.io/role": "sting"})
    if tolerations is not None:
        body["spec"]["template"]["spec"]["tolerations"] = tolerations
    _apps(api).create_namespaced_deployment(namespace, body, _request_timeout=TIMEOUT)
    pods = _pods(api, namespace, name)
    assert {node for node, _phase in pods.values()} == {"sting"}
    return sorted(pods)


def _pods(api: RehearsalAPIServer, namespace: str, app: str = "work") -> dict[str, tuple[str | None, str]]:
    """name -> (node, phase) of the Deployment ``app``'s pods."""
    return {p.metadata.name: (p.spec.node_name, p.status.phase) for p in _core(api).list_namespaced_pod(
        namespace, label_selector=f"app={app}", _request_timeout=TIMEOUT).items}


def _events(api: RehearsalAPIServer, namespace: str, reason: str) -> list[tuple[str, str, str]]:
    """(message, involved pod, source component) of ``namespace``'s events with ``reason``."""
    items = _core(api).list_namespaced_event(namespace, field_selector=f"reason={reason}",
                                             _request_timeout=TIMEOUT).items
    return sorted((e.message, e.involved_object.name, e.source.component) for e in items)


def test_a_pod_that_does_not_tolerate_the_taint_is_evicted_at_once_and_replaced_pending(
        api: RehearsalAPIServer) -> None:
    """A NoExecute toleration with another value covers the taint for the admission (no 300 s default) but does not
    tolerate it: evicted as the node goes unreachable; the replacements fit no node (sting is the only one of its
    role) and stay Pending until sting is Ready again."""
    ns = "evict-now"
    old = _work(api, ns, tolerations=[{"key": UNREACHABLE, "operator": "Equal", "value": "x", "effect": "NoExecute"}])

    api.set_node_ready("sting", False)

    pods = _pods(api, ns)  # a read right after the write: already evicted, nothing waits
    assert not set(pods) & set(old)
    assert list(pods.values()) == [(None, "Pending")] * 2
    assert _events(api, ns, "TaintManagerEviction") == [
        (f"Marking for deletion Pod {ns}/{name}", name, "taint-eviction-controller") for name in old]
    failed = _events(api, ns, "FailedScheduling")
    assert [pod for _m, pod, _c in failed] == sorted(pods)
    assert all(f"1 node(s) had untolerated taint {{{UNREACHABLE}: }}" in m for m, _p, _c in failed)
    assert _scheduled(api, ns) == {}
    status = _apps(api).read_namespaced_deployment("work", ns, _request_timeout=TIMEOUT).status
    assert (status.replicas, status.ready_replicas, status.unavailable_replicas) == (2, None, 2)

    api.set_node_ready("sting", True)
    assert sorted(_pods(api, ns).values()) == [("sting", "Running")] * 2


def test_default_tolerations_evict_after_their_300_seconds_and_the_replacements_go_elsewhere(
        api: RehearsalAPIServer) -> None:
    ns = "evict-later"
    old = _work(api, ns)
    api.add_node("sting-2", "sting")
    api.set_node_ready("sting", False)
    assert _pods(api, ns) == {name: ("sting", "Running") for name in old}  # 300 s to go
    assert _scheduled(api, ns) == dict.fromkeys(old, 300)

    api.toleration_scale = 0.001  # the 300 s become 0.3 s, for the wait already running too
    pods = _until("the pods replaced", lambda: (p := _pods(api, ns)) and not set(p) & set(old) and p)
    assert sorted(pods.values()) == [("sting-2", "Running")] * 2
    assert _events(api, ns, "TaintManagerEviction") == [
        (f"Marking for deletion Pod {ns}/{name}", name, "taint-eviction-controller") for name in old]
    assert _apps(api).read_namespaced_deployment("work", ns, _request_timeout=TIMEOUT).status.ready_replicas == 2
    assert _scheduled(api, ns) == {}


def test_a_forever_toleration_and_daemon_pods_are_never_evicted(api: RehearsalAPIServer) -> None:
    """A toleration without tolerationSeconds keeps the pod however long the node stays unreachable; so do the
    DaemonSets' pods. A witness with the default tolerations shows the (shortened) time went by."""
    ns = "evict-never"
    kept = _work(api, ns, tolerations=[{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}])
    witness = _work(api, ns, replicas=1, name="witness")
    daemons = {s.obj["metadata"]["name"] for s in api.store.pods_on_node("sting")
               if any(r.get("kind") == "DaemonSet" for r in s.obj["metadata"].get("ownerReferences") or ())}
    assert daemons

    api.set_node_ready("sting", False)
    assert _scheduled(api, ns) == {witness[0]: 300}
    api.toleration_scale = 0.001
    _until("the witness evicted", lambda: witness[0] not in _pods(api, ns, "witness"))

    assert _pods(api, ns) == {name: ("sting", "Running") for name in kept}
    assert daemons <= {s.obj["metadata"]["name"] for s in api.store.pods_on_node("sting")}
    assert _scheduled(api, ns) == {}


def test_a_node_ready_again_in_time_keeps_its_pods(api: RehearsalAPIServer) -> None:
    ns = "evict-cancelled"
    old = _work(api, ns)
    api.set_node_ready("sting", "False")
    assert _scheduled(api, ns) == dict.fromkeys(old, 300)

    api.set_node_ready("sting", True)

    assert _scheduled(api, ns) == {}
    assert _events(api, ns, "TaintManagerEviction") == [
        (f"Cancelling deletion of Pod {ns}/{name}", name, "taint-eviction-controller") for name in old]
    api.toleration_scale = 0.0  # nothing is left to run out, however short the wait
    assert api.cluster.evictions.tick() is None
    assert _pods(api, ns) == {name: ("sting", "Running") for name in old}


def test_a_pod_placed_on_a_tainted_node_is_evicted_when_its_toleration_runs_out(api: RehearsalAPIServer) -> None:
    """A bare pod that tolerates the NoSchedule taint and the NoExecute one for 30 s lands on unreachable sting,
    then goes (no controller replaces it)."""
    ns = "evict-placed"
    make_namespace(api, ns)
    api.set_node_ready("sting", False)
    pod = {"metadata": {"name": "visitor"}, "spec": {
        "nodeSelector": {"gloriousflywheel.io/role": "sting"}, "containers": [{"name": "c", "image": "nginx:1.27"}],
        "tolerations": [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"},
                        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]}}
    status, body, _ = raw(api, "POST", f"/api/v1/namespaces/{ns}/pods", pod)
    assert status == 201, body
    assert _core(api).read_namespaced_pod("visitor", ns, _request_timeout=TIMEOUT).spec.node_name == "sting"
    assert _scheduled(api, ns) == {"visitor": 30}

    api.toleration_scale = 0.001
    _until("the visitor evicted", lambda: not _core(api).list_namespaced_pod(ns, _request_timeout=TIMEOUT).items)
    assert _events(api, ns, "TaintManagerEviction") == [
        (f"Marking for deletion Pod {ns}/visitor", "visitor", "taint-eviction-controller")]


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "fast", True], ids=["negative", "nan", "inf",
                                                                                      "text", "bool"])
def test_a_bad_toleration_scale_is_refused_and_changes_nothing(api: RehearsalAPIServer, bad: Any) -> None:
    api.toleration_scale = 0.5
    with pytest.raises(ValueError) as caught:
        api.toleration_scale = bad
    assert str(caught.value) == f"toleration_scale must be a finite number of 0 or more (got {bad!r})"
    assert api.toleration_scale == 0.5
    with pytest.raises(ValueError):
        RehearsalAPIServer(toleration_scale=bad)


_NE = {"key": UNREACHABLE, "effect": "NoExecute"}
_OTHER = {"key": "dedicated", "value": "ci", "effect": "NoExecute"}


@pytest.mark.parametrize(("tolerations", "taints", "delay"), [
    ([], [_NE], 0.0),
    ([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}], [_NE], 0.0),
    ([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": -5}], [_NE], 0.0),
    ([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}], [_NE], None),
    ([{"operator": "Exists"}], [_NE, _OTHER], None),
    ([{"key": UNREACHABLE, "operator": "Exists", "tolerationSeconds": 300},
      {"key": "dedicated", "operator": "Equal", "value": "ci", "tolerationSeconds": 60}], [_NE, _OTHER], 60.0),
    ([{"key": UNREACHABLE, "operator": "Exists", "tolerationSeconds": 300}], [_NE, _OTHER], 0.0),
    ([{"key": UNREACHABLE, "operator": "Exists", "tolerationSeconds": 300}, {"operator": "Exists"}], [_NE], 300.0),
], ids=["none", "zero", "negative", "forever", "everything", "least", "one-untolerated", "first-match-used"])
def test_eviction_delay_follows_the_taint_eviction_controller(
        tolerations: list[dict[str, Any]], taints: list[dict[str, Any]], delay: float | None) -> None:
    from gfwizard.rehearsal.k8s_evict import eviction_delay

    assert eviction_delay(tolerations, taints) == delay
