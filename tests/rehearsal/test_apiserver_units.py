"""Unit tests of the rehearsal API server's building blocks (no network): selectors, patches,
protobuf decoding, the store's paging and watch history, scheduling, printing."""

from __future__ import annotations

import json

import pytest

from gfwizard.rehearsal import k8s_objects as ko
from gfwizard.rehearsal.k8s_controllers import Cluster
from gfwizard.rehearsal.k8s_kinds import STORED
from gfwizard.rehearsal.k8s_patch import PatchError, json_patch, merge_patch, strategic_merge
from gfwizard.rehearsal.k8s_proto import ProtobufError, decode
from gfwizard.rehearsal.k8s_rbac import READONLY_RULES, Attributes, allows, validate_rules
from gfwizard.rehearsal.k8s_sched import fit, node_views
from gfwizard.rehearsal.k8s_seed import node_plan, seed
from gfwizard.rehearsal.k8s_select import SelectorError, parse_field_selector, parse_label_selector
from gfwizard.rehearsal.k8s_store import BadContinue, Expired, Store, encode_continue
from gfwizard.rehearsal.k8s_tables import human_duration


def _pod(name: str, labels: dict[str, str]) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "labels": labels}, "spec": {}}


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", {"a"}),
    ("app==web", {"a"}),
    ("app!=web", {"b", "c"}),
    ("app in (web, db)", {"a", "b"}),
    ("app notin (web)", {"b", "c"}),
    ("tier", {"a", "b"}),
    ("!tier", {"c"}),
    ("app in (web,db),tier=front", {"a"}),
])
def test_label_selectors(selector: str, expected: set[str]) -> None:
    pods = [_pod("a", {"app": "web", "tier": "front"}), _pod("b", {"app": "db", "tier": "back"}), _pod("c", {})]
    predicate = parse_label_selector(selector)
    assert predicate is not None
    assert {p["metadata"]["name"] for p in pods if predicate(p)} == expected


def test_bad_selectors_are_rejected_with_the_servers_wording() -> None:
    with pytest.raises(SelectorError, match="invalid label key"):
        parse_label_selector("bad key=1")
    with pytest.raises(SelectorError, match="field label not supported: spec.image"):
        parse_field_selector("spec.image=nginx", "pods")
    assert parse_field_selector("spec.nodeName=honey", "pods")[0].value == "honey"


def test_merge_and_strategic_patches() -> None:
    target = {"spec": {"replicas": 1, "template": {"spec": {"containers": [
        {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}, "metadata": {"labels": {"x": "1"}}}
    merged = merge_patch(target, {"metadata": {"labels": {"x": None, "y": "2"}}, "spec": {"replicas": 3}})
    assert merged["metadata"]["labels"] == {"y": "2"} and merged["spec"]["replicas"] == 3
    smp = strategic_merge(target, {"spec": {"template": {"spec": {"containers": [
        {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}, {"name": "a", "$patch": "delete"}],
        "$setElementOrder/containers": [{"name": "b"}, {"name": "c"}]}}}})
    assert smp["spec"]["template"]["spec"]["containers"] == [{"name": "b", "image": "b:2"},
                                                              {"name": "c", "image": "c:1"}]
    # the target is never mutated
    assert target["spec"]["template"]["spec"]["containers"][0] == {"name": "a", "image": "a:1"}
    replaced = strategic_merge(target, {"metadata": {"$patch": "replace", "labels": {"z": "3"}}})
    assert replaced["metadata"] == {"labels": {"z": "3"}}


def test_json_patch_and_its_errors() -> None:
    doc = {"spec": {"replicas": 1, "list": [1, 2]}}
    out = json_patch(doc, [{"op": "replace", "path": "/spec/replicas", "value": 4},
                           {"op": "add", "path": "/spec/list/-", "value": 3},
                           {"op": "remove", "path": "/spec/list/0"},
                           {"op": "test", "path": "/spec/replicas", "value": 4}])
    assert out == {"spec": {"replicas": 4, "list": [2, 3]}}
    with pytest.raises(PatchError, match="testing value"):
        json_patch(doc, [{"op": "test", "path": "/spec/replicas", "value": 9}])
    with pytest.raises(PatchError, match="not found"):
        json_patch(doc, [{"op": "replace", "path": "/nope/x", "value": 1}])


def _pb_field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_namespace_body_decodes_like_kubectl_create_namespace() -> None:
    # What `kubectl create namespace demo` sends: envelope(TypeMeta, raw Namespace{metadata{name}}).
    type_meta = _pb_field(1, b"v1") + _pb_field(2, b"Namespace")
    meta = _pb_field(1, b"demo") + _pb_field(2, b"") + bytes([7 << 3, 0])
    raw = _pb_field(1, meta) + _pb_field(2, b"") + _pb_field(3, _pb_field(1, b""))
    body = b"k8s\x00" + _pb_field(1, type_meta) + _pb_field(2, raw) + _pb_field(3, b"") + _pb_field(4, b"")
    assert decode(body) == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"},
                            "spec": {}, "status": {}}


def test_protobuf_unknown_nonzero_field_is_refused_not_dropped() -> None:
    type_meta = _pb_field(1, b"v1") + _pb_field(2, b"Namespace")
    raw = _pb_field(1, _pb_field(1, b"demo") + _pb_field(15, b"x"))  # ObjectMeta has no field 15
    body = b"k8s\x00" + _pb_field(1, type_meta) + _pb_field(2, raw)
    with pytest.raises(ProtobufError, match="field 15 of ObjectMeta"):
        decode(body)
    with pytest.raises(ProtobufError, match="envelope"):
        decode(b'{"kind": "Namespace"}')


def test_store_paging_visits_every_object_once_and_tokens_expire() -> None:
    store = Store(["pods"], history=5)
    for i in range(7):
        store.put("pods", {"metadata": {"name": f"p{i}", "namespace": "a" if i % 2 else "b"}})
    seen: list[str] = []
    page = store.list("pods", limit=3)
    remaining = [page.remaining]
    seen += [s.key[1] for s in page.items]
    while page.continue_token:
        page = store.list("pods", limit=3, continue_token=page.continue_token)
        seen += [s.key[1] for s in page.items]
        remaining.append(page.remaining)
    assert sorted(seen) == [f"p{i}" for i in range(7)] and len(seen) == 7
    assert remaining == [4, 1, None]
    token = encode_continue(store.rv, ("a", "p1"), True)
    store.compact()
    store.put("pods", {"metadata": {"name": "late", "namespace": "a"}})
    with pytest.raises(Expired):
        store.list("pods", limit=1, continue_token=encode_continue(1, ("a", "p1"), True))
    assert store.list("pods", limit=1, continue_token=token).items  # the compaction point itself is fine
    with pytest.raises(BadContinue):
        store.list("pods", limit=1, continue_token="not-a-token")


def test_store_watch_replays_history_and_410s_when_compacted() -> None:
    store = Store(["nodes"], history=3)
    rvs = [store.put("nodes", {"metadata": {"name": f"n{i}"}}).obj["metadata"]["resourceVersion"] for i in range(5)]
    watcher = store.watch("nodes", rvs[2])
    events = [watcher.get(0) for _ in range(2)]
    assert [(e.type, e.item.key[1]) for e in events if e] == [("ADDED", "n3"), ("ADDED", "n4")]
    store.delete("nodes", "", "n0")
    deleted = watcher.get(1)
    assert deleted is not None and deleted.type == "DELETED" and deleted.item.key[1] == "n0"
    assert int(deleted.item.obj["metadata"]["resourceVersion"]) == store.rv
    watcher.close()
    with pytest.raises(Expired, match="too old resource version"):
        store.watch("nodes", rvs[0])
    with pytest.raises(ValueError, match="invalid resource version"):
        store.watch("nodes", "abc")


def test_node_plan_alternates_worker_roles() -> None:
    assert node_plan(2) == [("honey", "control-plane"), ("bumble", "bumble")]
    assert node_plan(6)[3:] == [("worker-0001", "bumble"), ("worker-0002", "sting"), ("worker-0003", "bumble")]


def test_scheduler_respects_taints_and_selectors_with_the_real_message() -> None:
    nodes = node_views([ko.node("honey", "control-plane", 0), ko.node("bumble", "bumble", 1),
                        ko.node("sting", "sting", 2)])
    assert [n["metadata"]["name"] for n in fit({"nodeSelector": {"gloriousflywheel.io/role": "sting"}}, nodes).nodes] \
        == ["sting"]
    assert [n["metadata"]["name"] for n in fit({}, nodes).nodes] == ["bumble", "sting"]
    tolerant = {"tolerations": [{"key": ko.CONTROL_PLANE_LABEL, "operator": "Exists", "effect": "NoSchedule"}],
                "nodeSelector": {"gloriousflywheel.io/role": "control-plane"}}
    assert [n["metadata"]["name"] for n in fit(tolerant, nodes).nodes] == ["honey"]
    nowhere = fit({"nodeSelector": {"gloriousflywheel.io/role": "wasp"}}, nodes)
    assert nowhere.nodes == []
    assert nowhere.message() == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling.")


def test_seeded_cluster_objects_are_valid_for_the_official_client_models() -> None:
    from kubernetes.client import models

    store = Store(k.plural for k in STORED)
    cluster = Cluster(store)
    seed(store, cluster, nodes=5, pods=60, kube_system_uid="uid-1")
    classes = {"pods": models.V1Pod, "nodes": models.V1Node, "namespaces": models.V1Namespace,
               "events": models.CoreV1Event, "deployments": models.V1Deployment,
               "replicasets": models.V1ReplicaSet, "daemonsets": models.V1DaemonSet}
    for plural, cls in classes.items():
        items = store.all(plural)
        assert items, plural
        for item in items:
            cls.from_dict(json.loads(item.raw))
    load = [s for s in store.all("pods", "load")]
    assert len(load) == 60 and all(s.obj["status"]["phase"] == "Running" for s in load)
    # every pod the seed meant to make exists: 60 load, kube-proxy on each of 5 nodes, 2 coredns, 4 static
    assert store.count("pods") == 60 + 5 + 2 + 4
    assert {s.obj["spec"]["nodeName"] for s in load} == {"bumble", "sting", "worker-0001", "worker-0002"}
    assert store.get("namespaces", "", "kube-system").obj["metadata"]["uid"] == "uid-1"  # type: ignore[union-attr]


def test_rbac_rules() -> None:
    assert allows(READONLY_RULES, Attributes("list", "apps", "deployments", namespace="x"))
    assert not allows(READONLY_RULES, Attributes("create", "apps", "deployments", namespace="x"))
    scoped = validate_rules([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"], "namespaces": ["a"]}])
    assert allows(scoped, Attributes("get", "", "pods", "log", namespace="a"))
    assert not allows(scoped, Attributes("get", "", "pods", namespace="a"))
    assert not allows(scoped, Attributes("get", "", "pods", "log", namespace="b"))
    with pytest.raises(ValueError, match="unknown policy rule keys"):
        validate_rules([{"verbs": ["get"], "resources": ["pods"], "colour": "red"}])
    with pytest.raises(ValueError, match="either resources"):
        validate_rules([{"verbs": ["get"]}])


@pytest.mark.parametrize(("seconds", "text"), [
    (5, "5s"), (150, "2m30s"), (600, "10m"), (3 * 3600 + 120, "3h2m"), (30 * 3600, "30h"),
    (3 * 86400 + 3600, "3d1h"), (42 * 86400, "42d"), (800 * 86400, "2y70d"),
])
def test_human_duration_matches_kubectl(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text
